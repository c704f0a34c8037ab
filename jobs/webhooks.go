package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeWebhookDelivery is the asynq task type of one webhook delivery; its
// payload is the delivery id.
const TypeWebhookDelivery = "webhook:deliver"

// Webhooks records webhook deliveries and queues them for the webhook
// server. The predict handler and the web process use it; neither ever
// sends a webhook itself, so neither needs the signing secret to emit.
type Webhooks struct {
	cfg    WebhookConfig
	store  deliveryStore
	client *asynq.Client
}

// NewWebhooks returns the recording and queueing side of webhooks.
func NewWebhooks(cfg WebhookConfig) (*Webhooks, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}

	return &Webhooks{
		cfg:    cfg,
		store:  deliveryStore{rdb: cfg.Redis, prefix: cfg.KeyPrefix, retention: cfg.Retention},
		client: asynq.NewClientFromRedisClient(cfg.Redis),
	}, nil
}

// Enabled reports whether webhooks can be sent: a signing secret is
// configured.
func (w *Webhooks) Enabled() bool { return w.cfg.Signer != nil }

// Validate checks a webhook URL submitted with a prediction against the
// configured allow-list; see ValidateWebhookURL.
func (w *Webhooks) Validate(raw string) error {
	if !w.Enabled() {
		return ErrNoWebhookSecret
	}
	return ValidateWebhookURL(raw, w.cfg.Allow...)
}

// Emit records and queues the delivery of event for a prediction when its
// target asked for that event. body is the prediction's JSON as the API
// shows it now. Each event is delivered at most once per prediction, so a
// predict task run again after a worker restart does not call twice. A
// completed delivery waits until the prediction's start delivery has ended,
// so a receiver sees start before completed.
func (w *Webhooks) Emit(ctx context.Context, predictionID string, target WebhookTarget,
	event WebhookEvent, body []byte) error {
	if !target.Wants(event) {
		return nil
	}

	now := time.Now().UTC()
	d := &WebhookDelivery{
		ID: newRandomID("whd_"), PredictionID: predictionID, Event: event, URL: target.URL,
		WebhookID: newRandomID("msg_"), Status: DeliveryPending,
		CreatedAt: now, UpdatedAt: now, Body: body,
	}
	created, waiting, err := w.store.create(ctx, d)
	if err != nil {
		return err
	}
	if !created || waiting {
		return nil
	}

	// Known gap: a process killed between recording and queueing leaves the
	// delivery pending with no task; nothing sweeps for such records yet.
	return w.enqueueOrFail(ctx, d, d.ID)
}

// enqueueOrFail queues a delivery; when that is impossible it marks the
// delivery failed, so it stays visible and can be replayed.
func (w *Webhooks) enqueueOrFail(ctx context.Context, d *WebhookDelivery, taskID string) error {
	err := w.enqueue(ctx, d.ID, taskID)
	if err == nil {
		return nil
	}

	reason := "could not be queued: " + err.Error()
	if _, ferr := w.store.finish(ctx, d, DeliveryFailed, reason); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// enqueue puts one delivery task on the queue. A task id already present
// means the task is queued, which is what was wanted.
func (w *Webhooks) enqueue(ctx context.Context, deliveryID, taskID string) error {
	task := asynq.NewTask(TypeWebhookDelivery, []byte(deliveryID))
	_, err := w.client.EnqueueContext(ctx, task,
		asynq.Queue(w.cfg.Queue),
		asynq.TaskID(taskID),
		asynq.MaxRetry(maxWebhookRetries),
		asynq.Timeout(webhookTaskTimeout),
	)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("queueing webhook delivery %s: %w", deliveryID, err)
	}

	w.cfg.Logger.Debug("webhook delivery queued", "delivery_id", deliveryID, "task_id", taskID)
	return nil
}

// Deliveries lists a prediction's deliveries with their attempts, oldest
// first.
func (w *Webhooks) Deliveries(
	ctx context.Context, predictionID string,
) ([]WebhookDelivery, error) {
	return w.store.list(ctx, predictionID)
}

// Replay sends an ended delivery again: same webhook-id and body, a fresh
// timestamp and signature, and a fresh retry schedule. It returns
// ErrDeliveryNotFound or ErrDeliveryPending when it cannot.
func (w *Webhooks) Replay(
	ctx context.Context, predictionID, deliveryID string,
) (*WebhookDelivery, error) {
	if !w.Enabled() {
		return nil, ErrNoWebhookSecret
	}

	d, err := w.store.get(ctx, deliveryID)
	if err != nil {
		return nil, err
	}
	if d.PredictionID != predictionID {
		return nil, ErrDeliveryNotFound
	}

	n, err := w.store.reopen(ctx, deliveryID)
	if err != nil {
		return nil, err
	}

	taskID := fmt.Sprintf("%s-replay-%d", deliveryID, n)
	if err := w.enqueueOrFail(ctx, d, taskID); err != nil {
		return nil, err
	}
	w.cfg.Logger.Info("webhook delivery replayed", "delivery_id", deliveryID, "replay", n)

	return w.store.get(ctx, deliveryID)
}
