package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrWebhookNotRecorded wraps the error of a status change that was stored
// while the webhook delivery announcing it could not be recorded. The change
// stands. Meeting the same prediction again (a retried task, a repeated
// cancel) records the delivery then: Emit records one delivery per event,
// so announcing twice sends once.
var ErrWebhookNotRecorded = errors.New("webhook delivery not recorded")

// Notify records and queues the webhook delivery of event for p, when p
// asked for it, with p as the API shows it now as the body. A nil *Webhooks
// notifies nobody. An error is logged and returned wrapped in
// ErrWebhookNotRecorded.
func (w *Webhooks) Notify(ctx context.Context, p *Prediction, event WebhookEvent) error {
	if w == nil || p == nil {
		return nil
	}

	events, err := ParseWebhookEvents(p.WebhookEventsFilter)
	if err != nil {
		events = nil
	}
	target := WebhookTarget{URL: p.Webhook, Events: events}
	if !target.Wants(event) {
		return nil
	}

	body, err := json.Marshal(NewPredictionView(p, p.BaseURL))
	if err == nil {
		err = w.Emit(ctx, p.ID, target, event, body)
	}
	if err != nil {
		w.cfg.Logger.Error("queueing webhook", "prediction_id", p.ID, "event", event,
			"error", err)
		return fmt.Errorf("%w: %s %s: %w", ErrWebhookNotRecorded, p.ID, event, err)
	}
	return nil
}

// Renotify records the completed webhook of a finished prediction in case
// the transition that finished it could not: its process died, or Redis
// failed, in between. It does nothing for an unfinished prediction, and
// records nothing twice.
func (s *Store) Renotify(ctx context.Context, p *Prediction) error {
	if p == nil || !p.Status.Terminal() {
		return nil
	}

	return s.cfg.Webhooks.Notify(ctx, p, WebhookEventCompleted)
}
