package jobs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childModesEnv makes the test binary act as a worker for the supervisor
// tests: a comma-separated list of what each start in turn does.
const childModesEnv = "DERMQ_TEST_CHILD_MODES"

func TestMain(m *testing.M) {
	if modes := os.Getenv(childModesEnv); modes != "" {
		os.Exit(actAsChild(strings.Split(modes, ",")))
	}
	os.Exit(m.Run())
}

// actAsChild does what the mode of this start says and returns the exit code.
func actAsChild(modes []string) int {
	countFile := os.Getenv("DERMQ_TEST_CHILD_COUNT")
	data, _ := os.ReadFile(countFile)
	start := len(data)
	if err := os.WriteFile(countFile, append(data, '.'), 0o600); err != nil {
		return 99
	}

	mode := modes[min(start, len(modes)-1)]
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	fmt.Printf("start %d %s tunables=%s\n", start, mode, os.Getenv("GLIBC_TUNABLES"))

	switch mode {
	case "recycle":
		return ExitRecycle
	case "badconfig":
		fmt.Fprintln(os.Stderr, "reading DERMQ_MODEL: no such file")
		return ExitConfig
	case "crash":
		fmt.Fprintln(os.Stderr, "out of luck: the model file is gone")
		return 3
	case "hold":
		reports := JobReports()
		fmt.Fprintln(reports, "start predict done-job")
		fmt.Fprintln(reports, "end predict done-job")
		fmt.Fprintln(reports, "start predict held-job")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	case "sigkill":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	case "drain":
		sig := <-stop
		fmt.Printf("drained after %s\n", sig)
		return 0
	case "stubborn":
		signal.Ignore(syscall.SIGTERM, os.Interrupt)
		select {}
	}
	return 98
}

// lineWriter sends every line written to it on a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.lines <- strings.TrimSpace(line)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// supervised is one supervisor running the test binary as its worker.
type supervised struct {
	lines    chan string
	orphaned chan JobRef
	signals  chan os.Signal
	log      *syncBuffer
	cancel   context.CancelFunc
	done     chan error
}

