package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// recorder stands in for the queue in tests of what the web app refuses
// before anything is queued: it counts submissions and knows no prediction.
type recorder struct {
	submitted  atomic.Int32
	panicOnGet bool
}

func (r *recorder) Submit(ctx context.Context, sub jobs.Submission) (*jobs.Prediction, error) {
	r.submitted.Add(1)
	return &jobs.Prediction{ID: jobs.NewID(), Status: jobs.StatusStarting,
		CreatedAt: time.Now(), Input: sub.Input}, nil
}

func (r *recorder) SubmitOnce(ctx context.Context, key string, sub jobs.Submission) (
	*jobs.Prediction, bool, error) {
	p, err := r.Submit(ctx, sub)
	return p, false, err
}

func (r *recorder) Get(ctx context.Context, id string) (*jobs.Prediction, error) {
	if r.panicOnGet {
		panic("store exploded")
	}
	return nil, jobs.ErrNotFound
}

func (r *recorder) Cancel(ctx context.Context, id string) (*jobs.Prediction, error) {
	return nil, jobs.ErrNotFound
}

func (r *recorder) Display(ctx context.Context, id string) ([]byte, error) {
	return nil, jobs.ErrNotFound
}

func (r *recorder) Heatmap(ctx context.Context, id string) ([]byte, error) {
	return nil, jobs.ErrNotFound
}

func (r *recorder) Ping(ctx context.Context) error { return nil }

func newTestApp(t *testing.T, rec *recorder, maxUpload int) *fiber.App {
	t.Helper()

	app, err := New(Config{
		Predictions:    rec,
		MaxUploadBytes: maxUpload,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	return app
}

// multipartBody builds a form with one file field named field.
func multipartBody(t *testing.T, field string, data []byte) (*bytes.Buffer, string) {
	t.Helper()

	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, err := w.CreateFormFile(field, "photo.jpg")
	if err != nil {
		t.Fatalf("CreateFormFile: %v", err)
	}
	if _, err := part.Write(data); err != nil {
		t.Fatalf("writing form: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("closing form: %v", err)
	}

	return &buf, w.FormDataContentType()
}

func upload(t *testing.T, app *fiber.App, field string, data []byte, accept string) *http.Response {
	t.Helper()

	body, contentType := multipartBody(t, field, data)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/predictions", body)
	req.Header.Set(fiber.HeaderContentType, contentType)
	if accept != "" {
		req.Header.Set(fiber.HeaderAccept, accept)
	}

	return do(t, app, req)
}

func do(t *testing.T, app *fiber.App, req *http.Request) *http.Response {
	t.Helper()

	resp, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatalf("app.Test: %v", err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })

	return resp
}

// errorCode reads the JSON error of resp and checks its shape.
func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()

	if ct := resp.Header.Get(fiber.HeaderContentType); ct != fiber.MIMEApplicationJSON {
		t.Fatalf("Content-Type = %q, want JSON", ct)
	}
	var body errorBody
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("decoding error body %q: %v", raw, err)
	}
	if body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("error body %q lacks a code or a message", raw)
	}

	return body.Error.Code
}
