package jobs

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// recordWithoutTask records a delivery the way Emit does but queues no
// task, as when the process is killed between the two steps.
func (b *webhookBundle) recordWithoutTask(t *testing.T, pred, url string) *WebhookDelivery {
	t.Helper()

	now := time.Now().UTC()
	d := &WebhookDelivery{
		ID: newRandomID("whd_"), PredictionID: pred, Event: WebhookEventCompleted, URL: url,
		WebhookID: newRandomID("msg_"), Status: DeliveryPending,
		CreatedAt: now, UpdatedAt: now, Body: []byte(`{"id":"` + pred + `"}`),
	}
	created, waiting, err := b.webhooks.store.create(context.Background(), d)
	if err != nil || !created || waiting {
		t.Fatalf("create = %v, %v, %v; want a new delivery that waits for nothing",
			created, waiting, err)
	}
	return d
}

func TestWebhookSweepSendsADeliveryThatWasNeverQueued(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t))
	b.cfg.SweepInterval = 100 * time.Millisecond
	rc := newTestReceiver(t, b.secret, answerAlways(http.StatusOK))
	recorded := b.recordWithoutTask(t, "pred-orphan", rc.URL)
	b.startServer(t)

	call := rc.next(t)
	d := b.waitEnded(t, "pred-orphan", WebhookEventCompleted)
	rc.none(t, 500*time.Millisecond)

	if call.verifyErr != nil || call.webhookID != recorded.WebhookID {
		t.Fatalf("request %q (verify: %v), want the recorded delivery %q, verified",
			call.webhookID, call.verifyErr, recorded.WebhookID)
	}
	if d.Status != DeliverySucceeded || len(d.Attempts) != 1 {
		t.Fatalf("delivery %s after %d attempts, want succeeded after 1", d.Status, len(d.Attempts))
	}
	pending, err := b.webhooks.store.pendingSince(context.Background(), time.Now(), 10)
	if err != nil || len(pending) != 0 {
		t.Fatalf("pending set = %v (%v), want empty once the delivery ended", pending, err)
	}
}

func TestWebhookSweepLeavesDeliveriesWithATaskAlone(t *testing.T) {
	// The sweep runs every 100 ms while the delivery waits about 2 s for
	// its retry, and again while its replay waits: every one of those
	// sweeps must find the task there and queue nothing more.
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t), 2*time.Second)
	b.cfg.SweepInterval = 100 * time.Millisecond
	rc := newTestReceiver(t, b.secret, func(n int, _ http.ResponseWriter, _ *http.Request) int {
		if n == 1 || n == 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	b.startServer(t)

	b.emit(t, "pred-swept", rc.URL, WebhookEventCompleted)
	rc.next(t)
	rc.next(t)
	d := b.waitEnded(t, "pred-swept", WebhookEventCompleted)

	if _, err := b.webhooks.Replay(context.Background(), "pred-swept", d.ID); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	rc.next(t)
	rc.next(t)
	rc.none(t, 500*time.Millisecond)

	d = b.waitEnded(t, "pred-swept", WebhookEventCompleted)
	if d.Status != DeliverySucceeded || len(d.Attempts) != 4 {
		t.Fatalf("delivery %s after %d attempts, want succeeded after 4 (2 + 2 replayed)",
			d.Status, len(d.Attempts))
	}
}
