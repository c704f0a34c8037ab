package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// CrashLimit is how many attempts at one prediction may die with their
// worker (or be stopped at the hard memory limit) before the prediction is
// failed instead of run again: an image that takes every worker down must
// not do so forever.
const CrashLimit = 3

// CodeWorkerCrashed is the error code of a prediction failed because its
// attempts kept taking the worker down.
const CodeWorkerCrashed = "worker_crashed"

// CrashMessage returns the failure message of a prediction whose attempts
// took the worker down crashes times.
func CrashMessage(crashes int) string {
	return fmt.Sprintf("Processing this image stopped the worker %d times, so it was "+
		"not tried again. The image is likely too large for this host's memory; "+
		"a smaller photo should work.", crashes)
}

// BeginAttempt records that an attempt at prediction id starts and returns
// how many earlier attempts started and never ended: those died with their
// worker.
func (s *Store) BeginAttempt(ctx context.Context, id string) (int, error) {
	key := s.key(id, "attempts")
	var started *redis.IntCmd
	var ended *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		started = p.HIncrBy(ctx, key, "started", 1)
		ended = p.HGet(ctx, key, "ended")
		p.Expire(ctx, key, s.cfg.Retention)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("counting the attempts of %s: %w", id, err)
	}

	done, _ := ended.Int64()
	return int(started.Val() - 1 - done), nil
}

// EndAttempt records that an attempt at prediction id ended, whatever its
// outcome.
func (s *Store) EndAttempt(ctx context.Context, id string) error {
	if err := s.rdb.HIncrBy(ctx, s.key(id, "attempts"), "ended", 1).Err(); err != nil {
		return fmt.Errorf("counting the end of an attempt of %s: %w", id, err)
	}
	return nil
}

// beginAttempt counts the attempt at prediction id, and fails the
// prediction instead when CrashLimit earlier attempts died with their
// worker. It reports whether the attempt must not run; the error is for
// asynq.
func (h *Handler) beginAttempt(ctx context.Context, log *slog.Logger, id string) (bool, error) {
	crashes, err := h.store.BeginAttempt(ctx, id)
	if err != nil {
		return true, err
	}
	if crashes < CrashLimit {
		crashForTest(id)
		return false, nil
	}

	log.Error("prediction keeps taking its worker down, failing it", "crashes", crashes)
	info := ErrorInfo{Code: CodeWorkerCrashed, Message: CrashMessage(crashes)}
	if err := h.markFailed(ctx, log, id, info); err != nil {
		return true, err
	}
	return true, fmt.Errorf("prediction %s took its worker down %d times: %w",
		id, crashes, asynq.SkipRetry)
}

// endAttempt records the end of an attempt, unless the memory guard stopped
// it at the hard limit: that counts as taking the worker down.
func (h *Handler) endAttempt(ctx context.Context, log *slog.Logger, id string) {
	if errors.Is(context.Cause(ctx), ErrHardLimit) {
		return
	}

	if err := h.store.EndAttempt(context.WithoutCancel(ctx), id); err != nil {
		log.Error("counting the end of an attempt", "error", err)
	}
}
