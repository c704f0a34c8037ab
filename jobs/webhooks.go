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

// Emit records and queues the delivery of event for a prediction or a
// batch (owner is its id) when its target asked for that event. body is
// the owner's JSON as the API shows it now. Each event is delivered at most
// once per owner, so a predict task run again after a worker restart does
// not call twice. A completed delivery waits until the prediction's start
// delivery has ended, so a receiver sees start before completed.
//
// The record is written first and is what counts: when queueing its task
// fails, even after a few quick retries, or the process dies before it, the
// delivery stays pending and the webhook server's sweep queues it.
func (w *Webhooks) Emit(ctx context.Context, owner string, target WebhookTarget,
	event WebhookEvent, body []byte) error {
	if !target.Wants(event) {
		return nil
	}

	now := time.Now().UTC()
	d := &WebhookDelivery{
		ID: newRandomID("whd_"), Event: event, URL: target.URL,
		WebhookID: newRandomID("msg_"), Status: DeliveryPending,
		CreatedAt: now, UpdatedAt: now, Body: body,
	}
	if event.ForBatch() {
		d.BatchID = owner
	} else {
		d.PredictionID = owner
	}

	created, waiting, err := w.store.create(ctx, d)
	if err != nil {
		return err
	}
	if !created || waiting {
		return nil
	}

	w.queueOrLeave(ctx, d.ID, d.task)
	return nil
}

// queueOrLeave queues a delivery's task; when Redis refuses even after the
// retries, it leaves the pending delivery to the sweep and says so.
func (w *Webhooks) queueOrLeave(ctx context.Context, deliveryID, taskID string) {
	if _, err := w.enqueue(ctx, deliveryID, taskID); err != nil {
		w.cfg.Logger.Warn("webhook delivery left to the sweep", "delivery_id", deliveryID,
			"error", err)
	}
}

// Enqueue retries: a Redis that hiccups for less than about a second does
// not leave a delivery to wait for the sweep.
var enqueueBackoff = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond,
	800 * time.Millisecond}

// enqueue puts one delivery task on the queue, retrying a failed attempt
// after each enqueueBackoff delay. It reports false when a task with that id
// already exists: it is queued, waiting for a retry or running, which is
// what was wanted.
func (w *Webhooks) enqueue(ctx context.Context, deliveryID, taskID string) (bool, error) {
	task := asynq.NewTask(TypeWebhookDelivery, []byte(deliveryID))
	for i := 0; ; i++ {
		_, err := w.client.EnqueueContext(ctx, task,
			asynq.Queue(w.cfg.Queue),
			asynq.TaskID(taskID),
			asynq.MaxRetry(maxWebhookRetries),
			asynq.Timeout(webhookTaskTimeout),
		)
		switch {
		case errors.Is(err, asynq.ErrTaskIDConflict):
			return false, nil
		case err == nil:
			w.cfg.Logger.Debug("webhook delivery queued", "delivery_id", deliveryID,
				"task_id", taskID)
			return true, nil
		case i == len(enqueueBackoff) || !sleepCtx(ctx, enqueueBackoff[i]):
			return false, fmt.Errorf("queueing webhook delivery %s: %w", deliveryID, err)
		}
	}
}

// sleepCtx waits for d and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()

	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Deliveries lists the deliveries of a prediction or a batch (owner is its
// id) with their attempts, oldest first.
func (w *Webhooks) Deliveries(ctx context.Context, owner string) ([]WebhookDelivery, error) {
	return w.store.list(ctx, owner)
}

// Replay sends an ended delivery of a prediction or a batch (owner is its
// id) again: same webhook-id and body, a fresh timestamp and signature, and
// a fresh retry schedule. It returns ErrDeliveryNotFound or
// ErrDeliveryPending when it cannot. A replay whose task cannot be queued
// stays pending for the sweep.
func (w *Webhooks) Replay(ctx context.Context, owner, deliveryID string) (
	*WebhookDelivery, error) {
	if !w.Enabled() {
		return nil, ErrNoWebhookSecret
	}

	d, err := w.store.get(ctx, deliveryID)
	if err != nil {
		return nil, err
	}
	if d.owner() != owner {
		return nil, ErrDeliveryNotFound
	}

	n, err := w.store.reopen(ctx, deliveryID)
	if err != nil {
		return nil, err
	}

	w.queueOrLeave(ctx, deliveryID, replayTaskID(deliveryID, n))
	w.cfg.Logger.Info("webhook delivery replayed", "delivery_id", deliveryID, "replay", n)

	return w.store.get(ctx, deliveryID)
}
