package jobs

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testDBs are the Redis databases the pipeline tests take turns on (the
// webhook tests own database 11, the web integration test 9); each
// test that runs a queue needs a database of its own.
var testDBs = make(chan int, 3)

func init() {
	for _, db := range []int{12, 13, 14} {
		testDBs <- db
	}
}

// testRedis returns a client on a flushed database of the Redis named by
// REDIS_URL (default localhost). Without Redis the test fails in CI and is
// skipped elsewhere.
func testRedis(t *testing.T) *redis.Client {
	t.Helper()

	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://localhost:6379"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parsing REDIS_URL: %v", err)
	}

	opts.DB = <-testDBs
	t.Cleanup(func() { testDBs <- opts.DB })
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis at %s is required in CI: %v", opts.Addr, err)
		}
		t.Skipf("redis at %s unreachable: %v", opts.Addr, err)
	}
	lockDB(t, opts)
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flushing test database: %v", err)
	}

	return rdb
}
