package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/hibiken/asynq"
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
	// ReleaseRSS is the resident memory past which the memory freed by a
	// job is handed back to the system as soon as the job ends. Below it,
	// except after the job that loaded the Model, the hand-back waits until
	// the worker has been idle for ReleaseIdle, so jobs that arrive back to
	// back do not pay for it. Defaults to half of MaxRSS (200 MB by default).
	ReleaseRSS uint64
	// ReleaseIdle is how long the worker must sit without a job before the
	// memory freed by its jobs is handed back to the system. Defaults to
	// 150 milliseconds.
	ReleaseIdle time.Duration
	// Model is the worker's model. The job that loads it leaves the most
	// memory to hand back (what building the session freed, code only the
	// load ran), so the guard hands it back as soon as that job ends; and
	// once the model is loaded, every release drops the clean pages of its
	// library along with the executable's (ReleaseMemory). Defaults to nil:
	// releases wait for idle and drop the executable's pages only.
	Model Model
	// HardGrace is how long a job stopped at HardRSS may keep the memory
	// above HardRSS before the worker exits with ExitRecycle at once, the
	// job unfinished (it is retried and counts as having taken its worker
	// down). Memory that still rises after the stop ends the wait early.
	// Defaults to 3 seconds.
	HardGrace time.Duration
	// Interval is how often resident memory is read while a job runs.
	// Defaults to 250 ms: a read of /proc costs microseconds, and a decode
	// spike of less than a second went unseen at 1 second.
	Interval time.Duration
	// Reports receives a line when each job starts and ends, for a
	// supervisor to release the jobs of a worker that died. Defaults to
	// nil: no reports.
	Reports io.Writer
	// Logger receives one line per decision. Defaults to slog.Default().
	Logger *slog.Logger
}

// Model is the worker's model as the guard sees it; *inference.Engine is
// one.
type Model interface {
	// Loaded reports whether the model is in memory.
	Loaded() bool
	// Library returns the path of the shared library that runs the model,
	// which stays loaded for the life of the process once the model is.
	Library() string
}

// withDefaults fills in every unset field of c.
func (c GuardConfig) withDefaults() GuardConfig {
	if c.MaxRSS == 0 {
		c.MaxRSS = 400 * MB
	}
	if c.HardRSS == 0 {
		c.HardRSS = max(480*MB, c.MaxRSS)
	}
	if c.ReleaseRSS == 0 {
		c.ReleaseRSS = c.MaxRSS / 2
	}
	if c.ReleaseIdle == 0 {
		c.ReleaseIdle = 150 * time.Millisecond
	}
	if c.HardGrace == 0 {
		c.HardGrace = 3 * time.Second
	}
	if c.Interval == 0 {
		c.Interval = 250 * time.Millisecond
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
	if c.ReleaseRSS > c.MaxRSS {
		return fmt.Errorf("ReleaseRSS (%d) is above MaxRSS (%d)", c.ReleaseRSS, c.MaxRSS)
	}
	if c.IdleUnload < 0 || c.Interval < 0 || c.ReleaseIdle < 0 || c.HardGrace < 0 {
		return errors.New("IdleUnload, ReleaseIdle, HardGrace and Interval " +
			"must not be negative")
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
	collect func()
	release func()
	exit    func(code int)

	// releasing is held by an idle release and shared by running jobs, so
	// that a job never starts while freed memory is being handed back.
	releasing sync.RWMutex

	mu       sync.Mutex
	jobs     int
	running  int
	drained  *sync.Cond
	reason   string
	recycle  chan struct{}
	idle     *time.Timer
	quiet    *time.Timer
	stopHook func()
}

// NewGuard returns a Guard for cfg, with defaults filled in.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("checking memory guard config: %w", err)
	}

	g := &Guard{
		cfg:     cfg,
		maxJobs: jitter(cfg.MaxJobs),
		readRSS: RSS,
		collect: runtime.GC,
		exit:    os.Exit,
		recycle: make(chan struct{}),
	}
	g.release = g.releaseMemory
	g.drained = sync.NewCond(&g.mu)
	return g, nil
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
	stop := g.markRecycle(reason)
	g.mu.Unlock()

	if stop != nil {
		stop()
	}
}

// markRecycle records reason as the first reason to recycle and wakes Run.
// It returns the hook that stops fetching jobs, or nil when a reason was
// recorded already. g.mu must be held.
func (g *Guard) markRecycle(reason string) func() {
	if g.reason != "" {
		return nil
	}

	g.reason = reason
	stopTimer(g.idle)
	stopTimer(g.quiet)
	close(g.recycle)
	if g.stopHook == nil {
		return func() {}
	}
	return g.stopHook
}

