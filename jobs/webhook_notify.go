package jobs

import (
	"context"
	"encoding/json"
)

// Notify records and queues the webhook delivery of event for p, when p
// asked for it, with p as the API shows it now as the body. A prediction
// must not fail because its webhook cannot be queued, so errors are logged,
// not returned. A nil *Webhooks notifies nobody.
func (w *Webhooks) Notify(ctx context.Context, p *Prediction, event WebhookEvent) {
	if w == nil || p == nil {
		return
	}

	events, err := ParseWebhookEvents(p.WebhookEventsFilter)
	if err != nil {
		events = nil
	}
	target := WebhookTarget{URL: p.Webhook, Events: events}
	if !target.Wants(event) {
		return
	}

	body, err := json.Marshal(NewPredictionView(p, p.BaseURL))
	if err == nil {
		err = w.Emit(ctx, p.ID, target, event, body)
	}
	if err != nil {
		w.cfg.Logger.Error("queueing webhook", "prediction_id", p.ID, "event", event,
			"error", err)
	}
}
