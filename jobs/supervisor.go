package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ExitRecycle is the exit code of a worker that stopped on purpose so that a
// fresh process takes over with its memory back at the empty level (75 is
// EX_TEMPFAIL in sysexits.h: try again). A supervisor restarts such a worker
// at once; any other exit is a crash and is restarted with backoff.
const ExitRecycle = 75

// ExitConfig is the exit code of a worker that refused its settings (78 is
// EX_CONFIG in sysexits.h). Restarting it cannot help, so a supervisor stops
// and returns a *ConfigError instead.
const ExitConfig = 78

// ConfigError is what Supervisor.Run returns when its worker exited with
// ExitConfig. Its message is the last line of the worker's stderr.
type ConfigError struct {
	// Tail is the end of the worker's stderr, which names the bad setting.
	Tail string
}

func (e *ConfigError) Error() string {
	lines := strings.Split(strings.TrimSpace(e.Tail), "\n")
	return "worker refused its configuration: " + lines[len(lines)-1]
}

// LeanHeapTunables is the glibc setting the supervisor gives its worker when
// GLIBC_TUNABLES is not set: allocations from 128 KiB up are served by mmap
// and go straight back to the system when freed. glibc reads it only at
// process start, which is why the supervisor sets it for its child.
const LeanHeapTunables = "glibc.malloc.mmap_threshold=131072"

// SupervisorConfig says which worker a Supervisor runs and how.
type SupervisorConfig struct {
	// Path is the worker program. Required.
	Path string
	// Args are the worker's arguments, without the program name. Defaults to
	// none.
	Args []string
	// Env holds variables ("NAME=value") added to this process's
	// environment for the worker. GLIBC_TUNABLES is set to LeanHeapTunables
	// when neither sets it. Defaults to none.
	Env []string
	// MinBackoff is the wait before restarting after the first crash; it
	// doubles with each crash in a row. Defaults to 1 second.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between restarts after crashes. Defaults to
	// 30 seconds.
	MaxBackoff time.Duration
	// StableAfter is how long a worker must run for its crash count to be
	// forgotten. Defaults to 1 minute.
	StableAfter time.Duration
	// StopTimeout is how long a worker may drain after a stop signal before
	// it is killed. Defaults to 1 minute.
	StopTimeout time.Duration
	// TailBytes is how much of the worker's last stderr output is kept to
	// say why it died. Defaults to 8 KiB.
	TailBytes int
	// Stdout and Stderr receive the worker's output. Default to os.Stdout
	// and os.Stderr.
	Stdout, Stderr io.Writer
	// Signals delivers stop requests: the first is passed on to the worker
	// for a graceful drain, the second kills it. Defaults to SIGINT and
	// SIGTERM sent to this process.
	Signals <-chan os.Signal
	// Orphaned is called for each job a worker held when it died, before
	// the next worker starts (ReleaseLease suits it). Defaults to nil: such
	// jobs wait for asynq's lease to run out.
	Orphaned func(ctx context.Context, job JobRef) error
	// Logger receives one line per start, exit and restart. Defaults to
	// slog.Default().
	Logger *slog.Logger
}

// withDefaults fills in every unset field of c.
func (c SupervisorConfig) withDefaults() SupervisorConfig {
	c.Env = leanEnv(append(os.Environ(), c.Env...))
	if c.MinBackoff == 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.StableAfter == 0 {
		c.StableAfter = time.Minute
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = time.Minute
	}
	if c.TailBytes == 0 {
		c.TailBytes = 8 << 10
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// leanEnv returns env with GLIBC_TUNABLES set to LeanHeapTunables unless it
// is set already.
func leanEnv(env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GLIBC_TUNABLES=") {
			return env
		}
	}
	return append(env, "GLIBC_TUNABLES="+LeanHeapTunables)
}

// Supervisor runs a worker as a child process and replaces it whenever it
// exits, until it is told to stop.
type Supervisor struct {
	cfg SupervisorConfig
}

