package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// newTestGuard returns a guard whose memory readings come from rss.
func newTestGuard(t *testing.T, cfg GuardConfig, rss *atomic.Uint64) *Guard {
	t.Helper()

	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	g, err := NewGuard(cfg)
	if err != nil {
		t.Fatalf("NewGuard: %v", err)
	}
	g.readRSS = func() (uint64, error) { return rss.Load(), nil }
	g.release = func() {}
	g.exit = func(code int) { t.Errorf("the guard exited the process with %d", code) }
	return g
}

// runJob runs one job through the guard's middleware.
func runJob(g *Guard, h asynq.HandlerFunc) error {
	return g.Middleware(h).ProcessTask(context.Background(), asynq.NewTask("predict", nil))
}

func nop(context.Context, *asynq.Task) error { return nil }

func recycled(g *Guard) bool {
	select {
	case <-g.Recycle():
		return true
	default:
		return false
	}
}

func TestGuardRecyclesPastTheSoftLimitAfterTheJob(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{MaxRSS: 100 * MB}, &rss)

	rss.Store(90 * MB)
	if err := runJob(g, nop); err != nil {
		t.Fatalf("job under the limit: %v", err)
	}
	if recycled(g) {
		t.Fatalf("recycled under the limit")
	}

	jobErr := errors.New("job error")
	rss.Store(120 * MB)
	err := runJob(g, func(context.Context, *asynq.Task) error { return jobErr })
	if !errors.Is(err, jobErr) {
		t.Fatalf("job error = %v, want the handler's own error", err)
	}
	if !recycled(g) || g.Reason() != "max_rss" {
		t.Fatalf("reason = %q, want max_rss", g.Reason())
	}
}

func TestGuardStopsAJobPastTheHardLimit(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{
		MaxRSS: 100 * MB, HardRSS: 150 * MB, Interval: time.Millisecond,
	}, &rss)

	rss.Store(200 * MB)
	err := runJob(g, func(ctx context.Context, _ *asynq.Task) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("job was not stopped")
		}
	})

	if !errors.Is(err, ErrHardLimit) {
		t.Fatalf("job error = %v, want ErrHardLimit", err)
	}
	if g.Reason() != "hard_rss" {
		t.Fatalf("reason = %q, want hard_rss", g.Reason())
	}
}

func TestGuardRecyclesDuringAJobPastTheSoftLimit(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{MaxRSS: 100 * MB, Interval: time.Millisecond}, &rss)

	rss.Store(120 * MB)
	err := runJob(g, func(ctx context.Context, _ *asynq.Task) error {
		select {
		case <-g.Recycle():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("no recycle during the job")
		}
	})

	if err != nil {
		t.Fatalf("job error = %v, want the job to finish", err)
	}
	if g.Reason() != "max_rss" {
		t.Fatalf("reason = %q, want max_rss", g.Reason())
	}
}

func TestGuardRecyclesAfterMaxJobs(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{MaxJobs: 10}, &rss)

	jobs := 0
	for !recycled(g) && jobs < 100 {
		if err := runJob(g, nop); err != nil {
			t.Fatalf("job: %v", err)
		}
		jobs++
	}

	if jobs < 8 || jobs > 12 || jobs == 10 {
		t.Fatalf("recycled after %d jobs, want 8, 9, 11 or 12", jobs)
	}
	if g.Reason() != "max_jobs" {
		t.Fatalf("reason = %q, want max_jobs", g.Reason())
	}
}

func TestGuardRecyclesWhenIdle(t *testing.T) {
	t.Parallel()

	var rss atomic.Uint64
	g := newTestGuard(t, GuardConfig{IdleUnload: 20 * time.Millisecond}, &rss)

	select {
	case <-g.Recycle():
		t.Fatalf("a worker that never ran a job recycled for idleness")
	case <-time.After(60 * time.Millisecond):
	}

	if err := runJob(g, nop); err != nil {
		t.Fatalf("job: %v", err)
	}

	select {
	case <-g.Recycle():
	case <-time.After(5 * time.Second):
		t.Fatalf("no idle recycle")
	}
	if g.Reason() != "idle" {
		t.Fatalf("reason = %q, want idle", g.Reason())
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name     string
		n        int
		low, top int
	}{
		{"zero means no limit", 0, 0, 0},
		{"a small limit moves by at least one job", 5, 4, 6},
		{"a large limit moves by 10 to 20 percent", 100, 80, 120},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			for range 200 {
				got := jitter(c.n)
				if got < c.low || got > c.top || (c.n > 0 && got == c.n) {
					t.Fatalf("jitter(%d) = %d, want %d..%d and not %d",
						c.n, got, c.low, c.top, c.n)
				}
				if c.n >= 100 && got > 90 && got < 110 {
					t.Fatalf("jitter(%d) = %d, moved less than 10%%", c.n, got)
				}
			}
		})
	}
}

func TestGuardConfig(t *testing.T) {
	t.Parallel()

	t.Run("defaults suit a 512 MB host", func(t *testing.T) {
		t.Parallel()

		c := GuardConfig{}.withDefaults()
		if c.MaxRSS != 400*MB || c.HardRSS != 480*MB || c.Interval != 250*time.Millisecond {
			t.Fatalf("defaults = %+v", c)
		}
	})

	t.Run("a hard limit below the soft limit is refused", func(t *testing.T) {
		t.Parallel()

		_, err := NewGuard(GuardConfig{MaxRSS: 200 * MB, HardRSS: 100 * MB})
		if err == nil {
			t.Fatalf("NewGuard accepted HardRSS below MaxRSS")
		}
	})

	t.Run("a soft limit above the default hard limit raises the hard limit", func(t *testing.T) {
		t.Parallel()

		c := GuardConfig{MaxRSS: 600 * MB}.withDefaults()
		if c.HardRSS != 600*MB {
			t.Fatalf("HardRSS = %d, want %d", c.HardRSS, 600*MB)
		}
	})
}

func TestRSSReadsThisProcess(t *testing.T) {
	t.Parallel()

	rss, err := RSS()
	if err != nil {
		t.Fatalf("RSS: %v", err)
	}
	if rss < MB || rss > 4096*MB {
		t.Fatalf("RSS = %d bytes, not a plausible size for a test process", rss)
	}
}