func startSupervised(t *testing.T, modes string, env ...string) *supervised {
	t.Helper()

	self, err := os.Executable()
	if err != nil {
		t.Fatalf("finding the test binary: %v", err)
	}
	env = append(env, childModesEnv+"="+modes,
		"DERMQ_TEST_CHILD_COUNT="+filepath.Join(t.TempDir(), "starts"))

	s := &supervised{
		lines:    make(chan string, 64),
		orphaned: make(chan JobRef, 4),
		signals:  make(chan os.Signal, 2),
		log:      &syncBuffer{},
		done:     make(chan error, 1),
	}
	sup, err := NewSupervisor(SupervisorConfig{
		Path:       self,
		Env:        env,
		MinBackoff: 10 * time.Millisecond,
		Stdout:     &lineWriter{lines: s.lines},
		Stderr:     io.Discard,
		Signals:    s.signals,
		Orphaned: func(_ context.Context, job JobRef) error {
			s.orphaned <- job
			return nil
		},
		Logger: slog.New(slog.NewTextHandler(s.log, nil)),
	})
	if err != nil {
		t.Fatalf("NewSupervisor: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	t.Cleanup(cancel)
	go func() { s.done <- sup.Run(ctx) }()
	return s
}

// expect waits for the worker to print a line starting with prefix.
func (s *supervised) expect(t *testing.T, prefix string) string {
	t.Helper()

	for {
		select {
		case line := <-s.lines:
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("worker never printed %q; log:\n%s", prefix, s.log)
		}
	}
}

// wait returns what Run returned.
func (s *supervised) wait(t *testing.T) error {
	t.Helper()

	select {
	case err := <-s.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("supervisor did not return; log:\n%s", s.log)
		return nil
	}
}

func TestSupervisorRestartsRecycledAndCrashedWorkers(t *testing.T) {
	t.Parallel()

	s := startSupervised(t, "recycle,crash,drain")
	s.expect(t, "start 0 recycle")
	s.expect(t, "start 1 crash")
	s.expect(t, "start 2 drain")
	s.cancel()
	s.expect(t, "drained after terminated")

	if err := s.wait(t); err != nil {
		t.Fatalf("Run = %v, want nil after a clean drain", err)
	}
	log := s.log.String()
	for _, want := range []string{
		`msg="worker recycled, starting a fresh one"`,
		`msg="worker died"`,
		`status="exit code 3"`,
		`out of luck: the model file is gone`,
	} {
		if !strings.Contains(log, want) {
			t.Fatalf("log lacks %s:\n%s", want, log)
		}
	}
}

func TestSupervisorStopsOnAWorkerThatRefusesItsConfiguration(t *testing.T) {
	t.Parallel()

	s := startSupervised(t, "badconfig,drain")
	s.expect(t, "start 0 badconfig")

	err := s.wait(t)
	var cfgErr *ConfigError
	if !errors.As(err, &cfgErr) {
		t.Fatalf("Run = %v, want a *ConfigError", err)
	}
	if !strings.Contains(err.Error(), "reading DERMQ_MODEL: no such file") {
		t.Fatalf("Run's error %q lacks the worker's message", err)
	}
	if strings.Contains(s.log.String(), "worker died") {
		t.Fatalf("supervisor restarted a misconfigured worker:\n%s", s.log)
	}
}

func TestSupervisorReportsAWorkerKilledByASignal(t *testing.T) {
	t.Parallel()

	s := startSupervised(t, "sigkill,drain")
	s.expect(t, "start 1 drain")
	s.signals <- syscall.SIGINT
	s.expect(t, "drained after interrupt")

	if err := s.wait(t); err != nil {
		t.Fatalf("Run = %v, want nil after a clean drain", err)
	}
	if log := s.log.String(); !strings.Contains(log, `status="killed by signal killed"`) {
		t.Fatalf("log does not name the signal:\n%s", log)
	}
}

func TestSupervisorReleasesTheJobADeadWorkerHeld(t *testing.T) {
	t.Parallel()

	s := startSupervised(t, "hold,drain")
	s.expect(t, "start 1 drain")
	s.cancel()

	if err := s.wait(t); err != nil {
		t.Fatalf("Run = %v, want nil after a clean drain", err)
	}
	close(s.orphaned)
	var got []JobRef
	for job := range s.orphaned {
		got = append(got, job)
	}
	if want := (JobRef{Queue: "predict", ID: "held-job"}); len(got) != 1 || got[0] != want {
		t.Fatalf("orphaned jobs = %v, want [%v]", got, want)
	}
}

func TestSupervisorKillsAWorkerOnTheSecondSignal(t *testing.T) {
	t.Parallel()

	s := startSupervised(t, "stubborn")
	s.expect(t, "start 0 stubborn")
	s.signals <- syscall.SIGTERM
	s.signals <- syscall.SIGTERM

	err := s.wait(t)
	if err == nil || !strings.Contains(err.Error(), "killed by signal killed") {
		t.Fatalf("Run = %v, want the worker killed", err)
	}
}

func TestSupervisorGivesTheWorkerLeanHeapTunables(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"unset tunables get the lean setting", nil, LeanHeapTunables},
		{"tunables already set are kept", []string{"GLIBC_TUNABLES=glibc.malloc.arena_max=1"},
			"glibc.malloc.arena_max=1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			s := startSupervised(t, "drain", c.env...)
			line := s.expect(t, "start 0 drain")
			s.cancel()

			if got := strings.TrimPrefix(strings.Fields(line)[3], "tunables="); got != c.want {
				t.Fatalf("child GLIBC_TUNABLES = %q, want %q", got, c.want)
			}
			if err := s.wait(t); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

func TestSupervisorBackoff(t *testing.T) {
	t.Parallel()

	s, err := NewSupervisor(SupervisorConfig{Path: "worker"})
	if err != nil {
		t.Fatalf("NewSupervisor: %v", err)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i, w := range want {
		if got := s.backoff(i + 1); got != w*time.Second {
			t.Fatalf("backoff(%d) = %v, want %v", i+1, got, w*time.Second)
		}
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	t.Parallel()

	b := newTailBuffer(16)
	w := bufio.NewWriterSize(b, 5)
	for i := range 40 {
		fmt.Fprint(w, strconv.Itoa(i%10))
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}

	if got, want := b.String(), "4567890123456789"; got != want {
		t.Fatalf("tail = %q, want %q", got, want)
	}
}
