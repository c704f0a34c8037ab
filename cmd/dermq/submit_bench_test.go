package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dermq/dermq/inference"
)

// BenchmarkSubmitBatch submits folders of generated images (64 to 256
// pixels a side), and one of the shared test photos under 300 KB (256x192
// to 2304x1536) copied under 1000 names, with the built binary to a real
// web process and a real worker running the demo model, and reports:
//
//   - batch_img/s: images over the batch's life on the server, from
//     creation to the last image ended;
//   - cli_img/s: images over the whole `dermq submit --wait`, including
//     writing results and downloading every heatmap;
//   - engine_img/s: the worker's pure speed: images over the sum of the
//     model's own time per image (decode, inference, Grad-CAM, rendering),
//     as the worker measured it during the same run;
//   - worker_img/s: images over the sum of each prediction's time in the
//     worker, from started to completed (adds reading the upload and
//     storing the result);
//   - efficiency_%: batch_img/s over engine_img/s, what the pipeline keeps
//     of the worker's pure speed;
//   - cli_rss_MB and web_rss_MB: peak resident memory of the CLI and of the
//     web process.
//
// Run it alone: go test -run '^$' -bench BenchmarkSubmitBatch -benchtime 1x
// ./cmd/dermq
func BenchmarkSubmitBatch(b *testing.B) {
	cases := []struct {
		name   string
		n      int
		folder func(*testing.B, int) string
	}{
		{"images=250", 250, writeGeneratedFolder},
		{"images=1000", 1000, writeGeneratedFolder},
		{"photos=1000", 1000, writePhotoFolder},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) { benchSubmit(b, bc.n, bc.folder(b, bc.n)) })
	}
}

func benchSubmit(b *testing.B, n int, dir string) {
	redisURL := submitTestRedis(b)
	bin := buildDermq(b)
	server, web, _ := startDermq(b, bin, redisURL)

	var batchRate, cliRate, cliRSS float64
	var spent workerTime
	var life batchTimes
	b.ResetTimer()
	for range b.N {
		out := filepath.Join(b.TempDir(), "out")
		start := time.Now()
		cliRSS = runMeasured(b, bin, "submit", dir, "--server", server, "--out", out,
			"--wait", "--poll", "100ms")

		cliRate = float64(n) / time.Since(start).Seconds()
		life = batchLife(b, server, batchOf(b, out))
		batchRate = float64(n) / life.completed.Sub(life.created).Seconds()
		spent = timeInWorker(b, server, out)
	}
	b.StopTimer()

	busy := spent.last.Sub(spent.first)
	b.ReportMetric(ms(spent.first.Sub(life.created)), "start_lag_ms")
	b.ReportMetric(ms(life.completed.Sub(spent.last)), "end_lag_ms")
	b.ReportMetric(ms(busy-spent.handler)/float64(n), "gap_ms/img")
	engine := float64(n) / spent.engine.Seconds()
	b.ReportMetric(batchRate, "batch_img/s")
	b.ReportMetric(cliRate, "cli_img/s")
	b.ReportMetric(engine, "engine_img/s")
	b.ReportMetric(float64(n)/spent.handler.Seconds(), "worker_img/s")
	b.ReportMetric(100*batchRate/engine, "efficiency_%")
	b.ReportMetric(cliRSS, "cli_rss_MB")
	b.ReportMetric(peakRSS(b, web.Process.Pid), "web_rss_MB")
}

// runMeasured runs the binary to its end and returns its peak resident
// memory in MB, sampled from /proc while it runs. (The rusage of a child
// started from this process would carry this process's own peak across the
// exec.)
func runMeasured(b *testing.B, bin string, args ...string) float64 {
	b.Helper()

	var output lockedBuffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting dermq: %v", err)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	peak := 0.0
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				b.Fatalf("dermq %s: %v\n%s", args[0], err, output.String())
			}
			return peak
		case <-tick.C:
			if rss, ok := readPeakRSS(cmd.Process.Pid); ok {
				peak = max(peak, rss)
			}
		}
	}
}

