package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// webhookTestDB is the Redis database the webhook tests use; every test
// also has its own queue and key prefix, so tests run in parallel.
const webhookTestDB = 11

// webhookRedis connects to REDIS_URL (default redis://localhost:6379) on the
// webhook tests' database. Without Redis the test fails in CI and is
// skipped elsewhere.
func webhookRedis(t testing.TB) redis.UniversalClient {
	t.Helper()

	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://localhost:6379"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("reading REDIS_URL: %v", err)
	}
	opts.DB = webhookTestDB

	return connectTestRedis(t, opts)
}

func connectTestRedis(t testing.TB, opts *redis.Options) redis.UniversalClient {
	t.Helper()

	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s is required in CI: %v", opts.Addr, err)
		}
		t.Skipf("no Redis at %s: %v", opts.Addr, err)
	}
	return rdb
}

// webhookBundle is one test's webhooks: its own queue and key prefix, a
// fresh secret, a short retry schedule and loopback allowed.
type webhookBundle struct {
	secret   string
	cfg      WebhookConfig
	webhooks *Webhooks
}

func newWebhookBundle(
	t testing.TB, rdb redis.UniversalClient, schedule ...time.Duration,
) *webhookBundle {
	t.Helper()

	secret := newTestSecret(t)
	signer, err := ParseWebhookSecrets(secret)
	if err != nil {
		t.Fatalf("ParseWebhookSecrets: %v", err)
	}

	name := randomHex(t)
	cfg := WebhookConfig{
		Redis:         rdb,
		Signer:        signer,
		Allow:         []string{"127.0.0.1"},
		RetrySchedule: schedule,
		Timeout:       2 * time.Second,
		Queue:         "webhooks-test-" + name,
		KeyPrefix:     "dermq-test-" + name + ":",
		PollInterval:  20 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if schedule == nil {
		cfg.RetrySchedule = []time.Duration{}
	}

	webhooks, err := NewWebhooks(cfg)
	if err != nil {
		t.Fatalf("NewWebhooks: %v", err)
	}
	t.Cleanup(func() { removeTestKeys(rdb, cfg) })

	return &webhookBundle{secret: secret, cfg: cfg, webhooks: webhooks}
}

// startServer starts a webhook server for the bundle and stops it at the
// end of the test.
func (b *webhookBundle) startServer(t *testing.T) *WebhookServer {
	t.Helper()

	srv, err := NewWebhookServer(b.cfg)
	if err != nil {
		t.Fatalf("NewWebhookServer: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}

	var once sync.Once
	t.Cleanup(func() { once.Do(srv.Shutdown) })
	return srv
}

func removeTestKeys(rdb redis.UniversalClient, cfg WebhookConfig) {
	ctx := context.Background()
	for _, pattern := range []string{cfg.KeyPrefix + "*", "asynq:{" + cfg.Queue + "}*"} {
		keys, _ := rdb.Keys(ctx, pattern).Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	}
	rdb.SRem(ctx, "asynq:queues", cfg.Queue)
}

func randomHex(t testing.TB) string {
	t.Helper()

	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("reading random bytes: %v", err)
	}
	return hex.EncodeToString(b)
}

// receivedCall is one request a test receiver got.
type receivedCall struct {
	number    int
	event     string
	webhookID string
	body      string
	verifyErr error
	at        time.Time
}

// testReceiver is a real HTTP receiver on loopback. It verifies every
// request with the independent verifier, reports it on calls, then answers
// with whatever answer returns for the n-th request.
type testReceiver struct {
	*httptest.Server
	calls chan receivedCall
}

func newTestReceiver(t testing.TB, secret string,
	answer func(n int, _ http.ResponseWriter, r *http.Request) int) *testReceiver {
	t.Helper()

	rc := &testReceiver{calls: make(chan receivedCall, 100)}
	var mu sync.Mutex
	n := 0
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		n++
		call := receivedCall{
			number: n, event: r.Header.Get("DermQ-Event"), webhookID: r.Header.Get("webhook-id"),
			body: string(body), at: time.Now(),
			verifyErr: verifyStandardWebhook(secret, r.Header, body, time.Now()),
		}
		mu.Unlock()

		rc.calls <- call
		w.WriteHeader(answer(call.number, w, r))
	}))
	t.Cleanup(rc.Close)

	return rc
}

// answerAlways answers every request with code.
func answerAlways(code int) func(int, http.ResponseWriter, *http.Request) int {
	return func(int, http.ResponseWriter, *http.Request) int { return code }
}

// next waits for the receiver's next request.
func (rc *testReceiver) next(t *testing.T) receivedCall {
	t.Helper()

	select {
	case call := <-rc.calls:
		return call
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got no request within 10 s")
		return receivedCall{}
	}
}

// none checks that the receiver gets no request for a while.
func (rc *testReceiver) none(t *testing.T, wait time.Duration) {
	t.Helper()

	select {
	case call := <-rc.calls:
		t.Fatalf("the receiver got an unexpected request %d (%s)", call.number, call.event)
	case <-time.After(wait):
	}
}

// waitEnded polls the prediction's delivery for event until it is no longer
// pending and returns it.
func (b *webhookBundle) waitEnded(t *testing.T, pred string, event WebhookEvent) WebhookDelivery {
	t.Helper()

	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case <-ticker.C:
		case <-deadline:
			t.Fatalf("the %s delivery of %s did not end within 15 s", event, pred)
		}

		deliveries, err := b.webhooks.Deliveries(context.Background(), pred)
		if err != nil {
			t.Fatalf("Deliveries: %v", err)
		}
		for _, d := range deliveries {
			if d.Event == event && d.Status != DeliveryPending {
				return d
			}
		}
	}
}

// emit asks for a delivery of event to url with the given filter.
func (b *webhookBundle) emit(t *testing.T, pred, url string, event WebhookEvent,
	filter ...WebhookEvent) {
	t.Helper()

	body := []byte(`{"id":"` + pred + `","status":"` + string(event) + `"}`)
	target := WebhookTarget{URL: url, Events: filter}
	if err := b.webhooks.Emit(context.Background(), pred, target, event, body); err != nil {
		t.Fatalf("Emit %s: %v", event, err)
	}
}
