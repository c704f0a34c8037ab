package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// CrashLimit is how many attempts at one job may die with their worker (or
// be stopped at the hard memory limit) before the job is failed instead of
// run again: a job that takes every worker down must not do so forever.
const CrashLimit = 3

// CodeWorkerCrashed is the error code of a prediction failed because its
// attempts kept taking the worker down.
const CodeWorkerCrashed = "worker_crashed"

// CrashMessage returns the failure message of a job whose attempts took the
// worker down crashes times.
func CrashMessage(crashes int) string {
	return fmt.Sprintf("Processing this image stopped the worker %d times, so it was "+
		"not tried again. The image is likely too large for this host's memory; "+
		"a smaller photo should work.", crashes)
}

// Attempts counts, per job, the attempts that started and those that ended,
// in Redis. An attempt that started and never ended died with its worker.
type Attempts struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewAttempts returns an Attempts keeping its counts under keys that start
// with prefix, each kept for ttl after the job's last start.
func NewAttempts(rdb redis.UniversalClient, prefix string, ttl time.Duration) *Attempts {
	return &Attempts{rdb: rdb, prefix: prefix, ttl: ttl}
}

func (a *Attempts) key(id string) string { return a.prefix + "attempts:" + id }

// Begin records that an attempt at job id starts and returns how many
// earlier attempts never ended.
func (a *Attempts) Begin(ctx context.Context, id string) (int, error) {
	var started *redis.IntCmd
	var ended *redis.StringCmd
	_, err := a.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		started = p.HIncrBy(ctx, a.key(id), "started", 1)
		ended = p.HGet(ctx, a.key(id), "ended")
		p.Expire(ctx, a.key(id), a.ttl)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("counting the attempts of %s: %w", id, err)
	}

	done, _ := ended.Int64()
	return int(started.Val() - 1 - done), nil
}

// End records that an attempt at job id ended, whatever its outcome.
func (a *Attempts) End(ctx context.Context, id string) error {
	if err := a.rdb.HIncrBy(ctx, a.key(id), "ended", 1).Err(); err != nil {
		return fmt.Errorf("counting the end of an attempt of %s: %w", id, err)
	}
	return nil
}
