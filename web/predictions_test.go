package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

func TestUploadRefusals(t *testing.T) {
	t.Parallel()
	photo := readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")
	cases := []struct {
		name       string
		field      string
		data       []byte
		maxUpload  int
		wantStatus int
		wantCode   string
	}{
		{"a body over the limit gets a 413 JSON answer", "image", bytes.Repeat(photo, 20),
			len(photo) * 2, fiber.StatusRequestEntityTooLarge, "too_large"},
		{"an image just over the limit gets a 413 JSON answer", "image", photo,
			len(photo) - 1, fiber.StatusRequestEntityTooLarge, "too_large"},
		{"a text file is refused as unsupported", "image", []byte("just some text, no image"),
			0, fiber.StatusUnsupportedMediaType, "unsupported_format"},
		{"an empty file is refused", "image", []byte{}, 0, fiber.StatusBadRequest, "empty_file"},
		{"a form without an image field is refused", "photo", photo,
			0, fiber.StatusBadRequest, "missing_image"},
		{"an image declaring too many pixels is refused",
			"image", readShared(t, "awkward/png_declares_50000x50000_1bit.png"),
			0, fiber.StatusUnprocessableEntity, "too_many_pixels"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			app := newTestApp(t, rec, tc.maxUpload)

			resp := upload(t, app, tc.field, tc.data, "")

			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if code := errorCode(t, resp); code != tc.wantCode {
				t.Fatalf("error code = %q, want %q", code, tc.wantCode)
			}
			if n := rec.submitted.Load(); n != 0 {
				t.Fatalf("%d predictions queued, want none", n)
			}
		})
	}
}

func TestUploadThatIsNotAForm(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	app := newTestApp(t, rec, 0)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/predictions",
		strings.NewReader(`{"image":"x"}`))
	req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)

	resp := do(t, app, req)

	if resp.StatusCode != fiber.StatusUnsupportedMediaType {
		t.Fatalf("status = %d, want 415", resp.StatusCode)
	}
	if code := errorCode(t, resp); code != "not_multipart" {
		t.Fatalf("error code = %q, want not_multipart", code)
	}
}

func TestUploadAccepted(t *testing.T) {
	t.Parallel()
	photo := readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")

	t.Run("an API upload gets 202 with the prediction's URLs", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{}
		resp := upload(t, newTestApp(t, rec, 0), "image", photo, "")

		if resp.StatusCode != fiber.StatusAccepted {
			t.Fatalf("status = %d, want 202", resp.StatusCode)
		}
		var got view
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatalf("decoding answer: %v", err)
		}
		if got.Status != "starting" || got.URLs.Get == "" || got.URLs.Heatmap == "" {
			t.Fatalf("answer = %+v, want status starting with urls", got)
		}
		if loc := resp.Header.Get(fiber.HeaderLocation); loc != got.URLs.Get {
			t.Fatalf("Location = %q, want %q", loc, got.URLs.Get)
		}
		if got.Input.Width != 256 || got.Input.Height != 192 || got.Input.Format != "jpeg" {
			t.Fatalf("input = %+v, want a 256x192 jpeg", got.Input)
		}
	})

	t.Run("a browser form post is redirected to the result page", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{}
		resp := upload(t, newTestApp(t, rec, 0), "image", photo, "text/html,*/*;q=0.8")

		if resp.StatusCode != fiber.StatusSeeOther {
			t.Fatalf("status = %d, want 303", resp.StatusCode)
		}
		if loc := resp.Header.Get(fiber.HeaderLocation); !strings.Contains(loc, "/predictions/") {
			t.Fatalf("Location = %q, want the result page", loc)
		}
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	known := "/api/v1/predictions/abcdefghijklmnopqrstuvwxyz"
	for _, path := range []string{
		known, known + "/heatmap.png", known + "/image", "/api/v1/predictions/../../etc",
		"/api/v1/predictions/short", "/nowhere",
	} {
		t.Run("GET "+path+" is a JSON 404", func(t *testing.T) {
			t.Parallel()
			app := newTestApp(t, &recorder{}, 0)

			resp := do(t, app, httptest.NewRequest(http.MethodGet, path, nil))

			if resp.StatusCode != fiber.StatusNotFound {
				t.Fatalf("status = %d, want 404", resp.StatusCode)
			}
			if code := errorCode(t, resp); code != "not_found" {
				t.Fatalf("error code = %q, want not_found", code)
			}
		})
	}
}

func TestPanicBecomesJSON500(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, &recorder{panicOnGet: true}, 0)

	resp := do(t, app, httptest.NewRequest(http.MethodGet,
		"/api/v1/predictions/abcdefghijklmnopqrstuvwxyz", nil))

	if resp.StatusCode != fiber.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", resp.StatusCode)
	}
	if code := errorCode(t, resp); code != "internal_error" {
		t.Fatalf("error code = %q, want internal_error", code)
	}
}

// serveWithAStalledUpload serves an app with one upload slot (65.5 KB) on
// loopback, and has a client declare a 60 KB upload, send part of it and
// stall, holding most of the upload memory. fasthttp reads the first 8 KB
// of a body before it calls the handler, so the part sent is larger than
// that. It returns the app's address.
func serveWithAStalledUpload(t *testing.T) string {
	t.Helper()

	app, err := New(Config{Predictions: &recorder{}, MaxUploadBytes: 1000, UploadSlots: 1,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	stalled, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dialing: %v", err)
	}
	t.Cleanup(func() { _ = stalled.Close() })
	fmt.Fprintf(stalled, "POST /api/v1/predictions HTTP/1.1\r\nHost: test\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 60000\r\n\r\n"+
		"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n%s",
		bytes.Repeat([]byte{0xff}, 16<<10))
	time.Sleep(300 * time.Millisecond)

	return ln.Addr().String()
}

func TestATooLargeUploadIsRefusedWithoutWaitingForASlot(t *testing.T) {
	t.Parallel()
	addr := serveWithAStalledUpload(t)

	body, contentType := multipartBody(t, "image", bytes.Repeat([]byte{0xff}, 200<<10))
	client := &http.Client{Timeout: 10 * time.Second}
	started := time.Now()
	resp, err := client.Post("http://"+addr+"/api/v1/predictions", contentType, body)
	if err != nil {
		t.Fatalf("uploading while the slot is taken: %v (after %v)", err, time.Since(started))
	}
	defer resp.Body.Close()
	if resp.StatusCode != fiber.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", resp.StatusCode)
	}
	if code := errorCode(t, resp); code != "too_large" {
		t.Fatalf("error code = %q, want too_large", code)
	}
}

func TestASmallUploadPassesWhileALargeOneIsSlow(t *testing.T) {
	t.Parallel()
	addr := serveWithAStalledUpload(t)

	body, contentType := multipartBody(t, "image", tinyPNG(t, 1))
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+addr+"/api/v1/predictions", contentType, body)
	if err != nil {
		t.Fatalf("a small upload behind a slow large one: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != fiber.StatusAccepted {
		t.Fatalf("status = %d, want 202", resp.StatusCode)
	}
}
