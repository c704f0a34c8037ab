package web

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dermq/dermq/inference"
	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// batchTestDB is the Redis database of this file's tests. They share it
// (every key carries a random batch or prediction id); it is flushed once
// per run so tasks queued by an earlier run do not pile up.
const batchTestDB = 7

var flushBatchDB sync.Once

// batchTestApp is one test's web app over real Redis.
type batchTestApp struct {
	app     *fiber.App
	rdb     *redis.Client
	enq     *jobs.Enqueuer
	store   *jobs.Store
	batches *jobs.Batches
}

func newBatchTestApp(t *testing.T) *batchTestApp {
	t.Helper()

	rdb := batchTestRedis(t)
	logger := slog.New(slog.DiscardHandler)
	store := jobs.NewStore(rdb, jobs.StoreConfig{Retention: time.Hour})
	enq := jobs.NewEnqueuer(rdb, store, jobs.EnqueuerConfig{Logger: logger})
	batches := jobs.NewBatches(enq, jobs.BatchesConfig{Logger: logger})

	app, err := New(Config{Predictions: enq, Batches: batches, Logger: logger})
	if err != nil {
		t.Fatalf("building app: %v", err)
	}

	return &batchTestApp{app: app, rdb: rdb, enq: enq, store: store, batches: batches}
}

// batchTestRedis connects to REDIS_URL (default redis://localhost:6379) on
// batchTestDB. Without Redis the test fails in CI and is skipped elsewhere.
func batchTestRedis(t *testing.T) *redis.Client {
	t.Helper()

	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://localhost:6379"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parsing REDIS_URL: %v", err)
	}
	opts.DB = batchTestDB
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis at %s is required in CI: %v", opts.Addr, err)
		}
		t.Skipf("redis at %s unreachable: %v", opts.Addr, err)
	}
	flushBatchDB.Do(func() { rdb.FlushDB(ctx) })

	return rdb
}

// do sends a request to the app and decodes a JSON answer into out.
func (a *batchTestApp) do(t *testing.T, req *http.Request, want int, out any) {
	t.Helper()

	resp, err := a.app.Test(req, 30_000)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()

	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", req.Method, req.URL, resp.StatusCode, body, want)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("decoding %s: %v", body, err)
		}
	}
}

// createBatch makes a batch through the API.
func (a *batchTestApp) createBatch(t *testing.T) string {
	t.Helper()

	var b struct{ ID string }
	req := httptest.NewRequest(http.MethodPost, "/api/v1/batches", nil)
	a.do(t, req, fiber.StatusCreated, &b)

	return b.ID
}

// tinyPNG encodes a small image whose bytes differ with n.
func tinyPNG(t *testing.T, n int) []byte {
	t.Helper()

	img := image.NewGray(image.Rect(0, 0, 24, 24))
	for i := range img.Pix {
		img.Pix[i] = byte(i*7 + n*31)
	}

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatalf("encoding png: %v", err)
	}

	return buf.Bytes()
}

// zipEntry is one entry of a test zip.
type zipEntry struct {
	name string
	mode os.FileMode
	data []byte
}

// makeZip builds a zip holding entries exactly as named, however unsafe.
func makeZip(t *testing.T, entries []zipEntry) []byte {
	t.Helper()

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("adding %s: %v", e.name, err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("closing zip: %v", err)
	}

	return buf.Bytes()
}

// uploadAnswer decodes the answer to an images upload.
type uploadAnswer struct {
	Items   []jobs.BatchItem
	Refused []struct {
		Path  string
		Error jobs.ErrorInfo
	}
	Skipped []string
}

