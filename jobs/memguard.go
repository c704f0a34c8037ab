package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/shirou/gopsutil/v4/process"
)

// MB is one megabyte (2^20 bytes), the unit of DermQ's memory settings.
const MB = 1 << 20

// ErrRecycle says the worker stopped so that a fresh process can take over
// with its memory back at the empty level. The process exits with
// ExitRecycle.
var ErrRecycle = errors.New("worker recycled to release memory")

// ErrHardLimit is the cause of a job's context when the worker's resident
// memory passed GuardConfig.HardRSS while the job ran.
var ErrHardLimit = errors.New("worker memory passed the hard limit during the job")

// GuardConfig sets when a Guard recycles its worker.
type GuardConfig struct {
	// MaxRSS is the resident memory past which the worker finishes the job in
	// hand and then recycles. Defaults to 400 MB, sized for a 512 MB host.
	MaxRSS uint64
	// HardRSS is the resident memory past which a running job is stopped (it
	// is retried) and the worker recycles. Defaults to 480 MB.
	HardRSS uint64
	// MaxJobs recycles the worker after about this many jobs; each worker
	// draws its own limit within 20% of it, so workers do not restart
	// together. Zero means no limit. Defaults to 0.
	MaxJobs int
	// IdleUnload recycles a worker that has run a job and then sat idle this
	// long, which releases the model: the new worker starts without one.
	// Zero means never. Defaults to 0.
	IdleUnload time.Duration
	// Interval is how often resident memory is read while a job runs.
	// Defaults to 1 second.
	Interval time.Duration
	// Reports receives a line when each job starts and ends, for a
	// supervisor to release the jobs of a worker that died. Defaults to
	// nil: no reports.
	Reports io.Writer
	// Logger receives one line per decision. Defaults to slog.Default().
	Logger *slog.Logger
}

// withDefaults fills in every unset field of c.
func (c GuardConfig) withDefaults() GuardConfig {
	if c.MaxRSS == 0 {
		c.MaxRSS = 400 * MB
	}
	if c.HardRSS == 0 {
		c.HardRSS = max(480*MB, c.MaxRSS)
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// validate names the first field of c that cannot work.
func (c GuardConfig) validate() error {
	if c.HardRSS < c.MaxRSS {
		return fmt.Errorf("HardRSS (%d) is below MaxRSS (%d)", c.HardRSS, c.MaxRSS)
	}
	if c.MaxJobs < 0 {
		return fmt.Errorf("MaxJobs is negative: %d", c.MaxJobs)
	}
	if c.IdleUnload < 0 || c.Interval < 0 {
		return errors.New("IdleUnload and Interval must not be negative")
	}
	return nil
}

// Guard keeps a worker's resident memory under its limits. It wraps the job
// handler, reads the memory during and after every job, and decides when the
// worker must hand over to a fresh process. Run drives an asynq server under
// its watch.
type Guard struct {
	cfg     GuardConfig
	maxJobs int
	readRSS func() (uint64, error)

	mu       sync.Mutex
	jobs     int
	reason   string
	recycle  chan struct{}
	idle     *time.Timer
	stopHook func()
}

// NewGuard returns a Guard for cfg, with defaults filled in.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("checking memory guard config: %w", err)
	}

	return &Guard{
		cfg:     cfg,
		maxJobs: jitter(cfg.MaxJobs),
		readRSS: RSS,
		recycle: make(chan struct{}),
	}, nil
}

// jitter returns n moved up or down by 10 to 20 percent at random (at least
// by one job), so that workers started together recycle apart. Zero stays
// zero.
func jitter(n int) int {
	if n == 0 {
		return 0
	}

	shift := max(1, int(float64(n)*(0.1+0.1*rand.Float64())+0.5))
	if rand.IntN(2) == 0 {
		shift = -shift
	}
	return max(1, n+shift)
}

