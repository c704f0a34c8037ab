package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	// Concurrency is how many tasks run at once. Defaults to 1: one model
	// session, one job at a time, predictable memory.
	Concurrency int
	// Queues maps queue names to priorities, served in strict order: a
	// queue is read only while every higher one is empty. Defaults to the
	// predict queue above the batch queue, so single uploads never wait
	// behind a batch.
	Queues map[string]int
	// PollInterval is how often an idle worker asks Redis for work; a new
	// task waits about half this long before it starts. Defaults to 10ms.
	PollInterval time.Duration
	// ShutdownTimeout is how long Shutdown lets a running task finish
	// before it is handed back to the queue; set it past the tasks' own time
	// limit so that a draining worker finishes the job in hand. Defaults to
	// 30 seconds.
	ShutdownTimeout time.Duration
	// Logger receives the worker's logs. Defaults to slog.Default().
	Logger *slog.Logger
}

func (c *WorkerConfig) fillDefaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if len(c.Queues) == 0 {
		c.Queues = map[string]int{QueuePredict: 2, QueueBatch: 1}
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 10 * time.Millisecond
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Worker runs queued tasks. Start and Shutdown are the only way in and out,
// so signals and a memory watchdog share one shutdown path.
type Worker struct {
	server *asynq.Server
	mux    *asynq.ServeMux
	cfg    WorkerConfig
}

// NewWorker returns a Worker reading tasks through rdb. Register handlers
// with Handle before Start.
func NewWorker(rdb redis.UniversalClient, cfg WorkerConfig) *Worker {
	cfg.fillDefaults()
	server := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:       cfg.Concurrency,
		Queues:            cfg.Queues,
		StrictPriority:    true,
		TaskCheckInterval: cfg.PollInterval,
		RetryDelayFunc:    retryDelay,
		// Retries become due after a second or more; check for them each second.
		DelayedTaskCheckInterval: time.Second,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		Logger:                   asynqLogger{cfg.Logger},
		LogLevel:                 asynq.WarnLevel,
	})

	return &Worker{server: server, mux: asynq.NewServeMux(), cfg: cfg}
}

// Handle registers the handler of one task type.
func (w *Worker) Handle(taskType string, h asynq.Handler) {
	w.mux.Handle(taskType, h)
}

// Start begins processing in the background. It returns an error when the
// worker cannot reach Redis.
func (w *Worker) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}
	if err := w.server.Start(w.mux); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}

	w.cfg.Logger.Info("worker started", "concurrency", w.cfg.Concurrency,
		"queues", fmt.Sprint(w.cfg.Queues))
	return nil
}

// Run processes tasks under guard until ctx ends or the guard recycles the
// worker, then stops and shuts down as Guard.Run describes. It returns
// ErrRecycle when the worker must be replaced by a fresh process.
func (w *Worker) Run(ctx context.Context, guard *Guard) error {
	w.cfg.Logger.Info("worker started", "concurrency", w.cfg.Concurrency,
		"queues", fmt.Sprint(w.cfg.Queues))

	err := guard.Run(ctx, w.server, w.mux)
	w.cfg.Logger.Info("worker stopped", "recycle", guard.Reason(), "jobs", guard.Jobs())
	return err
}

// Shutdown stops taking tasks, waits up to the shutdown timeout for running
// ones and hands unfinished ones back to the queue.
func (w *Worker) Shutdown() {
	w.server.Shutdown()
	w.cfg.Logger.Info("worker stopped")
}

// retryDelay backs off exponentially from one second up to one minute, with
// jitter so that retries of many tasks spread out.
func retryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	d := time.Second << min(n, 6)
	jitter := time.Duration(rand.Int64N(int64(d / 4)))

	return min(d, time.Minute) + jitter
}
