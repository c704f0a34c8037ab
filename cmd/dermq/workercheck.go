package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dermq/dermq/jobs"
)

// checkWorkerSettings reads every worker setting and opens the model's
// manifest and graph (no ONNX session), so that a wrong one stops `dermq run`
// or a supervised worker before anything starts. It also gives the child
// process the model's absolute path and the ONNX Runtime library found.
func checkWorkerSettings(ctx context.Context, cfg *config, logger *slog.Logger) error {
	if err := checkWorkerValues(cfg); err != nil {
		return err
	}
	if err := checkModel(cfg); err != nil {
		return err
	}

	library, err := ensureLibrary(ctx, cfg, logger)
	if err != nil {
		return err
	}
	*cfg.values["DERMQ_ORT_LIBRARY"] = library

	engine, err := newEngine(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return engine.Close()
}

// checkWorkerValues reads the worker's settings that need no file: numbers,
// durations, memory sizes and switches.
func checkWorkerValues(cfg *config) error {
	if _, err := guardConfig(cfg); err != nil {
		return err
	}
	for _, name := range []string{"DERMQ_MAX_PIXELS", "DERMQ_CONCURRENCY"} {
		if _, err := cfg.int(name); err != nil {
			return err
		}
	}
	for _, name := range []string{"DERMQ_POLL_INTERVAL", "DERMQ_JOB_TIMEOUT", "DERMQ_RETENTION"} {
		if _, err := cfg.duration(name); err != nil {
			return err
		}
	}

	_, err := cfg.bool("DERMQ_CPU_ARENA")
	return err
}

// configError makes err end the worker with jobs.ExitConfig, which its
// supervisor does not restart.
func configError(err error) error {
	return &exitCodeError{code: jobs.ExitConfig, err: err}
}

// readMaxRetry reads DERMQ_MAX_RETRY. asynq counts each recovery of a job
// whose worker died as a retry, so the budget must outlast jobs.CrashLimit
// such deaths: otherwise the job is archived before the attempt that would
// fail it with the reason.
func readMaxRetry(cfg *config) (int, error) {
	n, err := cfg.int("DERMQ_MAX_RETRY")
	if err != nil {
		return 0, err
	}
	if least := jobs.CrashLimit + 1; n < least {
		return 0, fmt.Errorf("reading %s: %d is too small: it must be at least %d, so that "+
			"a prediction that took its worker down %d times is failed with the reason "+
			"instead of archived", cfg.origin("DERMQ_MAX_RETRY"), n, least, jobs.CrashLimit)
	}

	return n, nil
}
