package jobs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWebhookDeliveryIsSignedAndRecorded(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t))
	rc := newTestReceiver(t, b.secret, answerAlways(http.StatusNoContent))
	b.startServer(t)

	b.emit(t, "pred-signed", rc.URL, WebhookEventCompleted)
	call := rc.next(t)
	d := b.waitEnded(t, "pred-signed", WebhookEventCompleted)

	if call.verifyErr != nil {
		t.Fatalf("the independent verifier refuses the delivery: %v", call.verifyErr)
	}
	if call.webhookID != d.WebhookID || !strings.HasPrefix(d.WebhookID, "msg_") {
		t.Fatalf("webhook-id = %q, recorded %q", call.webhookID, d.WebhookID)
	}
	if call.body != string(d.Body) || call.event != "completed" {
		t.Fatalf("received %s %q, recorded body %q", call.event, call.body, d.Body)
	}
	if d.Status != DeliverySucceeded || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 204 {
		t.Fatalf("delivery = %s with attempts %+v", d.Status, d.Attempts)
	}
}

func TestWebhookEventsFilter(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t))
	rc := newTestReceiver(t, b.secret, answerAlways(http.StatusOK))
	b.startServer(t)

	b.emit(t, "pred-filter", rc.URL, WebhookEventStart)
	b.emit(t, "pred-filter", rc.URL, WebhookEventCompleted)
	b.emit(t, "pred-filter", rc.URL, WebhookEventCompleted)

	if call := rc.next(t); call.event != "completed" {
		t.Fatalf("first request is for %q, want completed (start is not asked for)", call.event)
	}
	rc.none(t, 300*time.Millisecond)

	deliveries, err := b.webhooks.Deliveries(context.Background(), "pred-filter")
	if err != nil {
		t.Fatalf("Deliveries: %v", err)
	}
	if len(deliveries) != 1 {
		t.Fatalf("got %d deliveries, want one completed delivery", len(deliveries))
	}
}

func TestWebhookEventsArriveInOrder(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t), 200*time.Millisecond, 200*time.Millisecond)
	rc := newTestReceiver(t, b.secret, func(n int, _ http.ResponseWriter, r *http.Request) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	b.startServer(t)

	both := []WebhookEvent{WebhookEventStart, WebhookEventCompleted}
	b.emit(t, "pred-order", rc.URL, WebhookEventStart, both...)
	b.emit(t, "pred-order", rc.URL, WebhookEventCompleted, both...)

	var got []string
	for range 3 {
		call := rc.next(t)
		got = append(got, call.event)
	}
	if strings.Join(got, ",") != "start,start,completed" {
		t.Fatalf("requests arrived as %v, want start (503), start, completed", got)
	}

	start := b.waitEnded(t, "pred-order", WebhookEventStart)
	completed := b.waitEnded(t, "pred-order", WebhookEventCompleted)
	if completed.After != start.ID {
		t.Fatalf("completed waits for %q, want the start delivery %q", completed.After, start.ID)
	}
}

func TestWebhookRetriesUntilSuccess(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t), 50*time.Millisecond, 100*time.Millisecond, time.Hour)
	rc := newTestReceiver(t, b.secret, func(n int, _ http.ResponseWriter, r *http.Request) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	b.startServer(t)

	b.emit(t, "pred-retry", rc.URL, WebhookEventCompleted)
	d := b.waitEnded(t, "pred-retry", WebhookEventCompleted)

	if d.Status != DeliverySucceeded || len(d.Attempts) != 3 {
		t.Fatalf("delivery %s after %d attempts, want succeeded after 3", d.Status, len(d.Attempts))
	}
	successes := 0
	for i, a := range d.Attempts {
		if a.Number != i+1 {
			t.Fatalf("attempt %d is numbered %d", i+1, a.Number)
		}
		if a.StatusCode == http.StatusOK {
			successes++
		}
	}
	if successes != 1 || d.Attempts[0].Error != "receiver answered 500" {
		t.Fatalf("attempts = %+v, want two 500s then one 200", d.Attempts)
	}

	ids := map[string]bool{}
	for range 3 {
		ids[rc.next(t).webhookID] = true
	}
	if len(ids) != 1 {
		t.Fatalf("webhook-id changed across retries: %v", ids)
	}
}

func TestWebhookGoneStopsRetries(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t), 50*time.Millisecond, 50*time.Millisecond)
	rc := newTestReceiver(t, b.secret, answerAlways(http.StatusGone))
	b.startServer(t)

	b.emit(t, "pred-gone", rc.URL, WebhookEventCompleted)
	rc.next(t)
	d := b.waitEnded(t, "pred-gone", WebhookEventCompleted)
	rc.none(t, 500*time.Millisecond)

	if d.Status != DeliveryFailed || len(d.Attempts) != 1 || !strings.Contains(d.Reason, "410") {
		t.Fatalf("delivery %s (%q) after %d attempts, want failed on 410 after one",
			d.Status, d.Reason, len(d.Attempts))
	}
}

func TestWebhookSlowReceiverTimesOutAndRetries(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t), 50*time.Millisecond)
	b.cfg.Timeout = 300 * time.Millisecond
	rc := newTestReceiver(t, b.secret, func(n int, _ http.ResponseWriter, r *http.Request) int {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
		return http.StatusOK
	})
	b.startServer(t)

	b.emit(t, "pred-slow", rc.URL, WebhookEventCompleted)
	d := b.waitEnded(t, "pred-slow", WebhookEventCompleted)

	if d.Status != DeliverySucceeded || len(d.Attempts) != 2 {
		t.Fatalf("delivery %s after %d attempts, want succeeded after 2", d.Status, len(d.Attempts))
	}
	first := d.Attempts[0]
	if first.StatusCode != 0 || !strings.Contains(first.Error, "Timeout") {
		t.Fatalf("first attempt = %+v, want a timeout", first)
	}
	if first.DurationMS < 250 || first.DurationMS > 2000 {
		t.Fatalf("the timed-out attempt took %.0f ms, want about 300", first.DurationMS)
	}
}

