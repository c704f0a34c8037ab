package main

import (
	"os/exec"
	"regexp"
	"strconv"
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
