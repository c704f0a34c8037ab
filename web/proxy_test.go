package web

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// proxiedApp serves the web app on a loopback port, trusting proxies, and
// returns its address and its log.
func proxiedApp(t *testing.T, proxies []string, rec *recorder) (string, *syncBuffer) {
	t.Helper()

	logs := &syncBuffer{}
	app, err := New(Config{Predictions: rec, TrustedProxies: proxies,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	return "http://" + ln.Addr().String(), logs
}

func TestForwardedHeadersCountOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()

	photo := readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")
	cases := []struct {
		name      string
		proxies   []string
		wantURL   string
		wantIP    string
		notWantIP string
	}{
		{"a loopback peer is trusted by default: its proto, host and client count",
			nil, "https://dermq.example/api/v1/predictions/", "client_ip=203.0.113.7", ""},
		{"a peer outside the trusted list is not believed", []string{"192.0.2.1"},
			"http://127.0.0.1:", "client_ip=127.0.0.1", "203.0.113.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			base, logs := proxiedApp(t, c.proxies, &recorder{panicOnGet: true})
			forwarded := func(req *http.Request) {
				req.Header.Set("X-Forwarded-Proto", "https")
				req.Header.Set("X-Forwarded-Host", "dermq.example")
				req.Header.Set("X-Forwarded-For", "203.0.113.7")
			}

			body, contentType := multipartBody(t, "image", photo)
			req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/predictions", body)
			req.Header.Set(fiber.HeaderContentType, contentType)
			forwarded(req)
			resp := send(t, req)
			if resp.StatusCode != fiber.StatusAccepted {
				t.Fatalf("upload status = %d, want 202", resp.StatusCode)
			}
			if got := resp.Header.Get(fiber.HeaderLocation); !strings.HasPrefix(got, c.wantURL) {
				t.Fatalf("Location = %q, want it to start with %q", got, c.wantURL)
			}

			// A failing request logs the client's address.
			req, _ = http.NewRequest(http.MethodGet, base+"/api/v1/predictions/"+jobs.NewID(), nil)
			forwarded(req)
			if resp := send(t, req); resp.StatusCode != fiber.StatusInternalServerError {
				t.Fatalf("status of a failing read = %d, want 500", resp.StatusCode)
			}
			log := logs.String()
			if !strings.Contains(log, c.wantIP) {
				t.Fatalf("the log does not say %s:\n%s", c.wantIP, log)
			}
			if c.notWantIP != "" && strings.Contains(log, c.notWantIP) {
				t.Fatalf("the log believes the untrusted X-Forwarded-For %s:\n%s",
					c.notWantIP, log)
			}
		})
	}
}

// send makes one request with a short timeout, without following redirects.
func send(t *testing.T, req *http.Request) *http.Response {
	t.Helper()

	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// syncBuffer is a log destination several goroutines may write.
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
