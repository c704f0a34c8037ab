package jobs

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestUnreachable(t *testing.T) {
	t.Parallel()

	refused := closedPortRedis(t).Get(context.Background(), "key").Err()

	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"a refused connection to a closed port is unreachable", refused, true},
		{"a closed client is unreachable", redis.ErrClosed, true},
		{"a missing key is not", redis.Nil, false},
		{"a prediction not found is not", ErrNotFound, false},
		{"any other error is not", errors.New("bad json"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			if got := Unreachable(c.err); got != c.want {
				t.Fatalf("Unreachable(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

// closedPortRedis returns a client of a loopback port nothing listens on:
// every command fails at once with a refused connection.
func closedPortRedis(t *testing.T) *redis.Client {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()

	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