// Recycle returns a channel that is closed once the worker should recycle.
func (g *Guard) Recycle() <-chan struct{} { return g.recycle }

// Reason says why the worker recycles, or "" while it need not.
func (g *Guard) Reason() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reason
}

// Jobs returns how many jobs this worker has finished.
func (g *Guard) Jobs() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.jobs
}

// requestRecycle records the first reason to recycle, wakes Run and stops
// fetching jobs, so no new job starts after the one in hand. Later calls
// change nothing.
func (g *Guard) requestRecycle(reason string) {
	g.mu.Lock()

	if g.reason != "" {
		g.mu.Unlock()
		return
	}
	g.reason = reason
	if g.idle != nil {
		g.idle.Stop()
	}
	stop := g.stopHook
	close(g.recycle)
	g.mu.Unlock()

	if stop != nil {
		stop()
	}
}

// RSS returns the resident memory of this process in bytes.
func RSS() (uint64, error) {
	proc, err := self()
	if err != nil {
		return 0, fmt.Errorf("opening this process: %w", err)
	}

	info, err := proc.MemoryInfo()
	if err != nil {
		return 0, fmt.Errorf("reading resident memory: %w", err)
	}
	return info.RSS, nil
}

// ReleaseMemory hands freed memory back to the operating system: the Go
// heap's (a forced collection) and the C heap's, where ONNX Runtime
// allocates (TrimHeap). The worker calls it after every job.
func ReleaseMemory() {
	debug.FreeOSMemory()
	TrimHeap()
}

// self is this process, looked up once.
var self = sync.OnceValues(func() (*process.Process, error) {
	return process.NewProcess(int32(os.Getpid()))
})

// Middleware wraps h so that every job runs under the guard: memory is read
// every Interval while the job runs and once after it. Past HardRSS the
// job's context is canceled with cause ErrHardLimit and the error returned
// wraps ErrHardLimit, so the job is retried by a fresh worker.
func (g *Guard) Middleware(h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		queue, _ := asynq.GetQueueName(ctx)
		g.jobStarted()
		g.report("start", queue, taskID(t))

		err := g.watch(ctx, t, h)
		ReleaseMemory()

		g.report("end", queue, taskID(t))
		g.jobFinished(t, err)
		return err
	})
}

// report writes one job event to cfg.Reports, if set.
func (g *Guard) report(event, queue, id string) {
	if g.cfg.Reports == nil {
		return
	}

	if _, err := fmt.Fprintf(g.cfg.Reports, "%s %s %s\n", event, queue, id); err != nil {
		g.cfg.Logger.Warn("reporting a job to the supervisor", "task_id", id, "error", err)
	}
}

// watch runs h and cancels its context when memory passes HardRSS.
func (g *Guard) watch(ctx context.Context, t *asynq.Task, h asynq.Handler) error {
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	done := make(chan struct{})
	defer close(done)
	go g.sample(t, cancel, done)

	err := h.ProcessTask(jobCtx, t)
	if errors.Is(context.Cause(jobCtx), ErrHardLimit) {
		return fmt.Errorf("running job %s: %w", taskID(t), ErrHardLimit)
	}
	return err
}

// sample reads memory every Interval until done is closed, and cancels the
// job once memory passes HardRSS.
func (g *Guard) sample(t *asynq.Task, cancel context.CancelCauseFunc, done <-chan struct{}) {
	tick := time.NewTicker(g.cfg.Interval)
	defer tick.Stop()

	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}

		rss, err := g.readRSS()
		if err != nil {
			g.cfg.Logger.Warn("reading worker memory", "error", err)
			continue
		}
		if rss > g.cfg.HardRSS {
			g.cfg.Logger.Warn("memory past the hard limit, stopping the job",
				"task_id", taskID(t), "rss_bytes", rss, "limit_bytes", g.cfg.HardRSS)
			cancel(ErrHardLimit)
			return
		}
		if rss > g.cfg.MaxRSS && g.Reason() == "" {
			g.cfg.Logger.Warn("memory past the limit, recycling after this job",
				"task_id", taskID(t), "rss_bytes", rss, "limit_bytes", g.cfg.MaxRSS)
			g.requestRecycle("max_rss")
		}
	}
}