func TestBatchZipUploadRefusesEscapes(t *testing.T) {
	t.Parallel()

	a := newBatchTestApp(t)
	id := a.createBatch(t)
	img := tinyPNG(t, 1)
	archive := makeZip(t, []zipEntry{
		{"clinic/a.png", 0o644, img},
		{"../evil.png", 0o644, img},
		{"clinic/../../evil2.png", 0o644, img},
		{"/etc/evil3.png", 0o644, img},
		{`..\evil4.png`, 0o644, img},
		{"link.png", os.ModeSymlink | 0o777, []byte("/etc/passwd")},
		{"__MACOSX/clinic/._a.png", 0o644, []byte("resource fork")},
		{"clinic/.hidden.png", 0o644, img},
		{"clinic/", os.ModeDir | 0o755, nil},
	})

	req := httptest.NewRequest(http.MethodPost, "/api/v1/batches/"+id+"/images",
		bytes.NewReader(archive))
	req.Header.Set("Content-Type", "application/zip")
	var got uploadAnswer
	a.do(t, req, fiber.StatusAccepted, &got)

	t.Run("only the safe entry is added", func(t *testing.T) {
		if len(got.Items) != 1 || got.Items[0].Path != "clinic/a.png" {
			t.Fatalf("items = %+v, want clinic/a.png alone", got.Items)
		}
		items, _, err := a.batches.Items(context.Background(), id, 0, 100)
		if err != nil || len(items) != 1 || items[0].Path != "clinic/a.png" {
			t.Fatalf("batch items = %+v, %v; want clinic/a.png alone", items, err)
		}
	})

	t.Run("escaping names and links are refused with the reason", func(t *testing.T) {
		want := map[string]string{
			"../evil.png": "bad_path", "clinic/../../evil2.png": "bad_path",
			"/etc/evil3.png": "bad_path", `..\evil4.png`: "bad_path", "link.png": "symlink",
		}
		refused := map[string]string{}
		for _, r := range got.Refused {
			refused[r.Path] = r.Error.Code
		}
		if len(refused) != len(want) {
			t.Fatalf("refused = %v, want %v", refused, want)
		}
		for name, code := range want {
			if refused[name] != code {
				t.Fatalf("refused[%q] = %q, want %q", name, refused[name], code)
			}
		}
	})

	t.Run("hidden files and macOS metadata are skipped", func(t *testing.T) {
		want := []string{"__MACOSX/clinic/._a.png", "clinic/.hidden.png"}
		if !slices.Equal(got.Skipped, want) {
			t.Fatalf("skipped = %q, want %q", got.Skipped, want)
		}
	})
}

func TestBatchMultipartUpload(t *testing.T) {
	t.Parallel()

	a := newBatchTestApp(t)
	id := a.createBatch(t)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	files := map[string][]byte{
		"a/1.png": tinyPNG(t, 2), "a/b/2.png": tinyPNG(t, 3),
		"../3.png": tinyPNG(t, 4), "notes.png": []byte("plain text, not a picture"),
	}
	for _, name := range []string{"a/1.png", "a/b/2.png", "../3.png", "notes.png"} {
		w, err := mw.CreateFormFile(name, filepath.Base(name))
		if err != nil {
			t.Fatalf("creating part: %v", err)
		}
		w.Write(files[name])
	}
	mw.WriteField("comment", "a text field is ignored")
	mw.Close()

	send := func(t *testing.T) uploadAnswer {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/batches/"+id+"/images",
			bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		var got uploadAnswer
		a.do(t, req, fiber.StatusAccepted, &got)
		return got
	}
	first := send(t)

	t.Run("every file part becomes an item named by its path", func(t *testing.T) {
		var paths []string
		for _, it := range first.Items {
			paths = append(paths, it.Path)
		}
		if !slices.Equal(paths, []string{"a/1.png", "a/b/2.png", "notes.png"}) {
			t.Fatalf("items = %q", paths)
		}
		if len(first.Refused) != 1 || first.Refused[0].Path != "../3.png" {
			t.Fatalf("refused = %+v, want ../3.png", first.Refused)
		}
	})

	t.Run("a non-image fails at once with the reason", func(t *testing.T) {
		bad := first.Items[2]
		if bad.Status != jobs.StatusFailed || bad.Error == nil || bad.Error.Message == "" {
			t.Fatalf("notes.png = %+v, want failed with a message", bad)
		}
	})

	t.Run("sending the same form again adds nothing", func(t *testing.T) {
		again := send(t)
		for i, it := range again.Items {
			if !it.Duplicate || it.ID != first.Items[i].ID {
				t.Fatalf("item %d = %+v, want duplicate of %s", i, it, first.Items[i].ID)
			}
		}
		b, err := a.batches.Get(context.Background(), id)
		if err != nil || b.Total != 3 {
			t.Fatalf("batch = %+v, %v; want 3 images", b, err)
		}
	})
}

