package jobs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// countReleases makes g count its memory releases and signal each one.
func countReleases(g *Guard) (*atomic.Int32, <-chan struct{}) {
	var n atomic.Int32
	released := make(chan struct{}, 100)
	g.release = func() {
		n.Add(1)
		released <- struct{}{}
	}
	return &n, released
}

func TestGuardReleasesMemoryOnceTheWorkerIsIdle(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{MaxRSS: 400 * MB, ReleaseIdle: 50 * time.Millisecond}, &rss)
	releases, released := countReleases(g)

	rss.Store(150 * MB)
	for range 50 {
		if err := runJob(g, nop); err != nil {
			t.Fatalf("job: %v", err)
		}
	}
	if n := releases.Load(); n != 0 {
		t.Fatalf("%d releases while jobs arrived back to back, want none", n)
	}

	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatalf("no release after the worker went idle")
	}
	if n := releases.Load(); n != 1 {
		t.Fatalf("%d releases after the worker went idle, want 1", n)
	}
}

func TestGuardReleasesMemoryAtOnceAfterAHeavyJob(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{MaxRSS: 400 * MB, ReleaseIdle: time.Hour}, &rss)
	releases, _ := countReleases(g)
	kept := g.release
	g.release = func() {
		kept()
		rss.Store(120 * MB)
	}

	rss.Store(450 * MB)
	if err := runJob(g, nop); err != nil {
		t.Fatalf("job: %v", err)
	}

	if n := releases.Load(); n != 1 {
		t.Fatalf("%d releases after a job that left 450 MB, want 1", n)
	}
	if recycled(g) {
		t.Fatalf("recycled for memory that the release handed back (reason %q)", g.Reason())
	}
}

// fakeModel is a Model whose Loaded a test sets.
type fakeModel struct {
	loaded  atomic.Bool
	library string
}

func (m *fakeModel) Loaded() bool    { return m.loaded.Load() }
func (m *fakeModel) Library() string { return m.library }

func TestGuardReleasesMemoryAtOnceAfterTheJobThatLoadsTheModel(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	model := &fakeModel{}
	g := newTestGuard(t, GuardConfig{MaxRSS: 400 * MB, ReleaseIdle: time.Hour, Model: model},
		&rss)
	releases, _ := countReleases(g)
	rss.Store(150 * MB)

	load := func(context.Context, *asynq.Task) error {
		model.loaded.Store(true)
		return nil
	}
	if err := runJob(g, load); err != nil {
		t.Fatalf("job: %v", err)
	}
	if n := releases.Load(); n != 1 {
		t.Fatalf("%d releases after the job that loaded the model, want 1", n)
	}

	for range 3 {
		if err := runJob(g, nop); err != nil {
			t.Fatalf("job: %v", err)
		}
	}
	if n := releases.Load(); n != 1 {
		t.Fatalf("%d releases after jobs that found the model loaded, want still 1", n)
	}
}

func TestGuardCollectsGarbageAfterEveryJob(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{MaxRSS: 400 * MB, ReleaseIdle: time.Hour}, &rss)
	var collections atomic.Int32
	g.collect = func() { collections.Add(1) }
	rss.Store(150 * MB)

	for range 3 {
		if err := runJob(g, nop); err != nil {
			t.Fatalf("job: %v", err)
		}
	}
	if n := collections.Load(); n != 3 {
		t.Fatalf("%d collections after 3 jobs, want 3", n)
	}
}

func TestGuardNeverReleasesDuringAJob(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{ReleaseIdle: time.Hour}, &rss)

	t.Run("a release that finds a job running gives up", func(t *testing.T) {
		releases, _ := countReleases(g)
		err := runJob(g, func(context.Context, *asynq.Task) error {
			g.idleRelease()
			return nil
		})
		if err != nil {
			t.Fatalf("job: %v", err)
		}
		if n := releases.Load(); n != 0 {
			t.Fatalf("%d releases while a job ran, want none", n)
		}
	})

	t.Run("a job that arrives during a release waits for it", func(t *testing.T) {
		inRelease, finish := make(chan struct{}), make(chan struct{})
		var releasing atomic.Bool
		g.release = func() {
			releasing.Store(true)
			close(inRelease)
			<-finish
			releasing.Store(false)
		}
		go g.idleRelease()
		<-inRelease

		ran := make(chan bool, 1)
		go func() {
			_ = runJob(g, func(context.Context, *asynq.Task) error {
				ran <- releasing.Load()
				return nil
			})
		}()
		select {
		case <-ran:
			t.Fatalf("a job started during a release")
		case <-time.After(50 * time.Millisecond):
		}

		close(finish)
		select {
		case during := <-ran:
			if during {
				t.Fatalf("the job ran while memory was being released")
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the job did not start after the release")
		}
	})
}