func TestWebhookGivesUpThenReplays(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t), 50*time.Millisecond, 50*time.Millisecond)
	var healthy atomic.Bool
	rc := newTestReceiver(t, b.secret, func(int, http.ResponseWriter, *http.Request) int {
		if healthy.Load() {
			return http.StatusOK
		}
		return http.StatusBadGateway
	})
	b.startServer(t)

	b.emit(t, "pred-replay", rc.URL, WebhookEventCompleted)
	d := b.waitEnded(t, "pred-replay", WebhookEventCompleted)
	if d.Status != DeliveryFailed || len(d.Attempts) != 3 {
		t.Fatalf("delivery %s after %d attempts, want failed after 3", d.Status, len(d.Attempts))
	}
	if !strings.Contains(d.Reason, "gave up after 3 attempts") {
		t.Fatalf("reason = %q", d.Reason)
	}

	healthy.Store(true)
	if _, err := b.webhooks.Replay(context.Background(), "pred-replay", d.ID); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	replayed := b.waitEnded(t, "pred-replay", WebhookEventCompleted)

	if replayed.Status != DeliverySucceeded || len(replayed.Attempts) != 4 || replayed.Replays != 1 {
		t.Fatalf("after replay: %s, %d attempts, %d replays", replayed.Status,
			len(replayed.Attempts), replayed.Replays)
	}
	if replayed.WebhookID != d.WebhookID {
		t.Fatalf("replay changed webhook-id from %q to %q", d.WebhookID, replayed.WebhookID)
	}
}

func TestWebhookReplayRefusals(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t))
	rc := newTestReceiver(t, b.secret, answerAlways(http.StatusOK))

	b.emit(t, "pred-pending", rc.URL, WebhookEventCompleted)
	deliveries, err := b.webhooks.Deliveries(context.Background(), "pred-pending")
	if err != nil || len(deliveries) != 1 {
		t.Fatalf("Deliveries = %d, %v", len(deliveries), err)
	}
	id := deliveries[0].ID

	cases := []struct {
		name, pred, delivery string
		want                 error
	}{
		{"a pending delivery cannot be replayed", "pred-pending", id, ErrDeliveryPending},
		{"another prediction's delivery is not found", "pred-other", id, ErrDeliveryNotFound},
		{"an unknown delivery is not found", "pred-pending", "whd_nothing", ErrDeliveryNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.webhooks.Replay(context.Background(), tc.pred, tc.delivery)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Replay = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWebhookRefusedDestinationFailsWithReason(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t), 50*time.Millisecond)
	b.cfg.Allow = nil
	rc := newTestReceiver(t, b.secret, answerAlways(http.StatusOK))
	b.startServer(t)

	port := rc.URL[strings.LastIndex(rc.URL, ":"):]
	b.emit(t, "pred-refused", "http://localhost"+port+"/hook", WebhookEventCompleted)
	d := b.waitEnded(t, "pred-refused", WebhookEventCompleted)
	rc.none(t, 200*time.Millisecond)

	if d.Status != DeliveryFailed || len(d.Attempts) != 1 {
		t.Fatalf("delivery %s after %d attempts, want failed at once", d.Status, len(d.Attempts))
	}
	if !strings.Contains(d.Reason, "loopback") || !strings.Contains(d.Reason, "DERMQ_WEBHOOK_ALLOW") {
		t.Fatalf("reason = %q, want the loopback refusal and how to allow it", d.Reason)
	}
}

func TestWebhookRedirectToLocalhostIsNotFollowed(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t))
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		targetHits.Add(1)
	}))
	defer target.Close()
	port := target.URL[strings.LastIndex(target.URL, ":"):]
	rc := newTestReceiver(t, b.secret, func(_ int, w http.ResponseWriter, _ *http.Request) int {
		w.Header().Set("Location", "http://localhost"+port+"/internal")
		return http.StatusFound
	})
	b.startServer(t)

	b.emit(t, "pred-redirect", rc.URL, WebhookEventCompleted)
	d := b.waitEnded(t, "pred-redirect", WebhookEventCompleted)

	if d.Status != DeliveryFailed || !strings.Contains(d.Reason, "redirects are not followed") {
		t.Fatalf("delivery %s (%q), want failed: redirect not followed", d.Status, d.Reason)
	}
	if n := targetHits.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

func TestWebhooksWithoutSecretRefuse(t *testing.T) {
	// Emitting needs no secret: the worker records and queues, and only the
	// webhook server signs.
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t))
	b.cfg.Signer = nil
	webhooks, err := NewWebhooks(b.cfg)
	if err != nil {
		t.Fatalf("NewWebhooks: %v", err)
	}

	if err := webhooks.Validate("https://hooks.example.com/x"); !errors.Is(err, ErrNoWebhookSecret) {
		t.Fatalf("Validate = %v, want ErrNoWebhookSecret", err)
	}
	if _, err := NewWebhookServer(b.cfg); !errors.Is(err, ErrNoWebhookSecret) {
		t.Fatalf("NewWebhookServer = %v, want ErrNoWebhookSecret", err)
	}
}
