package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// openRedis connects to the Redis named by rawURL and checks that it
// answers.
func openRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	if rawURL == "" {
		return nil, errors.New("opening redis: REDIS_URL is not set")
	}

	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parsing REDIS_URL: %w", err)
	}

	rdb := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("connecting to redis at %s: %w", opts.Addr, err)
	}

	return rdb, nil
}