// fakeServer stands in for asynq: Start runs one task through the handler
// it is given; job is the unwrapped handler for the test to hand to run.
type fakeServer struct {
	job      asynq.HandlerFunc
	stopOnce sync.Once
	stopped  chan struct{}
	returned atomic.Bool
	early    atomic.Bool
	result   chan error
}

func newFakeServer(job asynq.HandlerFunc) *fakeServer {
	return &fakeServer{job: job, stopped: make(chan struct{}), result: make(chan error, 1)}
}

func (s *fakeServer) Start(h asynq.Handler) error {
	go func() {
		err := h.ProcessTask(context.Background(), asynq.NewTask("predict", nil))
		s.returned.Store(true)
		s.result <- err
	}()
	return nil
}

func (s *fakeServer) Stop() { s.stopOnce.Do(func() { close(s.stopped) }) }

func (s *fakeServer) Shutdown() { s.early.Store(!s.returned.Load()) }

func TestGuardRecycleWaitsForTheJobInHand(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{MaxRSS: 100 * MB, Interval: time.Millisecond}, &rss)
	rss.Store(120 * MB)
	finish := make(chan struct{})
	srv := newFakeServer(func(context.Context, *asynq.Task) error {
		<-finish
		return nil
	})

	ran := make(chan error, 1)
	go func() { ran <- g.run(context.Background(), srv, srv.job) }()
	select {
	case <-srv.stopped:
	case <-time.After(5 * time.Second):
		t.Fatalf("memory past MaxRSS during the job did not stop fetching")
	}
	select {
	case err := <-ran:
		t.Fatalf("Run returned (%v) while the job was still running", err)
	case <-time.After(50 * time.Millisecond):
	}

	close(finish)
	select {
	case err := <-ran:
		if !errors.Is(err, ErrRecycle) {
			t.Fatalf("Run = %v, want ErrRecycle", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Run did not return after the job ended")
	}
	if srv.early.Load() {
		t.Fatalf("the server was shut down before the job returned")
	}
	if err := <-srv.result; err != nil {
		t.Fatalf("job = %v, want it finished", err)
	}
}

func TestGuardIdleRecycleSparesAJobThatJustStarted(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{IdleUnload: time.Hour}, &rss)

	err := runJob(g, func(context.Context, *asynq.Task) error {
		g.idleExpired()
		return nil
	})
	if err != nil {
		t.Fatalf("job: %v", err)
	}
	if recycled(g) {
		t.Fatalf("an idle recycle fired while a job ran (reason %q)", g.Reason())
	}
}

// ignoreStop returns a handler that ignores its stop, as Go-side decoding
// does, and sets the memory to each of steps in turn once stopped. It runs
// until exited is closed.
func ignoreStop(rss *atomic.Uint64, exited <-chan struct{}, steps ...uint64) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		<-ctx.Done()
		for _, step := range steps {
			rss.Store(step)
			time.Sleep(5 * time.Millisecond)
		}
		select {
		case <-exited:
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("the guard did not give up on the job")
		}
	}
}

func TestGuardExitsWhenAStoppedJobKeepsItsMemory(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name  string
		grace time.Duration
		steps []uint64
	}{
		{"memory stays past the hard limit beyond the grace", 30 * time.Millisecond, nil},
		{"memory keeps rising before the grace ends", time.Hour, []uint64{230 * MB, 260 * MB}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			var rss atomic.Uint64
			g := newTestGuard(t, GuardConfig{
				MaxRSS: 100 * MB, HardRSS: 150 * MB, HardGrace: c.grace,
				Interval: time.Millisecond,
			}, &rss)
			exited := make(chan struct{})
			codes := make(chan int, 1)
			g.exit = func(code int) {
				codes <- code
				close(exited)
			}

			rss.Store(200 * MB)
			start := time.Now()
			err := runJob(g, ignoreStop(&rss, exited, c.steps...))

			if code := <-codes; code != ExitRecycle {
				t.Fatalf("exit code = %d, want ExitRecycle (%d)", code, ExitRecycle)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("the guard took %s to give up", took)
			}
			if !errors.Is(err, ErrHardLimit) {
				t.Fatalf("job error = %v, want ErrHardLimit", err)
			}
		})
	}
}

func TestGuardDoesNotExitWhenAStoppedJobLetsGo(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{
		MaxRSS: 100 * MB, HardRSS: 150 * MB, HardGrace: 20 * time.Millisecond,
		Interval: time.Millisecond,
	}, &rss)

	rss.Store(200 * MB)
	err := runJob(g, func(ctx context.Context, _ *asynq.Task) error {
		<-ctx.Done()
		rss.Store(90 * MB)
		time.Sleep(60 * time.Millisecond)
		return ctx.Err()
	})

	if !errors.Is(err, ErrHardLimit) || g.Reason() != "hard_rss" {
		t.Fatalf("job error = %v, reason %q; want ErrHardLimit and hard_rss", err, g.Reason())
	}
}
