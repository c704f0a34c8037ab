package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dermq/dermq/jobs"
)

// runDermq runs the dermq binary with args and extra environment, and
// returns its exit code and stderr. A command still running after a minute
// fails the test: a bad setting must stop dermq at once.
func runDermq(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, dermqTestBinary(t), args...)
	cmd.Env = append(cmd.Environ(), env...)
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr

	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("dermq %v was still running after a minute:\n%s", args, stderr.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running dermq %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

func TestABadWorkerSettingStopsDermqBeforeItStarts(t *testing.T) {
	t.Parallel()

	missing := []string{"DERMQ_MODEL=/nonexistent/model.onnx"}
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"run with a missing model in DERMQ_MODEL", missing, []string{"run"}, "DERMQ_MODEL"},
		{"run with a missing model in --model", nil,
			[]string{"run", "--model", "/nonexistent/model.onnx"}, "--model"},
		{"a supervised worker with a missing model", missing, []string{"worker"}, "DERMQ_MODEL"},
		{"run with an unreadable max-rss", nil, []string{"run", "--max-rss", "lots"},
			"--max-rss"},
		{"run with hard-rss below max-rss", nil,
			[]string{"run", "--hard-rss", "100MB", "--max-rss", "400MB"}, "--hard-rss"},
		{"run with a negative concurrency", nil, []string{"run", "--concurrency", "-3"},
			"--concurrency"},
		{"run with an unreadable idle-unload", nil, []string{"run", "--idle-unload", "xyz"},
			"--idle-unload"},
		{"run with an unreadable cpu-arena", nil, []string{"run", "--cpu-arena", "maybe"},
			"--cpu-arena"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			env := append([]string{"PORT=0", "REDIS_URL="}, c.env...)
			code, stderr := runDermq(t, env, c.args...)
			if code == exitOK {
				t.Fatalf("dermq %v exited 0, want a failure; stderr:\n%s", c.args, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Fatalf("dermq %v's stderr does not name %s:\n%s", c.args, c.want, stderr)
			}
		})
	}
}

func TestAnUnsupervisedWorkerExitsWithTheConfigurationCode(t *testing.T) {
	t.Parallel()

	code, stderr := runDermq(t, []string{"DERMQ_MODEL=/nonexistent/model.onnx"},
		"worker", "--no-supervise")
	if code != jobs.ExitConfig {
		t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, jobs.ExitConfig, stderr)
	}
	if !strings.Contains(stderr, "DERMQ_MODEL") {
		t.Fatalf("stderr does not name DERMQ_MODEL:\n%s", stderr)
	}
}

func TestMaxRetryMustOutlastTheCrashLimit(t *testing.T) {
	t.Parallel()

	least := jobs.CrashLimit + 1
	cases := []struct {
		name  string
		value int
		ok    bool
	}{
		{"zero is refused rather than read as the default", 0, false},
		{"one retry per crash is refused", jobs.CrashLimit, false},
		{"one retry more than the crash limit is taken", least, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			fs := flag.NewFlagSet("web", flag.ContinueOnError)
			cfg := newConfig(fs, "test", webVars...)
			if err := fs.Parse([]string{"--max-retry", strconv.Itoa(c.value)}); err != nil {
				t.Fatalf("parsing: %v", err)
			}

			n, err := readMaxRetry(cfg)
			if c.ok && (err != nil || n != c.value) {
				t.Fatalf("readMaxRetry = %d, %v; want %d", n, err, c.value)
			}
			if !c.ok && (err == nil || !strings.Contains(err.Error(), "--max-retry")) {
				t.Fatalf("readMaxRetry = %d, %v; want an error naming --max-retry", n, err)
			}
		})
	}
}