// NewSupervisor returns a Supervisor for cfg, with defaults filled in.
func NewSupervisor(cfg SupervisorConfig) (*Supervisor, error) {
	if cfg.Path == "" {
		return nil, errors.New("checking supervisor config: Path is empty")
	}
	return &Supervisor{cfg: cfg.withDefaults()}, nil
}

// Run keeps one worker running until ctx is done or a stop signal arrives,
// then lets the worker drain and returns. A recycled worker is replaced at
// once, a crashed one after a backoff that grows with each crash in a row.
// A worker that exits with ExitConfig is not restarted: Run returns a
// *ConfigError.
func (s *Supervisor) Run(ctx context.Context) error {
	stops := s.stops(ctx)
	crashes := 0

	for {
		exit, err := s.runOnce(stops)
		if err != nil {
			return err
		}
		s.release(ctx, exit)
		if exit.stopped {
			err := exit.stopErr()
			if err != nil {
				s.cfg.Logger.Error("worker did not stop cleanly", "pid", exit.pid,
					"status", exit.status, "stderr_tail", exit.tail)
			}
			return err
		}

		if exit.code == ExitConfig {
			s.cfg.Logger.Error("worker refused its configuration, not restarting it",
				"pid", exit.pid, "stderr_tail", exit.tail)
			return &ConfigError{Tail: exit.tail}
		}
		if exit.code == ExitRecycle {
			s.cfg.Logger.Info("worker recycled, starting a fresh one", "pid", exit.pid)
			crashes = 0
			continue
		}

		if exit.ran >= s.cfg.StableAfter {
			crashes = 0
		}
		crashes++
		wait := s.backoff(crashes)
		s.cfg.Logger.Error("worker died", "pid", exit.pid, "status", exit.status,
			"crashes", crashes, "restart_in", wait.String(), "stderr_tail", exit.tail)

		select {
		case <-time.After(wait):
		case <-stops:
			return nil
		}
	}
}

// release hands the jobs a dead worker held to cfg.Orphaned.
func (s *Supervisor) release(ctx context.Context, exit childExit) {
	if s.cfg.Orphaned == nil {
		return
	}

	ctx = context.WithoutCancel(ctx)
	for _, job := range exit.held {
		err := s.cfg.Orphaned(ctx, job)
		if err != nil {
			s.cfg.Logger.Error("releasing a dead worker's job", "task_id", job.ID,
				"queue", job.Queue, "error", err)
			continue
		}
		s.cfg.Logger.Info("released a dead worker's job", "task_id", job.ID,
			"queue", job.Queue, "pid", exit.pid)
	}
}

// backoff returns the wait before a restart after crashes crashes in a row.
func (s *Supervisor) backoff(crashes int) time.Duration {
	wait := s.cfg.MinBackoff
	for i := 1; i < crashes && wait < s.cfg.MaxBackoff; i++ {
		wait *= 2
	}
	return min(wait, s.cfg.MaxBackoff)
}

// stops merges ctx's end and the stop signals into one channel of stop
// requests: the first asks for a drain, the second for a kill. The second
// signal received forces even when ctx ended first, since a signal may have
// ended ctx too.
func (s *Supervisor) stops(ctx context.Context) <-chan os.Signal {
	signals := s.cfg.Signals
	if signals == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		signals = ch
	}

	out := make(chan os.Signal, 2)
	go func() {
		var first os.Signal = syscall.SIGTERM
		seen := 0
		select {
		case <-ctx.Done():
		case first = <-signals:
			seen++
		}
		out <- first

		for ; seen < 2; seen++ {
			<-signals
		}
		out <- syscall.SIGKILL
	}()
	return out
}

// childExit describes how one worker process ended.
type childExit struct {
	pid     int
	held    []JobRef
	code    int
	sig     syscall.Signal
	status  string
	tail    string
	ran     time.Duration
	stopped bool
}

