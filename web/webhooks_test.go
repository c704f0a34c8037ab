package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/redis/go-redis/v9"
)

// webhookWebDB is the Redis database of the web webhook test.
const webhookWebDB = 10

// hookCall is one request the test receiver got.
type hookCall struct {
	event, id, body string
	signed          bool
}

// hookReceiver answers 503 to the first start call and 204 to the rest,
// checking every signature from the Standard Webhooks rules directly.
func hookReceiver(t *testing.T, secret string) (*httptest.Server, chan hookCall) {
	t.Helper()

	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	calls := make(chan hookCall, 20)
	failedStart := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(r.Header.Get("webhook-id") + "." +
			r.Header.Get("webhook-timestamp") + "." + string(body)))
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))

		call := hookCall{event: r.Header.Get("DermQ-Event"), id: r.Header.Get("webhook-id"),
			body: string(body), signed: r.Header.Get("webhook-signature") == want}
		calls <- call
		if call.event == "start" && !failedStart {
			failedStart = true
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	return srv, calls
}

func nextCall(t *testing.T, calls chan hookCall) hookCall {
	t.Helper()

	select {
	case c := <-calls:
		if !c.signed {
			t.Fatalf("%s call has a bad signature", c.event)
		}
		return c
	case <-time.After(time.Minute):
		t.Fatal("the receiver got no call within a minute")
		return hookCall{}
	}
}

// webhookStack is web, worker and webhook server over one Redis database.
func webhookStack(t *testing.T, secret string) *stack {
	t.Helper()

	rdb := webhookWebRedis(t)
	logger := slog.New(slog.DiscardHandler)
	hooks := startWebhooks(t, jobs.WebhookConfig{Redis: rdb,
		RetrySchedule: []time.Duration{time.Second}, Logger: logger}, secret)

	store := jobs.NewStore(rdb, jobs.StoreConfig{Retention: time.Hour, Webhooks: hooks})
	worker := jobs.NewWorker(rdb, jobs.WorkerConfig{Logger: logger})
	worker.Handle(jobs.TypePredict, jobs.NewHandler(store, realEngine(t), logger))
	if err := worker.Start(context.Background()); err != nil {
		t.Fatalf("starting worker: %v", err)
	}
	t.Cleanup(worker.Shutdown)

	enqueuer := jobs.NewEnqueuer(rdb, store, jobs.EnqueuerConfig{Logger: logger})
	return serveStack(t, Config{Predictions: enqueuer, Webhooks: hooks, Logger: logger})
}

// startWebhooks completes cfg with the signing secret, loopback allowed and
// a short poll, and returns its webhooks with their delivery server running
// until the test ends.
func startWebhooks(t *testing.T, cfg jobs.WebhookConfig, secret string) *jobs.Webhooks {
	t.Helper()

	signer, err := jobs.ParseWebhookSecrets(secret)
	if err != nil {
		t.Fatalf("ParseWebhookSecrets: %v", err)
	}
	cfg.Signer, cfg.Allow, cfg.PollInterval = signer, []string{"127.0.0.1"},
		20*time.Millisecond
	hooks, err := jobs.NewWebhooks(cfg)
	if err != nil {
		t.Fatalf("NewWebhooks: %v", err)
	}
	sender, err := jobs.NewWebhookServer(cfg)
	if err != nil || sender.Start() != nil {
		t.Fatalf("starting the webhook server: %v", err)
	}
	t.Cleanup(sender.Shutdown)

	return hooks
}

func webhookWebRedis(t *testing.T) *redis.Client {
	t.Helper()

	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://localhost:6379"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parsing REDIS_URL: %v", err)
	}
	opts.DB = webhookWebDB
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		requireOrSkip(t, "redis at %s unreachable: %v", opts.Addr, err)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("flushing test database: %v", err)
	}
	return rdb
}