// stopTimer stops t, which may be nil.
func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// Middleware wraps h so that every job runs under the guard: memory is read
// every Interval while the job runs and once after it. Past HardRSS the
// job's context is canceled with cause ErrHardLimit and the error returned
// wraps ErrHardLimit, so the job is retried by a fresh worker.
func (g *Guard) Middleware(h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		queue, _ := asynq.GetQueueName(ctx)
		g.jobStarted()
		defer g.jobEnded()
		g.report("start", queue, taskID(t))
		hadModel := g.modelLoaded()

		err := g.watch(ctx, t, h)

		g.report("end", queue, taskID(t))
		g.jobFinished(t, err, !hadModel && g.modelLoaded())
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

// sample reads memory every Interval until done is closed. Past MaxRSS it
// asks for a recycle after the job; past HardRSS it cancels the job, and
// when the memory stays past HardRSS all the same it exits the process.
func (g *Guard) sample(t *asynq.Task, cancel context.CancelCauseFunc, done <-chan struct{}) {
	tick := time.NewTicker(g.cfg.Interval)
	defer tick.Stop()

	var stop *hardStop
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
		if stop != nil {
			if stop.escalate(g, t, rss) {
				return
			}
			continue
		}
		if rss > g.cfg.HardRSS {
			g.cfg.Logger.Warn("memory past the hard limit, stopping the job",
				"task_id", taskID(t), "rss_bytes", rss, "limit_bytes", g.cfg.HardRSS)
			cancel(ErrHardLimit)
			stop = &hardStop{at: time.Now(), rss: rss}
			continue
		}
		if rss > g.cfg.MaxRSS && g.Reason() == "" {
			g.cfg.Logger.Warn("memory past the limit, recycling after this job",
				"task_id", taskID(t), "rss_bytes", rss, "limit_bytes", g.cfg.MaxRSS)
			g.requestRecycle("max_rss")
		}
	}
}

// hardRise is how far memory may climb after a job was stopped at the hard
// limit before the stop counts as ignored: more than the noise of a job
// that is unwinding.
const hardRise = 8 * MB

// hardStop is when a job was stopped at the hard limit and the memory then.
type hardStop struct {
	at  time.Time
	rss uint64
}

// escalate exits the process with ExitRecycle when a job stopped at the
// hard limit still holds memory past it HardGrace later, or holds clearly
// more than when it was stopped: its work ignores the stop. The job stays unfinished,
// so it is retried and counts as having taken its worker down. It reports
// whether it gave up watching.
func (s *hardStop) escalate(g *Guard, t *asynq.Task, rss uint64) bool {
	since := time.Since(s.at)
	if rss <= g.cfg.HardRSS {
		return false
	}
	if since < g.cfg.HardGrace && rss <= s.rss+hardRise {
		return false
	}

	g.cfg.Logger.Error("memory still past the hard limit after stopping the job, exiting",
		"task_id", taskID(t), "rss_bytes", rss, "rss_at_stop_bytes", s.rss,
		"limit_bytes", g.cfg.HardRSS, "since_stop", since.Round(time.Millisecond).String(),
		"exit_code", ExitRecycle)
	g.exit(ExitRecycle)
	return true
}

// jobStarted stops the idle clocks and counts the running job. It waits for
// an idle release in progress to end.
func (g *Guard) jobStarted() {
	g.mu.Lock()
	stopTimer(g.idle)
	stopTimer(g.quiet)
	g.running++
	g.mu.Unlock()

	g.releasing.RLock()
}

// jobEnded takes the job off the running count. The last running job starts
// the idle clocks, unless the worker recycles.
func (g *Guard) jobEnded() {
	g.releasing.RUnlock()

	g.mu.Lock()
	defer g.mu.Unlock()

	g.running--
	if g.running > 0 {
		return
	}
	g.drained.Broadcast()
	if g.reason == "" {
		g.armIdle()
	}
}

// jobFinished counts the job, hands freed memory back when the job left
// much of it or loaded the model, and decides whether the worker recycles.
func (g *Guard) jobFinished(t *asynq.Task, err error, loadedModel bool) {
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

	rss, rssErr := g.rssAfterJob(loadedModel)
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
	}
}

