package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// childStopTimeout is how long a worker child gets to finish its job after
// SIGTERM before it is killed. It exceeds the worker's own shutdown timeout.
const childStopTimeout = 40 * time.Second

// superviseWorker runs `dermq worker --no-supervise` as a child process with
// env added to its environment, and starts it again whenever it exits,
// backing off when it keeps failing, until ctx ends.
func superviseWorker(ctx context.Context, env []string, logger *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the dermq executable: %w", err)
	}

	backoff := time.Second
	for {
		started := time.Now()
		err := runChild(ctx, exe, env, logger)
		if ctx.Err() != nil {
			return nil
		}

		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		logger.Warn("worker exited, restarting", "error", err, "restart_in", backoff.String())

		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// runChild runs one worker child until it exits or ctx ends, in which case
// it is asked to stop and killed if it does not.
func runChild(ctx context.Context, exe string, env []string, logger *slog.Logger) error {
	cmd := exec.Command(exe, "worker", "--no-supervise")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting worker child: %w", err)
	}
	logger.Info("worker child started", "pid", cmd.Process.Pid)

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	select {
	case err := <-exited:
		return childError(err)
	case <-ctx.Done():
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		return childError(err)
	case <-time.After(childStopTimeout):
		_ = cmd.Process.Kill()
		return errors.New("worker child did not stop in time and was killed")
	}
}

func childError(err error) error {
	if err == nil {
		return errors.New("worker child exited")
	}

	return fmt.Errorf("worker child: %w", err)
}