// stopErr reports a worker that did not end cleanly after a stop request.
// A worker ended by the stop signal itself (one that had not yet set up its
// handlers) stopped cleanly too.
func (e childExit) stopErr() error {
	if e.code == 0 || e.code == ExitRecycle || e.sig == syscall.SIGTERM ||
		e.sig == syscall.SIGINT {
		return nil
	}
	return fmt.Errorf("worker %d stopped with %s", e.pid, e.status)
}

// runOnce starts one worker and waits for it to end, passing stop requests
// on: the first as a graceful stop, the second (or StopTimeout) as SIGKILL.
func (s *Supervisor) runOnce(stops <-chan os.Signal) (childExit, error) {
	reports, reportsW, err := os.Pipe()
	if err != nil {
		return childExit{}, fmt.Errorf("opening the job report pipe: %w", err)
	}
	defer reports.Close()

	tail := newTailBuffer(s.cfg.TailBytes)
	cmd := exec.Command(s.cfg.Path, s.cfg.Args...)
	cmd.Env = append(s.cfg.Env[:len(s.cfg.Env):len(s.cfg.Env)], JobReportFDEnv+"=3")
	cmd.ExtraFiles = []*os.File{reportsW}
	cmd.Stdout = s.cfg.Stdout
	cmd.Stderr = io.MultiWriter(s.cfg.Stderr, tail)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second

	start := time.Now()
	err = cmd.Start()
	reportsW.Close()
	if err != nil {
		return childExit{}, fmt.Errorf("starting worker %s: %w", s.cfg.Path, err)
	}
	s.cfg.Logger.Info("worker process started", "pid", cmd.Process.Pid)
	jobs := readJobReports(reports)

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	stopped := s.await(cmd.Process, stops, waited)
	return childExit{
		pid:     cmd.Process.Pid,
		held:    jobs.held(),
		code:    cmd.ProcessState.ExitCode(),
		sig:     exitSignal(cmd.ProcessState),
		status:  describeExit(cmd.ProcessState),
		tail:    tail.String(),
		ran:     time.Since(start),
		stopped: stopped,
	}, nil
}

// await waits for the worker to end and reports whether a stop was asked
// for meanwhile.
func (s *Supervisor) await(p *os.Process, stops <-chan os.Signal, waited <-chan error) bool {
	select {
	case <-waited:
		return false
	case sig := <-stops:
		s.cfg.Logger.Info("stopping worker", "pid", p.Pid, "signal", sig.String())
		if err := p.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.cfg.Logger.Warn("passing the stop signal on", "pid", p.Pid, "error", err)
		}
	}

	select {
	case <-waited:
		return true
	case <-stops:
		s.cfg.Logger.Warn("second stop signal, killing worker", "pid", p.Pid)
	case <-time.After(s.cfg.StopTimeout):
		s.cfg.Logger.Warn("worker did not drain in time, killing it", "pid", p.Pid,
			"timeout", s.cfg.StopTimeout.String())
	}

	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.cfg.Logger.Warn("killing worker", "pid", p.Pid, "error", err)
	}
	<-waited
	return true
}

// describeExit says how a process ended: its exit code or the signal that
// killed it.
func describeExit(state *os.ProcessState) string {
	switch sig := exitSignal(state); {
	case sig != 0:
		return "killed by signal " + sig.String()
	case state.ExitCode() == ExitRecycle:
		return fmt.Sprintf("exit code %d (recycle)", ExitRecycle)
	case state.ExitCode() == ExitConfig:
		return fmt.Sprintf("exit code %d (configuration error)", ExitConfig)
	default:
		return fmt.Sprintf("exit code %d", state.ExitCode())
	}
}

// exitSignal returns the signal that killed a process, or 0.
func exitSignal(state *os.ProcessState) syscall.Signal {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return 0
}

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu   sync.Mutex
	size int
	buf  []byte
}

func newTailBuffer(size int) *tailBuffer {
	return &tailBuffer{size: size}
}

// Write keeps the end of p and of what came before, up to size bytes.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.size; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept bytes.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
