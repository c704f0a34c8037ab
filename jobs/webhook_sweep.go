package jobs

import (
	"context"
	"errors"
	"time"
)

// sweepBatch is the most pending deliveries one sweep looks at; the next
// sweep takes the rest.
const sweepBatch = 500

// runSweep sweeps every SweepInterval until ctx ends.
func (s *WebhookServer) runSweep(ctx context.Context) {
	defer close(s.swept)

	ticker := time.NewTicker(s.webhooks.cfg.SweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
				s.webhooks.cfg.Logger.Warn("sweeping webhook deliveries", "error", err)
			}
		}
	}
}

// sweep queues every pending delivery older than one SweepInterval that is
// not waiting for an earlier delivery. Each goes under the task id it was
// given when it was recorded or replayed, so a delivery that already has
// its task (queued, running, waiting for a retry) is left alone by asynq's
// task id check, and one whose task was lost is queued again.
func (s *WebhookServer) sweep(ctx context.Context) error {
	store := s.webhooks.store
	before := time.Now().Add(-s.webhooks.cfg.SweepInterval)
	ids, err := store.pendingSince(ctx, before, sweepBatch)
	if err != nil {
		return err
	}

	for _, id := range ids {
		if err := s.sweepOne(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// sweepOne queues one delivery of the pending set if it needs a task.
func (s *WebhookServer) sweepOne(ctx context.Context, id string) error {
	store := s.webhooks.store
	d, err := store.get(ctx, id)
	if errors.Is(err, ErrDeliveryNotFound) {
		return store.forget(ctx, id)
	}
	if err != nil {
		return err
	}
	if d.Status != DeliveryPending {
		return store.forget(ctx, id)
	}

	waiting, err := s.waitsForEarlier(ctx, d)
	if err != nil || waiting {
		return err
	}

	queued, err := s.webhooks.enqueue(ctx, d.ID, d.task)
	if queued {
		s.webhooks.cfg.Logger.Info("webhook delivery had no task: queued by the sweep",
			"delivery_id", d.ID, "task_id", d.task)
	}
	return err
}

// waitsForEarlier reports whether d waits for an earlier delivery that has
// not ended: that one's end queues d.
func (s *WebhookServer) waitsForEarlier(ctx context.Context, d *WebhookDelivery) (bool, error) {
	if d.After == "" {
		return false, nil
	}

	earlier, err := s.webhooks.store.get(ctx, d.After)
	if errors.Is(err, ErrDeliveryNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return earlier.Status == DeliveryPending, nil
}