// jobStarted stops the idle clock.
func (g *Guard) jobStarted() {
	g.mu.Lock()
	defer g.mu.Unlock()

	if g.idle != nil {
		g.idle.Stop()
	}
}

// jobFinished counts the job and decides whether the worker recycles.
func (g *Guard) jobFinished(t *asynq.Task, err error) {
	jobs := g.countJob()
	log := g.cfg.Logger.With("task_id", taskID(t), "jobs", jobs)

	if errors.Is(err, ErrHardLimit) {
		log.Warn("recycling after a job stopped at the hard memory limit",
			"limit_bytes", g.cfg.HardRSS)
		g.requestRecycle("hard_rss")
		return
	}

	if g.Reason() != "" {
		return
	}

	rss, rssErr := g.readRSS()
	switch {
	case rssErr != nil:
		log.Warn("reading worker memory", "error", rssErr)
	case rss > g.cfg.MaxRSS:
		log.Warn("memory past the limit, recycling after this job",
			"rss_bytes", rss, "limit_bytes", g.cfg.MaxRSS)
		g.requestRecycle("max_rss")
		return
	default:
		log.Debug("job memory", "rss_bytes", rss, "limit_bytes", g.cfg.MaxRSS)
	}

	if g.maxJobs > 0 && jobs >= g.maxJobs {
		log.Info("job limit reached, recycling", "limit_jobs", g.maxJobs, "rss_bytes", rss)
		g.requestRecycle("max_jobs")
		return
	}
	g.armIdle()
}

// countJob adds one finished job and returns the total.
func (g *Guard) countJob() int {
	g.mu.Lock()
	defer g.mu.Unlock()

	g.jobs++
	return g.jobs
}

// armIdle starts the idle clock after a job, when IdleUnload is set.
func (g *Guard) armIdle() {
	if g.cfg.IdleUnload == 0 {
		return
	}

	g.mu.Lock()
	defer g.mu.Unlock()

	if g.idle != nil {
		g.idle.Reset(g.cfg.IdleUnload)
		return
	}
	g.idle = time.AfterFunc(g.cfg.IdleUnload, g.idleExpired)
}

// idleExpired recycles the idle worker so that its model is released.
func (g *Guard) idleExpired() {
	rss, err := g.readRSS()
	if err != nil {
		g.cfg.Logger.Warn("reading worker memory", "error", err)
	}

	g.cfg.Logger.Info("idle, recycling to release the model",
		"idle", g.cfg.IdleUnload.String(), "rss_bytes", rss, "jobs", g.Jobs())
	g.requestRecycle("idle")
}

// Run starts srv with h under the guard's watch (first handing back the
// memory that start-up freed) and blocks until ctx is done
// or the worker must recycle. Either way it stops fetching jobs, lets the job
// in hand finish, and shuts srv down from outside the handler (a shutdown
// from inside a handler would leave its task active). It returns ErrRecycle
// when the worker recycles and nil when ctx ended it.
func (g *Guard) Run(ctx context.Context, srv *asynq.Server, h asynq.Handler) error {
	g.mu.Lock()
	g.stopHook = srv.Stop
	g.mu.Unlock()
	ReleaseMemory()

	if err := srv.Start(g.Middleware(h)); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}

	select {
	case <-ctx.Done():
	case <-g.recycle:
	}

	srv.Stop()
	srv.Shutdown()
	if ctx.Err() != nil {
		return nil
	}
	return ErrRecycle
}

// taskID returns the asynq task id of t.
func taskID(t *asynq.Task) string {
	if w := t.ResultWriter(); w != nil {
		return w.TaskID()
	}
	return ""
}