// workerTime sums where the worker spent its time on a batch's images.
type workerTime struct {
	// engine is the model's own time: decode, inference, Grad-CAM, render.
	engine time.Duration
	// handler is each prediction's time from started to completed.
	handler time.Duration
	// first and last are when the first image started and the last ended.
	first, last time.Time
}

// timeInWorker reads every prediction of the batch written to out and sums
// its timings.
func timeInWorker(b *testing.B, server, out string) workerTime {
	b.Helper()

	var spent workerTime
	for _, row := range readResultsCSV(b, filepath.Join(out, "results.csv")) {
		p := getPrediction(b, server, row["id"])
		t := p.Output.Timings
		ms := t.DecodeMS + t.InferenceMS + t.GradCAMMS + t.RenderMS
		spent.engine += time.Duration(ms * float64(time.Millisecond))
		spent.handler += p.CompletedAt.Sub(p.StartedAt)
		if spent.first.IsZero() || p.StartedAt.Before(spent.first) {
			spent.first = p.StartedAt
		}
		if p.CompletedAt.After(spent.last) {
			spent.last = p.CompletedAt
		}
	}

	return spent
}

// benchPrediction is the part of a prediction the benchmark reads.
type benchPrediction struct {
	StartedAt   time.Time `json:"started_at"`
	CompletedAt time.Time `json:"completed_at"`
	Output      struct {
		Timings inference.Timings `json:"timings_ms"`
	} `json:"output"`
}

// getPrediction reads one prediction from the API.
func getPrediction(b *testing.B, server, id string) benchPrediction {
	b.Helper()

	resp, err := http.Get(server + "/api/v1/predictions/" + id)
	if err != nil {
		b.Fatalf("reading prediction %s: %v", id, err)
	}
	defer resp.Body.Close()

	var p benchPrediction
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		b.Fatalf("decoding prediction %s: %v", id, err)
	}

	return p
}

// writeGeneratedFolder writes n generated images into nested folders.
func writeGeneratedFolder(b *testing.B, n int) string {
	b.Helper()

	dir := filepath.Join(b.TempDir(), "photos")
	for i := range n {
		name := fmt.Sprintf("set%d/day%d/img%04d.jpg", i%10, i%7, i)
		if i%5 == 0 {
			name = strings.TrimSuffix(name, ".jpg") + ".png"
		}
		writeTestFile(b, filepath.Join(dir, name), generatedImage(b, i))
	}

	return dir
}

// writePhotoFolder copies the small shared test photos under n names in
// nested folders.
func writePhotoFolder(b *testing.B, n int) string {
	b.Helper()

	dir := filepath.Join(b.TempDir(), "photos")
	for i, src := range testPhotos(b, n) {
		data, err := os.ReadFile(src)
		if err != nil {
			b.Fatalf("reading %s: %v", src, err)
		}
		name := fmt.Sprintf("set%d/img%04d%s", i%10, i, filepath.Ext(src))
		writeTestFile(b, filepath.Join(dir, name), data)
	}

	return dir
}

// batchTimes are when a batch was created and completed.
type batchTimes struct {
	created, completed time.Time
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// batchLife reads when a completed batch was created and completed.
func batchLife(b *testing.B, server, id string) batchTimes {
	b.Helper()

	resp, err := http.Get(server + "/api/v1/batches/" + id + "?page_size=0")
	if err != nil {
		b.Fatalf("reading the batch: %v", err)
	}
	defer resp.Body.Close()

	var batch struct {
		CreatedAt   time.Time  `json:"created_at"`
		CompletedAt *time.Time `json:"completed_at"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&batch); err != nil || batch.CompletedAt == nil {
		b.Fatalf("decoding the batch: %+v, %v", batch, err)
	}

	return batchTimes{created: batch.CreatedAt, completed: *batch.CompletedAt}
}

// peakRSS reads a running process's peak resident memory in MB.
func peakRSS(b *testing.B, pid int) float64 {
	b.Helper()

	rss, ok := readPeakRSS(pid)
	if !ok {
		b.Fatalf("no peak memory in /proc/%d/status", pid)
	}

	return rss
}

// readPeakRSS reads VmHWM from /proc, in MB.
func readPeakRSS(pid int) (float64, bool) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024, err == nil
		}
	}

	return 0, false
}