// rssAfterJob reads the memory after a job. It first collects the job's
// garbage, in under a millisecond: else the next job's buffers pile up on
// top of it, since the Go heap may grow to twice what was live at the last
// collection, which a 12 MP photo sets high (a run of such jobs peaked at
// 330 MB instead of 216). Past ReleaseRSS, or after the job that loaded the
// model, it also hands freed memory back, so that memory the process merely
// keeps does not count towards MaxRSS nor stays until the worker is idle.
func (g *Guard) rssAfterJob(loadedModel bool) (uint64, error) {
	g.collect()
	rss, err := g.readRSS()
	if err != nil || (rss <= g.cfg.ReleaseRSS && !loadedModel) {
		return rss, err
	}

	g.release()
	return g.readRSS()
}

// countJob adds one finished job and returns the total.
func (g *Guard) countJob() int {
	g.mu.Lock()
	defer g.mu.Unlock()

	g.jobs++
	return g.jobs
}

// armIdle starts the clock of the idle release and, when IdleUnload is set,
// of the idle recycle. g.mu must be held.
func (g *Guard) armIdle() {
	g.quiet = resetTimer(g.quiet, g.cfg.ReleaseIdle, g.idleRelease)
	if g.cfg.IdleUnload > 0 {
		g.idle = resetTimer(g.idle, g.cfg.IdleUnload, g.idleExpired)
	}
}

// resetTimer restarts t to call f after d, creating it when nil.
func resetTimer(t *time.Timer, d time.Duration, f func()) *time.Timer {
	if t == nil {
		return time.AfterFunc(d, f)
	}
	t.Reset(d)
	return t
}

// idleRelease hands the memory freed by the last jobs back to the system
// once the worker is idle. A job that starts meanwhile waits for it; one
// that started first makes it give up (the job's end starts a new clock).
func (g *Guard) idleRelease() {
	if !g.releasing.TryLock() {
		return
	}
	defer g.releasing.Unlock()

	g.mu.Lock()
	busy := g.running > 0 || g.reason != ""
	g.mu.Unlock()
	if busy {
		return
	}

	g.release()
}

// idleExpired recycles the idle worker so that its model is released,
// unless a job started after the clock ran out.
func (g *Guard) idleExpired() {
	rss, err := g.readRSS()
	if err != nil {
		g.cfg.Logger.Warn("reading worker memory", "error", err)
	}

	g.mu.Lock()
	var stop func()
	if g.running == 0 {
		stop = g.markRecycle("idle")
	}
	jobs := g.jobs
	g.mu.Unlock()
	if stop == nil {
		return
	}

	g.cfg.Logger.Info("idle, recycling to release the model",
		"idle", g.cfg.IdleUnload.String(), "rss_bytes", rss, "jobs", jobs)
	stop()
}

// server is the part of *asynq.Server that Run drives.
type server interface {
	Start(h asynq.Handler) error
	Stop()
	Shutdown()
}

// Run starts srv with h under the guard's watch (first handing back the
// memory that start-up freed) and blocks until ctx is done or the worker
// must recycle. Either way it stops fetching jobs and shuts srv down from
// outside the handler (a shutdown from inside a handler would leave its
// task active). Before a recycle it waits for the running jobs to return,
// however long they take, so that each is stored as finished; a stop
// through ctx leaves them srv's shutdown timeout. It returns ErrRecycle
// when the worker recycles and nil when ctx ended it.
func (g *Guard) Run(ctx context.Context, srv *asynq.Server, h asynq.Handler) error {
	return g.run(ctx, srv, h)
}

func (g *Guard) run(ctx context.Context, srv server, h asynq.Handler) error {
	g.mu.Lock()
	g.stopHook = srv.Stop
	g.mu.Unlock()
	g.release()

	if err := srv.Start(g.Middleware(h)); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}

	select {
	case <-ctx.Done():
	case <-g.recycle:
	}

	srv.Stop()
	g.awaitJobs(ctx)
	srv.Shutdown()
	if ctx.Err() != nil {
		return nil
	}
	return ErrRecycle
}

// awaitJobs waits until no job runs or ctx is done.
func (g *Guard) awaitJobs(ctx context.Context) {
	wake := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.drained.Broadcast()
	})
	defer wake()

	g.mu.Lock()
	defer g.mu.Unlock()
	for g.running > 0 && ctx.Err() == nil {
		g.drained.Wait()
	}
}

// taskID returns the asynq task id of t.
func taskID(t *asynq.Task) string {
	if w := t.ResultWriter(); w != nil {
		return w.TaskID()
	}
	return ""
}
