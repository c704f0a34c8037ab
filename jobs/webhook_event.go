package jobs

import (
	"fmt"
	"slices"
	"strings"
)

// WebhookEvent names a moment in a prediction's life a webhook can ask for.
type WebhookEvent string

// The events a prediction's webhook may be called on.
const (
	// WebhookEventStart fires when a worker starts processing.
	WebhookEventStart WebhookEvent = "start"
	// WebhookEventCompleted fires when the prediction ends: succeeded,
	// failed or canceled.
	WebhookEventCompleted WebhookEvent = "completed"
	// WebhookEventBatchCompleted fires once when every image of a sealed
	// batch has ended. A batch asks for it with the filter "completed".
	WebhookEventBatchCompleted WebhookEvent = "batch.completed"
)

// ForBatch reports whether the event is about a batch, not a prediction.
func (e WebhookEvent) ForBatch() bool { return e == WebhookEventBatchCompleted }

// ParseWebhookEvents reads webhook_events_filter: repeated values, each of
// which may hold several events separated by commas. No value at all means
// completed only. Events come back in the order they happen, without
// duplicates.
func ParseWebhookEvents(values []string) ([]WebhookEvent, error) {
	seen := map[WebhookEvent]bool{}
	for _, value := range values {
		for field := range strings.SplitSeq(value, ",") {
			event := WebhookEvent(strings.ToLower(strings.TrimSpace(field)))
			if event == "" {
				continue
			}
			if event != WebhookEventStart && event != WebhookEventCompleted {
				return nil, fmt.Errorf(
					"unknown webhook event %q: use start, completed or both", field)
			}
			seen[event] = true
		}
	}

	if len(seen) == 0 {
		return []WebhookEvent{WebhookEventCompleted}, nil
	}

	var events []WebhookEvent
	for _, event := range []WebhookEvent{WebhookEventStart, WebhookEventCompleted} {
		if seen[event] {
			events = append(events, event)
		}
	}
	return events, nil
}

// WebhookTarget is what a prediction asked for: where to call and on which
// events. The zero value asks for nothing.
type WebhookTarget struct {
	// URL is the receiver, already checked by ValidateWebhookURL.
	URL string `json:"webhook,omitempty"`
	// Events filters the events sent. Empty means completed only.
	Events []WebhookEvent `json:"webhook_events_filter,omitempty"`
}

// Wants reports whether the target asked to be called on event.
func (t WebhookTarget) Wants(event WebhookEvent) bool {
	if t.URL == "" {
		return false
	}
	if len(t.Events) == 0 {
		return event == WebhookEventCompleted
	}
	return slices.Contains(t.Events, event)
}
