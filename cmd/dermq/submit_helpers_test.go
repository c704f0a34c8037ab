package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// submitTestDB is the Redis database of the submit integration test.
const submitTestDB = 8

// submitTestRedis returns REDIS_URL (default redis://localhost:6379) with
// the test's database, flushed. Without Redis the test fails in CI and is
// skipped elsewhere.
func submitTestRedis(t testing.TB) string {
	t.Helper()

	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		raw = "redis://localhost:6379"
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("parsing REDIS_URL: %v", err)
	}
	opts.DB = submitTestDB
	rdb := redis.NewClient(opts)
	defer rdb.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis at %s is required in CI: %v", opts.Addr, err)
		}
		t.Skipf("redis at %s unreachable: %v", opts.Addr, err)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("flushing the test database: %v", err)
	}

	u, _ := url.Parse(raw)
	u.Path = "/" + strconv.Itoa(submitTestDB)
	return u.String()
}

// startDermq runs `dermq web` and `dermq worker` on the test database and
// returns the web server's URL once it answers, and both processes.
func startDermq(t testing.TB, bin, redisURL string) (base string, web, worker *exec.Cmd) {
	t.Helper()

	port := freePort(t)
	env := append(os.Environ(), "REDIS_URL="+redisURL, "PORT="+port,
		"DERMQ_MODEL="+filepath.Join(repoRoot(t), "models", "demo.onnx"),
		"DERMQ_WEBHOOK_SECRET=whsec_"+"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"DERMQ_WEBHOOK_ALLOW=127.0.0.1", "DERMQ_LOG_LEVEL=warn")
	web = startProcess(t, bin, env, "web")
	worker = startProcess(t, bin, env, "worker", "--no-supervise")

	base = "http://127.0.0.1:" + port
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, web, worker
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("dermq web did not answer on %s", base)
	return "", nil, nil
}

// startProcess starts one dermq process and stops it with SIGTERM when the
// test ends; its output is shown when the test failed.
func startProcess(t testing.TB, bin string, env []string, args ...string) *exec.Cmd {
	t.Helper()

	var logs lockedBuffer
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dermq %s: %v", args[0], err)
	}

	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("dermq %s output:\n%s", args[0], logs.String())
		}
	})

	return cmd
}

// lockedBuffer is a buffer two writers can share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freePort finds a loopback port nobody listens on.
func freePort(t testing.TB) string {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()

	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// generatedImage draws a small picture (64 to 256 pixels a side) that
// differs for each n: a blotch on a skin-like background with noise.
func generatedImage(t testing.TB, n int) []byte {
	t.Helper()

	rng := rand.New(rand.NewPCG(uint64(n), 7))
	w, h := 64+rng.IntN(193), 64+rng.IntN(193)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cx, cy, r := w/2+rng.IntN(w/4), h/2-rng.IntN(h/4), 10+rng.IntN(min(w, h)/3)
	for y := range h {
		for x := range w {
			c := color.RGBA{R: 200, G: 150, B: 120, A: 255}
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) < r*r {
				c = color.RGBA{R: 90, G: 50, B: 40, A: 255}
			}
			c.R += uint8(rng.IntN(20))
			img.Set(x, y, c)
		}
	}

	var buf bytes.Buffer
	var err error
	if n%5 == 0 {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	}
	if err != nil {
		t.Fatalf("encoding image %d: %v", n, err)
	}

	return buf.Bytes()
}

// exitCode turns a finished command's error into its exit code.
func exitCode(t testing.TB, err error) int {
	t.Helper()

	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("running dermq submit: %v", err)
	return -1
}

// batchOf reads the batch id from the state file.
func batchOf(t testing.TB, out string) string {
	t.Helper()

	f, err := os.Open(filepath.Join(out, stateFileName))
	if err != nil {
		t.Fatalf("opening the state file: %v", err)
	}
	defer f.Close()

	var head stateRecord
	if err := json.NewDecoder(f).Decode(&head); err != nil || head.Batch == "" {
		t.Fatalf("reading the state file's header: %+v, %v", head, err)
	}

	return head.Batch
}

// readResultsCSV reads results.csv into rows keyed by column name.
func readResultsCSV(t testing.TB, name string) []map[string]string {
	t.Helper()

	f, err := os.Open(name)
	if err != nil {
		t.Fatalf("opening results.csv: %v", err)
	}
	defer f.Close()

	records, err := csv.NewReader(f).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("reading results.csv: %v", err)
	}

	rows := make([]map[string]string, 0, len(records)-1)
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, col := range records[0] {
			row[col] = rec[i]
		}
		rows = append(rows, row)
	}

	return rows
}
