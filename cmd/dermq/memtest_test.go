package main

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dermq/dermq/inference"
)

// memtestFigures are the memtest lines about file pages.
type memtestFigures struct {
	fileAfterLoad float64 // MB of file pages resident after the load
	dropped       float64 // MB of file pages a release dropped, median
}

var (
	fileAfterLoadLine = regexp.MustCompile(`of which +[0-9.]+ MB anonymous, ([0-9.]+) MB file`)
	droppedLine       = regexp.MustCompile(`file pages dropped ([0-9.]+) MB`)
)

// memtestDemo runs dermq memtest with the demo model on one photo.
func memtestDemo(t *testing.T, env predictEnv, args ...string) memtestFigures {
	t.Helper()

	args = append([]string{"memtest", "--model", env.model, "--runs", "2",
		"--max-time", "60s"}, args...)
	args = append(args, env.photo("dermoscopy_isic_0000000_1022x767.jpg"))
	out, err := exec.Command(env.bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dermq memtest: %v\n%s", err, out)
	}

	var f memtestFigures
	m := fileAfterLoadLine.FindSubmatch(out)
	d := droppedLine.FindSubmatch(out)
	if m == nil || d == nil {
		t.Fatalf("no file pages figures in the report:\n%s", out)
	}
	f.fileAfterLoad, _ = strconv.ParseFloat(string(m[1]), 64)
	f.dropped, _ = strconv.ParseFloat(string(d[1]), 64)
	return f
}

func TestMemtestReleasesFilePagesLikeTheWorker(t *testing.T) {
	t.Parallel()
	if _, err := inference.FindLibrary(""); err != nil {
		needOrOut(t, "no ONNX Runtime library: %v", err)
	}
	env := newPredictEnv(t)

	kept := memtestDemo(t, env, "--release-files=false")
	released := memtestDemo(t, env)

	t.Logf("file pages after the load: %.1f MB kept, %.1f MB released (%.1f MB dropped "+
		"per prediction)", kept.fileAfterLoad, released.fileAfterLoad, released.dropped)
	if kept.dropped != 0 {
		t.Fatalf("--release-files=false dropped %.1f MB of file pages, want none", kept.dropped)
	}
	if released.dropped <= 0 {
		t.Fatalf("the release after a prediction dropped no file pages")
	}
	if released.fileAfterLoad > kept.fileAfterLoad/2 {
		t.Fatalf("%.1f MB of file pages after the load with the release, want under half "+
			"of the %.1f MB without", released.fileAfterLoad, kept.fileAfterLoad)
	}
}

// TestMemtestWarnsAndExitsNonZeroPastALimit is what a deploy script relies
// on: every figure is reported, and a figure past a limit prints a WARNING
// and exits with exitMemoryWarning.
func TestMemtestWarnsAndExitsNonZeroPastALimit(t *testing.T) {
	t.Parallel()
	if _, err := inference.FindLibrary(""); err != nil {
		needOrOut(t, "no ONNX Runtime library: %v", err)
	}
	env := newPredictEnv(t)
	photo := env.photo("dermoscopy_isic_0000000_1022x767.jpg")
	lines := []string{"rss before load", "rss after load", "peak rss during the load",
		"peak rss during a job", "added rss per prediction", "time per prediction"}

	for _, limit := range []string{"1GB", "1MB"} {
		cmd := exec.Command(env.bin, "memtest", "--model", env.model, "--runs", "2",
			"--max-time", "60s", "--max-rss", limit, "--hard-rss", "2GB", photo)
		out, err := cmd.CombinedOutput()
		for _, line := range lines {
			if !strings.Contains(string(out), line) {
				t.Fatalf("--max-rss %s: no %q line in the report:\n%s", limit, line, out)
			}
		}

		warned := strings.Contains(string(out), "WARNING")
		code := cmd.ProcessState.ExitCode()
		switch limit {
		case "1GB":
			if err != nil || warned {
				t.Fatalf("--max-rss 1GB: exit %d, warning %t, want 0 and none:\n%s",
					code, warned, out)
			}
		default:
			if code != exitMemoryWarning || !warned {
				t.Fatalf("--max-rss 1MB: exit %d, warning %t, want %d and a WARNING:\n%s",
					code, warned, exitMemoryWarning, out)
			}
		}
	}
}