func TestBatchMultipartGenericFieldsUseFileNames(t *testing.T) {
	t.Parallel()

	a := newBatchTestApp(t)
	id := a.createBatch(t)

	// What a browser's <input name="images" multiple webkitdirectory> and
	// curl -F file=@... send: one field name for every file.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	parts := []struct{ field, filename string }{
		{"images", "visit/left arm.png"}, {"images", "visit/back/1.png"},
		{"file", "solo.png"}, {"images", "../escape.png"},
	}
	for i, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`,
			p.field, p.filename))
		h.Set("Content-Type", "image/png")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatalf("creating part: %v", err)
		}
		w.Write(tinyPNG(t, i+2))
	}
	mw.Close()

	req := httptest.NewRequest(http.MethodPost, "/api/v1/batches/"+id+"/images", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var got uploadAnswer
	a.do(t, req, fiber.StatusAccepted, &got)

	var paths []string
	for _, it := range got.Items {
		paths = append(paths, it.Path)
	}
	want := []string{"visit/left arm.png", "visit/back/1.png", "solo.png"}
	if !slices.Equal(paths, want) {
		t.Fatalf("items = %q, want %q", paths, want)
	}
	if len(got.Refused) != 1 || got.Refused[0].Path != "../escape.png" {
		t.Fatalf("refused = %+v, want ../escape.png", got.Refused)
	}
}

func TestBatchAPIRefusals(t *testing.T) {
	t.Parallel()

	a := newBatchTestApp(t)
	id := a.createBatch(t)
	cases := []struct {
		name, method, path, contentType, body string
		want                                  int
	}{
		{"an unknown batch is not found", http.MethodGet,
			"/api/v1/batches/aaaaaaaaaaaaaaaaaaaaaaaaaa", "", "", fiber.StatusNotFound},
		{"a malformed id is not found", http.MethodGet, "/api/v1/batches/..%2f..", "", "",
			fiber.StatusNotFound},
		{"a plain body is an unsupported upload", http.MethodPost,
			"/api/v1/batches/" + id + "/images", "text/plain", "hello",
			fiber.StatusUnsupportedMediaType},
		{"a broken zip is refused", http.MethodPost, "/api/v1/batches/" + id + "/images",
			"application/zip", "PK not really", fiber.StatusBadRequest},
		{"a page size over the maximum is refused", http.MethodGet,
			"/api/v1/batches/" + id + "?page_size=5000", "", "", fiber.StatusBadRequest},
		{"an unknown webhook event is refused", http.MethodPost, "/api/v1/batches",
			"application/json", `{"webhook_events_filter":["start"]}`, fiber.StatusBadRequest},
		{"a webhook is refused when the server sends none", http.MethodPost,
			"/api/v1/batches", "application/json", `{"webhook":"https://example.com/h"}`,
			fiber.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, bytes.NewBufferString(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			var answer struct{ Error jobs.ErrorInfo }
			a.do(t, req, tc.want, &answer)
			if answer.Error.Code == "" || answer.Error.Message == "" {
				t.Fatalf("answer has no error code and message: %+v", answer)
			}
		})
	}

	t.Run("a sealed batch takes no more images", func(t *testing.T) {
		a.do(t, httptest.NewRequest(http.MethodPost, "/api/v1/batches/"+id+"/seal", nil),
			fiber.StatusOK, nil)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/batches/"+id+"/images",
			bytes.NewReader(makeZip(t, []zipEntry{{"a.png", 0o644, tinyPNG(t, 9)}})))
		req.Header.Set("Content-Type", "application/zip")
		a.do(t, req, fiber.StatusConflict, nil)
	})
}

func TestBatchResultsStream(t *testing.T) {
	t.Parallel()

	a := newBatchTestApp(t)
	runBatchWorker(t, a)
	id := a.createBatch(t)
	photo := readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")
	archive := makeZip(t, []zipEntry{
		{"x/photo.jpg", 0o644, photo},
		{"x/y/tiny.png", 0o644, tinyPNG(t, 5)},
		{"x/broken.png", 0o644, []byte("\x89PNG\r\n\x1a\n but then nothing")},
	})
	req := httptest.NewRequest(http.MethodPost, "/api/v1/batches/"+id+"/images",
		bytes.NewReader(archive))
	req.Header.Set("Content-Type", "application/zip")
	a.do(t, req, fiber.StatusAccepted, nil)
	a.do(t, httptest.NewRequest(http.MethodPost, "/api/v1/batches/"+id+"/seal", nil),
		fiber.StatusOK, nil)
	waitBatchCompleted(t, a, id)

	t.Run("results.csv has one row per image in order", func(t *testing.T) {
		rows := a.getCSV(t, "/api/v1/batches/"+id+"/results.csv")
		if len(rows) != 4 || !slices.Equal(rows[0], jobs.BatchResultColumns) {
			t.Fatalf("csv = %q, want a header and 3 rows", rows)
		}
		if rows[1][0] != "x/photo.jpg" || rows[1][2] != "succeeded" || rows[1][3] == "" {
			t.Fatalf("first row = %q, want a succeeded photo with a label", rows[1])
		}
		if rows[3][0] != "x/broken.png" || rows[3][2] != "failed" || rows[3][7] == "" {
			t.Fatalf("last row = %q, want a failed image with a reason", rows[3])
		}
	})

	t.Run("heatmaps.zip names each heatmap after its image", func(t *testing.T) {
		data := a.getBody(t, "/api/v1/batches/"+id+"/heatmaps.zip")
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("reading heatmaps.zip: %v", err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		want := []string{"x/photo.jpg.heatmap.png", "x/y/tiny.png.heatmap.png"}
		if !slices.Equal(names, want) {
			t.Fatalf("entries = %q, want %q", names, want)
		}
	})

	t.Run("the batch page links every image", func(t *testing.T) {
		page := string(a.getBody(t, "/batches/"+id))
		items, _, _ := a.batches.Items(context.Background(), id, 0, 10)
		for _, it := range items {
			if !bytes.Contains([]byte(page), []byte(`href="/predictions/`+it.ID+`"`)) {
				t.Fatalf("page lacks a link to %s (%s)", it.ID, it.Path)
			}
		}
	})
}

// runBatchWorker runs a worker with the real demo model and the sweep
// until the test ends.
func runBatchWorker(t *testing.T, a *batchTestApp) {
	t.Helper()

	root := repoRoot(t)
	engine, err := inference.NewEngine(inference.Options{
		ModelPath: filepath.Join(root, "models", "demo.onnx"), IntraOpThreads: 1,
	})
	if err != nil {
		t.Fatalf("opening the demo model: %v", err)
	}
	t.Cleanup(func() { engine.Close() })

	logger := slog.New(slog.DiscardHandler)
	worker := jobs.NewWorker(a.rdb, jobs.WorkerConfig{Logger: logger,
		ShutdownTimeout: time.Second})
	worker.Handle(jobs.TypePredict, jobs.NewHandler(a.store, engine, logger))
	if err := worker.Start(context.Background()); err != nil {
		t.Fatalf("starting worker: %v", err)
	}
	t.Cleanup(worker.Shutdown)
}

// waitBatchCompleted polls the batch until it completes.
func waitBatchCompleted(t *testing.T, a *batchTestApp, id string) {
	t.Helper()

	deadline := time.After(60 * time.Second)
	for {
		b, err := a.batches.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if b.Status == jobs.BatchCompleted {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("batch did not complete: %+v", b)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// getBody fetches a path and returns its body.
func (a *batchTestApp) getBody(t *testing.T, path string) []byte {
	t.Helper()

	resp, err := a.app.Test(httptest.NewRequest(http.MethodGet, path, nil), 30_000)
	if err != nil || resp.StatusCode != fiber.StatusOK {
		t.Fatalf("GET %s = %v, %v", path, resp, err)
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}

	return data
}

// getCSV fetches and parses a CSV.
func (a *batchTestApp) getCSV(t *testing.T, path string) [][]string {
	t.Helper()

	rows, err := csv.NewReader(bytes.NewReader(a.getBody(t, path))).ReadAll()
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}

	return rows
}
