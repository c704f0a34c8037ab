package main

import (
	"context"
	"log/slog"

	"github.com/dermq/dermq/jobs"
)

// newBatches builds the web process's batch service. hooks may be nil when
// no webhook secret is configured; a batch that asks for a webhook is then
// refused at creation. With hooks, a completed batch is announced once to
// its webhook as the batch.completed event, with the JSON that
// GET /api/v1/batches/{id} answers as the body.
func newBatches(enq *jobs.Enqueuer, hooks *jobs.Webhooks, maxPixels int,
	logger *slog.Logger) *jobs.Batches {
	cfg := jobs.BatchesConfig{MaxPixels: maxPixels, Logger: logger}
	if hooks != nil && hooks.Enabled() {
		cfg.ValidateWebhook = hooks.Validate
		cfg.OnCompleted = func(ctx context.Context, b *jobs.Batch, body []byte) error {
			target := jobs.WebhookTarget{URL: b.Webhook,
				Events: []jobs.WebhookEvent{jobs.WebhookEventBatchCompleted}}
			return hooks.Emit(ctx, b.ID, target, jobs.WebhookEventBatchCompleted, body)
		}
	}

	return jobs.NewBatches(enq, cfg)
}