func serveStack(t *testing.T, cfg Config) *stack {
	t.Helper()

	app, err := New(cfg)
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

// postWithWebhook uploads an image with webhook fields, the filter given as
// repeated fields.
func (s *stack) postWithWebhook(t *testing.T, image []byte, hook string,
	events ...string) *http.Response {
	t.Helper()

	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", "photo.jpg")
	_, _ = part.Write(image)
	_ = w.WriteField("webhook", hook)
	for _, e := range events {
		_ = w.WriteField("webhook_events_filter", e)
	}
	_ = w.Close()

	resp, err := s.client.Post(s.base+"/api/v1/predictions", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatalf("posting: %v", err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func (s *stack) rawGet(t *testing.T, url string) []byte {
	t.Helper()

	resp, err := s.client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, raw)
	}
	return raw
}

func newWebhookSecret(t *testing.T) string {
	t.Helper()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

func TestWebhooksEndToEnd(t *testing.T) {
	secret := newWebhookSecret(t)
	s := webhookStack(t, secret)
	receiver, calls := hookReceiver(t, secret)
	image := readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")

	resp := s.postWithWebhook(t, image, receiver.URL+"/hook", "start", "completed")
	a := readAnswer(t, resp)
	if a.status != http.StatusAccepted {
		t.Fatalf("POST = %d %+v, want 202", a.status, a.err)
	}

	first, retried, completed := nextCall(t, calls), nextCall(t, calls), nextCall(t, calls)
	if first.event+","+retried.event+","+completed.event != "start,start,completed" {
		t.Fatalf("calls arrived as %s, %s, %s", first.event, retried.event, completed.event)
	}
	if !strings.Contains(first.body, `"status":"processing"`) || first.id != retried.id {
		t.Fatalf("start body %s (ids %s, %s)", first.body, first.id, retried.id)
	}
	if got := s.rawGet(t, a.view.URLs.Get); completed.body != string(got) {
		t.Fatalf("completed body differs from GET:\n%s\n%s", completed.body, got)
	}

	// The delivery is recorded as succeeded once the receiver has answered,
	// a moment after the call arrived.
	var listed deliveriesBody
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		listed = deliveriesBody{}
		err := json.Unmarshal(s.rawGet(t, a.view.URLs.Get+"/webhooks"), &listed)
		if err != nil {
			t.Fatalf("decoding deliveries: %v", err)
		}
		if len(listed.Deliveries) == 2 && len(listed.Deliveries[0].Attempts) == 2 &&
			listed.Deliveries[1].Status == jobs.DeliverySucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries = %+v", listed.Deliveries)
		}
	}

	replay := a.view.URLs.Get + "/webhooks/" + listed.Deliveries[1].ID + "/replay"
	resp, err := s.client.Post(replay, "", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST replay = %v, %v; want 202", resp, err)
	}
	resp.Body.Close()
	if again := nextCall(t, calls); again.id != completed.id || again.body != completed.body {
		t.Fatalf("replay sent %s %s, want the completed delivery again", again.event, again.id)
	}
}

func TestWebhookFieldsAreCheckedAtSubmission(t *testing.T) {
	t.Parallel()

	secret := newWebhookSecret(t)
	signer, _ := jobs.ParseWebhookSecrets(secret)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	enabled, _ := jobs.NewWebhooks(jobs.WebhookConfig{Redis: rdb, Signer: signer})
	disabled, _ := jobs.NewWebhooks(jobs.WebhookConfig{Redis: rdb})
	image := tinyPNG(t, 1)

	cases := []struct {
		name, hook, code string
		events           []string
		hooks            Webhooks
	}{
		{"a loopback address is refused", "http://127.0.0.1:8080/x", "invalid_webhook", nil,
			enabled},
		{"a 10.x address is refused", "http://10.1.2.3/x", "invalid_webhook", nil, enabled},
		{"the metadata address is refused", "http://169.254.169.254/", "invalid_webhook", nil,
			enabled},
		{"localhost is refused", "http://localhost/x", "invalid_webhook", nil, enabled},
		{"another scheme is refused", "ftp://hooks.example.org/", "invalid_webhook", nil,
			enabled},
		{"an unknown event is refused", "https://hooks.example.org/", "invalid_webhook",
			[]string{"start,finished"}, enabled},
		{"no secret refuses webhooks", "https://hooks.example.org/", "webhooks_disabled", nil,
			disabled},
		{"no webhooks at all refuses them", "https://hooks.example.org/", "webhooks_disabled",
			nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			rec := &recorder{}
			s := serveStack(t, Config{Predictions: rec, Webhooks: tc.hooks,
				Logger: slog.New(slog.DiscardHandler)})
			a := readAnswer(t, s.postWithWebhook(t, image, tc.hook, tc.events...))
			if a.status != http.StatusBadRequest || a.err.Code != tc.code {
				t.Fatalf("POST = %d %+v, want 400 %s", a.status, a.err, tc.code)
			}
			if n := rec.submitted.Load(); n != 0 {
				t.Fatalf("%d predictions were queued", n)
			}
		})
	}
}
