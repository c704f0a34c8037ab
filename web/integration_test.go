package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dermq/dermq/inference"
	"github.com/dermq/dermq/jobs"
	"github.com/redis/go-redis/v9"
)

// integrationDB is the Redis database of this package's tests against a
// real Redis.
const integrationDB = 9

// stack is the whole service in one test process: the web app on a
// loopback port and a worker with the real model, over a real Redis.
type stack struct {
	base   string
	client *http.Client
}

// requireOrSkip fails the test in CI and skips it elsewhere.
func requireOrSkip(t testing.TB, format string, args ...any) {
	t.Helper()

	if os.Getenv("CI") != "" {
		t.Fatalf(format+" (required in CI)", args...)
	}
	t.Skipf(format, args...)
}

func integrationRedis(t testing.TB) *redis.Client {
	t.Helper()

	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://localhost:6379"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parsing REDIS_URL: %v", err)
	}
	opts.DB = integrationDB
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		requireOrSkip(t, "redis at %s unreachable: %v", opts.Addr, err)
	}
	lockDB(t, opts)
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flushing test database: %v", err)
	}

	return rdb
}

func realEngine(t testing.TB) *inference.Engine {
	t.Helper()

	model := filepath.Join(repoRoot(t), "models", "demo.onnx")
	library, err := inference.EnsureLibrary(context.Background(), slog.Default())
	if err != nil {
		requireOrSkip(t, "onnx runtime missing: %v", err)
	}
	engine, err := inference.NewEngine(inference.Options{ModelPath: model,
		LibraryPath: library})
	if errors.Is(err, inference.ErrLibraryNotFound) {
		requireOrSkip(t, "onnx runtime missing: %v", err)
	}
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() { _ = engine.Close() })

	return engine
}

// startStack runs web and worker until the test ends.
func startStack(t testing.TB, predictor jobs.Predictor) *stack {
	t.Helper()

	rdb := integrationRedis(t)
	logger := slog.New(slog.DiscardHandler)
	store := jobs.NewStore(rdb, jobs.StoreConfig{Retention: time.Hour})
	worker := jobs.NewWorker(rdb, jobs.WorkerConfig{Logger: logger})
	worker.Handle(jobs.TypePredict, jobs.NewHandler(store, predictor, logger))
	if err := worker.Start(context.Background()); err != nil {
		t.Fatalf("starting worker: %v", err)
	}
	t.Cleanup(worker.Shutdown)

	enqueuer := jobs.NewEnqueuer(rdb, store, jobs.EnqueuerConfig{Logger: logger})
	app, err := New(Config{Predictions: enqueuer, Logger: logger})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	return &stack{base: "http://" + ln.Addr().String(), client: &http.Client{Timeout: time.Minute}}
}

// apiAnswer is a JSON answer of the API: a prediction or an error.
type apiAnswer struct {
	status int
	view   view
	err    errorDetail
}

func (s *stack) post(t testing.TB, name string, data []byte) apiAnswer {
	t.Helper()

	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", name)
	_, _ = part.Write(data)
	_ = w.Close()

	resp, err := s.client.Post(s.base+"/api/v1/predictions", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatalf("posting %s: %v", name, err)
	}

	return readAnswer(t, resp)
}

func (s *stack) get(t testing.TB, url string) apiAnswer {
	t.Helper()

	resp, err := s.client.Get(url)
	if err != nil {
		t.Fatalf("getting %s: %v", url, err)
	}

	return readAnswer(t, resp)
}

func readAnswer(t testing.TB, resp *http.Response) apiAnswer {
	t.Helper()
	defer resp.Body.Close()

	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	a := apiAnswer{status: resp.StatusCode}
	if resp.StatusCode >= 400 {
		var body errorBody
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("decoding error answer %q: %v", raw, err)
		}
		a.err = body.Error
		return a
	}
	if err := json.Unmarshal(raw, &a.view); err != nil {
		t.Fatalf("decoding answer %q: %v", raw, err)
	}

	return a
}

// wait polls a prediction until it finishes.
func (s *stack) wait(t testing.TB, v view) view {
	t.Helper()

	deadline := time.After(2 * time.Minute)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-deadline:
			t.Fatalf("prediction %s still %s after 2 minutes", v.ID, v.Status)
		case <-tick.C:
		}

		a := s.get(t, v.URLs.Get)
		if a.status != http.StatusOK {
			t.Fatalf("GET %s = %d %+v", v.URLs.Get, a.status, a.err)
		}
		if a.view.Status.Terminal() {
			return a.view
		}
	}
}

// imageSize fetches an image resource and returns its format and size.
func (s *stack) imageSize(t testing.TB, url string) (string, string, image.Point) {
	t.Helper()

	resp, err := s.client.Get(url)
	if err != nil {
		t.Fatalf("getting %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}

	cfg, format, err := image.DecodeConfig(resp.Body)
	if err != nil {
		t.Fatalf("decoding %s: %v", url, err)
	}

	return resp.Header.Get("Content-Type"), format, image.Pt(cfg.Width, cfg.Height)
}

// displaySize is the size of an image of w x h with its longest side
// capped at 1024.
func displaySize(w, h int) image.Point {
	longest := max(w, h)
	if longest <= inference.DefaultDisplaySize {
		return image.Pt(w, h)
	}

	scale := float64(inference.DefaultDisplaySize) / float64(longest)
	return image.Pt(int(float64(w)*scale+0.5), int(float64(h)*scale+0.5))
}

func closeTo(got, want image.Point) bool {
	dx, dy := got.X-want.X, got.Y-want.Y
	return dx >= -1 && dx <= 1 && dy >= -1 && dy <= 1 && max(got.X, got.Y) == max(want.X, want.Y)
}

func sharedFiles(t testing.TB, folder string) []string {
	t.Helper()

	entries, err := os.ReadDir(filepath.Join(sharedData(t), folder))
	if err != nil {
		t.Fatalf("listing %s: %v", folder, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}

	return names
}

func describe(a apiAnswer) string {
	return fmt.Sprintf("%d %s: %s", a.status, a.err.Code, a.err.Message)
}
