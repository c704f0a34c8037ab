package jobs

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/dermq/dermq/inference"
)

// unreachableWebhooks returns webhooks whose Redis refuses every
// connection, so that recording a delivery fails while the store works.
func unreachableWebhooks(t *testing.T, cfg WebhookConfig) *Webhooks {
	t.Helper()

	cfg.Redis = closedPortRedis(t)
	webhooks, err := NewWebhooks(cfg)
	if err != nil {
		t.Fatalf("NewWebhooks: %v", err)
	}
	return webhooks
}

// TestACompletedWebhookLostInTransitIsRecordedOnTheRetry has the attempt
// that finishes a prediction fail to record its completed webhook, as when
// Redis fails or the worker dies between the two writes: the task is
// retried, and the retry records exactly one delivery.
func TestACompletedWebhookLostInTransitIsRecordedOnTheRetry(t *testing.T) {
	t.Parallel()

	rdb := webhookRedis(t)
	b := newWebhookBundle(t, rdb)
	prefix := b.cfg.KeyPrefix + "store:"
	t.Cleanup(func() { removeTestKeys(rdb, WebhookConfig{KeyPrefix: prefix}) })
	logger := slog.New(slog.DiscardHandler)
	broken := NewStore(rdb, StoreConfig{Prefix: prefix, Retention: time.Hour,
		Webhooks: unreachableWebhooks(t, b.cfg)})
	working := NewStore(rdb, StoreConfig{Prefix: prefix, Retention: time.Hour,
		Webhooks: b.webhooks})

	ctx := context.Background()
	p := &Prediction{
		ID: NewID(), Status: StatusStarting, CreatedAt: now(),
		Webhook: "https://hooks.example.org/dermq", BaseURL: "https://dermq.example.org",
		WebhookEventsFilter: []string{"completed"},
	}
	if err := broken.Create(ctx, p, []byte("photo")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	task, err := NewPredictTask(PredictPayload{ID: p.ID})
	if err != nil {
		t.Fatal(err)
	}

	predictor := &scriptedPredictor{steps: []func() (*inference.Result, error){succeed}}
	err = NewHandler(broken, predictor, logger).ProcessTask(ctx, task)
	if !errors.Is(err, ErrWebhookNotRecorded) {
		t.Fatalf("ProcessTask = %v, want an error asking for a retry", err)
	}
	got, err := working.Get(ctx, p.ID)
	if err != nil || got.Status != StatusSucceeded {
		t.Fatalf("after the first attempt: %+v, %v; want succeeded", got, err)
	}

	for retry := range 2 {
		if err := NewHandler(working, predictor, logger).ProcessTask(ctx, task); err != nil {
			t.Fatalf("retry %d: ProcessTask = %v", retry+1, err)
		}
	}

	deliveries, err := b.webhooks.Deliveries(ctx, p.ID)
	if err != nil {
		t.Fatalf("Deliveries: %v", err)
	}
	if len(deliveries) != 1 || deliveries[0].Event != WebhookEventCompleted {
		t.Fatalf("got %+v, want one completed delivery", deliveries)
	}
	checkBody(t, deliveries[0], WebhookEventCompleted, got)
	if n := predictor.calls.Load(); n != 1 {
		t.Fatalf("the model ran %d times, want once", n)
	}
}
