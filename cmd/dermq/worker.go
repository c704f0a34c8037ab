package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/dermq/dermq/inference"
	"github.com/dermq/dermq/jobs"
	"github.com/redis/go-redis/v9"
)

func init() {
	register(command{
		name:    "worker",
		summary: "run queued predictions (loads the model on the first job)",
		run:     runWorker,
	})
}

// workerVars are the settings the worker process reads.
var workerVars = []string{
	"REDIS_URL", "DERMQ_MODEL", "DERMQ_ORT_LIBRARY", "DERMQ_MAX_PIXELS", "DERMQ_RETENTION",
	"DERMQ_CONCURRENCY", "DERMQ_POLL_INTERVAL", "DERMQ_JOB_TIMEOUT", "DERMQ_MAX_RSS",
	"DERMQ_HARD_RSS", "DERMQ_MAX_JOBS", "DERMQ_IDLE_UNLOAD", "DERMQ_CPU_ARENA",
	"DERMQ_LOG_FORMAT", "DERMQ_LOG_LEVEL",
}

func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	cfg := newConfig(fs, "Runs queued predictions. Without --no-supervise it runs itself as "+
		"a child process and restarts that child when it exits.", workerVars...)
	noSupervise := fs.Bool("no-supervise", false,
		"run the worker in this process (on platforms that restart it themselves)")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}

	logger, err := newLogger(cfg, "worker")
	if err != nil {
		return err
	}
	if !*noSupervise {
		if err := checkWorkerSettings(ctx, cfg, logger); err != nil {
			return err
		}
		return superviseWorker(ctx, cfg, logger)
	}

	cfg.log(logger, "starting worker")
	return runWorkerProcess(ctx, cfg, logger)
}

// runWorkerProcess runs the worker in this process until ctx ends or its
// memory guard recycles it, which exits with jobs.ExitRecycle. A wrong
// setting or model exits with jobs.ExitConfig.
func runWorkerProcess(ctx context.Context, cfg *config, logger *slog.Logger) error {
	if err := checkWorkerValues(cfg); err != nil {
		return configError(err)
	}
	engine, err := newEngine(ctx, cfg, logger)
	if err != nil {
		return stoppedWhileStarting(ctx, logger, configError(err))
	}
	defer engine.Close()

	rdb, err := openRedis(ctx, cfg.str("REDIS_URL"))
	if err != nil {
		return stoppedWhileStarting(ctx, logger, err)
	}
	defer rdb.Close()

	worker, err := newWorker(cfg, rdb, engine, logger)
	if err != nil {
		return err
	}
	guard, err := newGuard(cfg, logger, engine)
	if err != nil {
		return err
	}

	err = worker.Run(ctx, guard)
	if errors.Is(err, jobs.ErrRecycle) {
		// The guard logged why, with the figures.
		return &exitCodeError{code: jobs.ExitRecycle}
	}
	return err
}

// stoppedWhileStarting returns err, or nil when a stop signal ended ctx
// during start-up: a worker told to stop before it ran stopped cleanly, and
// its supervisor must not count the interrupted start as a failure.
func stoppedWhileStarting(ctx context.Context, logger *slog.Logger, err error) error {
	if ctx.Err() == nil {
		return err
	}
	logger.Info("worker stopped while starting", "error", err)
	return nil
}

// newEngine finds (or fetches) ONNX Runtime and reads the model's manifest.
// The ONNX session itself is created by the first prediction.
func newEngine(ctx context.Context, cfg *config, logger *slog.Logger) (*inference.Engine, error) {
	maxPixels, err := cfg.int("DERMQ_MAX_PIXELS")
	if err != nil {
		return nil, err
	}
	arena, err := cfg.bool("DERMQ_CPU_ARENA")
	if err != nil {
		return nil, err
	}
	library, err := ensureLibrary(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}

	engine, err := inference.NewEngine(inference.Options{
		ModelPath:   cfg.str("DERMQ_MODEL"),
		LibraryPath: library,
		MaxPixels:   maxPixels,
		CPUArena:    &arena,
		Logger:      logger,
	})
	if err != nil {
		return nil, fmt.Errorf("opening the model %s (DERMQ_MODEL, --model): %w",
			cfg.str("DERMQ_MODEL"), err)
	}

	return engine, nil
}

// drainMargin is how much longer than a job's time limit a stopping worker
// waits for it: enough to store the result of a job that ends at its limit.
const drainMargin = 10 * time.Second

func newWorker(
	cfg *config, rdb *redis.Client, predictor jobs.Predictor, logger *slog.Logger,
) (*jobs.Worker, error) {
	hooks, err := emitOnlyWebhooks(rdb, logger)
	if err != nil {
		return nil, err
	}
	store, err := newStore(cfg, rdb, hooks)
	if err != nil {
		return nil, err
	}
	concurrency, err := cfg.int("DERMQ_CONCURRENCY")
	if err != nil {
		return nil, err
	}
	poll, err := cfg.duration("DERMQ_POLL_INTERVAL")
	if err != nil {
		return nil, err
	}
	timeout, err := cfg.duration("DERMQ_JOB_TIMEOUT")
	if err != nil {
		return nil, err
	}

	// A draining worker lets the job in hand run to its own time limit.
	worker := jobs.NewWorker(rdb, jobs.WorkerConfig{
		Concurrency:     concurrency,
		PollInterval:    poll,
		ShutdownTimeout: timeout + drainMargin,
		Logger:          logger,
	})
	worker.Handle(jobs.TypePredict, jobs.NewHandler(store, predictor, logger))
	return worker, nil
}

// ensureLibrary returns DERMQ_ORT_LIBRARY when set and a shared library,
// else the cached ONNX Runtime library, fetching it on first use.
func ensureLibrary(ctx context.Context, cfg *config, logger *slog.Logger) (string, error) {
	if path := cfg.str("DERMQ_ORT_LIBRARY"); path != "" {
		return path, inference.CheckLibrary(path, "DERMQ_ORT_LIBRARY")
	}

	path, err := inference.EnsureLibrary(ctx, logger)
	if err != nil {
		return "", fmt.Errorf("finding the onnx runtime library: %w", err)
	}

	return path, nil
}
