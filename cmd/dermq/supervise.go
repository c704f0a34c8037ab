package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/dermq/dermq/jobs"
)

// superviseWorker runs `dermq worker --no-supervise` as a child process with
// cfg's settings in its environment and replaces it whenever it exits (see
// jobs.Supervisor), until ctx ends. The job a dead child held is released at
// once through Redis.
func superviseWorker(ctx context.Context, cfg *config, logger *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the dermq executable: %w", err)
	}

	timeout, err := cfg.duration("DERMQ_JOB_TIMEOUT")
	if err != nil {
		return err
	}
	rdb, err := openRedis(ctx, cfg.str("REDIS_URL"))
	if err != nil {
		return err
	}
	defer rdb.Close()

	// The child lets the job in hand run to its time limit when it drains;
	// give it that long before killing it.
	sup, err := jobs.NewSupervisor(jobs.SupervisorConfig{
		Path:        exe,
		Args:        []string{"worker", "--no-supervise"},
		Env:         cfg.env(),
		StopTimeout: timeout + 2*drainMargin,
		Orphaned: func(ctx context.Context, job jobs.JobRef) error {
			return jobs.ReleaseLease(ctx, rdb, job)
		},
		Logger: logger.With("component", "supervisor"),
	})
	if err != nil {
		return err
	}
	return sup.Run(ctx)
}
