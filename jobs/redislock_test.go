package jobs

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// lockDB keeps a test database to this test even when another test process
// (a teammate's run against the same Redis) picks the same number: it holds
// a lock key in database 15, which no test flushes, until the test ends.
func lockDB(t *testing.T, opts *redis.Options) {
	t.Helper()

	lockOpts := *opts
	lockOpts.DB = 15
	locks := redis.NewClient(&lockOpts)
	key := fmt.Sprintf("dermq:test-lock:%d", opts.DB)
	token := fmt.Sprintf("%d-%s", os.Getpid(), t.Name())

	ctx := context.Background()
	deadline := time.After(3 * time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := locks.SetNX(ctx, key, token, 5*time.Minute).Result()
		if err == nil && ok {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("test database %d stayed locked by another test process", opts.DB)
		case <-tick.C:
		}
	}

	t.Cleanup(func() {
		if locks.Get(ctx, key).Val() == token {
			locks.Del(ctx, key)
		}
		_ = locks.Close()
	})
}
