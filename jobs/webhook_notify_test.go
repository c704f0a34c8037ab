package jobs

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestStoreTransitionsNotifyWebhooks(t *testing.T) {
	t.Parallel()

	rdb := webhookRedis(t)
	b := newWebhookBundle(t, rdb)
	prefix := b.cfg.KeyPrefix + "store:"
	store := NewStore(rdb, StoreConfig{Prefix: prefix, Retention: time.Hour, Webhooks: b.webhooks})
	t.Cleanup(func() { removeTestKeys(rdb, WebhookConfig{KeyPrefix: prefix}) })

	ctx := context.Background()
	p := &Prediction{
		ID: "pred-notify", Status: StatusStarting, CreatedAt: now(),
		Webhook: "https://hooks.example.org/dermq", BaseURL: "https://dermq.example.org",
		WebhookEventsFilter: []string{"start", "completed"},
	}
	if err := store.Create(ctx, p, []byte("image")); err != nil {
		t.Fatalf("Create: %v", err)
	}

	started, err := store.MarkProcessing(ctx, p.ID)
	if err != nil {
		t.Fatalf("MarkProcessing: %v", err)
	}
	if _, err := store.MarkProcessing(ctx, p.ID); err != nil {
		t.Fatalf("MarkProcessing again: %v", err)
	}
	ended, err := store.MarkFailed(ctx, p.ID, ErrorInfo{Code: "x", Message: "broken"})
	if err != nil {
		t.Fatalf("MarkFailed: %v", err)
	}

	deliveries, err := b.webhooks.Deliveries(ctx, p.ID)
	if err != nil {
		t.Fatalf("Deliveries: %v", err)
	}
	if len(deliveries) != 2 {
		t.Fatalf("got %d deliveries, want one start and one completed", len(deliveries))
	}

	checkBody(t, deliveries[0], WebhookEventStart, started)
	checkBody(t, deliveries[1], WebhookEventCompleted, ended)
}

// checkBody checks that a delivery's body is the API's JSON of p at the
// moment of the event.
func checkBody(t *testing.T, d WebhookDelivery, event WebhookEvent, p *Prediction) {
	t.Helper()

	want, err := json.Marshal(NewPredictionView(p, "https://dermq.example.org"))
	if err != nil {
		t.Fatalf("encoding view: %v", err)
	}
	if d.Event != event || string(d.Body) != string(want) {
		t.Fatalf("%s delivery body =\n%s\nwant\n%s", d.Event, d.Body, want)
	}
}

func TestNotifyWithoutWebhookSendsNothing(t *testing.T) {
	t.Parallel()

	b := newWebhookBundle(t, webhookRedis(t))
	var none *Webhooks
	p := &Prediction{ID: "pred-quiet", Status: StatusSucceeded}

	none.Notify(context.Background(), p, WebhookEventCompleted)
	b.webhooks.Notify(context.Background(), p, WebhookEventCompleted)

	deliveries, err := b.webhooks.Deliveries(context.Background(), p.ID)
	if err != nil || len(deliveries) != 0 {
		t.Fatalf("Deliveries = %d, %v; want none", len(deliveries), err)
	}
}
