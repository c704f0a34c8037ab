package web

import (
	"context"
	"errors"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// Webhooks is what the web app needs from webhook delivery. *jobs.Webhooks
// satisfies it.
type Webhooks interface {
	Validate(rawURL string) error
	Deliveries(ctx context.Context, owner string) ([]jobs.WebhookDelivery, error)
	Replay(ctx context.Context, owner, deliveryID string) (*jobs.WebhookDelivery, error)
}

// deliveriesBody is the JSON answer listing the deliveries of a prediction
// or a batch.
type deliveriesBody struct {
	Deliveries []jobs.WebhookDelivery `json:"deliveries"`
}

// checkWebhook validates the webhook fields of an upload and returns the
// events, normalised. An upload without a webhook passes unchanged.
func (s *server) checkWebhook(f *form) ([]string, error) {
	if f.webhook == "" {
		return nil, nil
	}
	if s.cfg.Webhooks == nil {
		return nil, errWebhooksDisabled()
	}

	err := s.cfg.Webhooks.Validate(f.webhook)
	if errors.Is(err, jobs.ErrNoWebhookSecret) {
		return nil, errWebhooksDisabled()
	}
	if err != nil {
		return nil, apiError(fiber.StatusBadRequest, "invalid_webhook", err.Error())
	}

	events, err := jobs.ParseWebhookEvents(f.webhookEventsFilter)
	if err != nil {
		return nil, apiError(fiber.StatusBadRequest, "invalid_webhook", err.Error())
	}

	names := make([]string, len(events))
	for i, e := range events {
		names[i] = string(e)
	}
	return names, nil
}

func errWebhooksDisabled() error {
	return apiError(fiber.StatusBadRequest, "webhooks_disabled",
		"This server sends no webhooks: it has no signing secret (DERMQ_WEBHOOK_SECRET).")
}

// listWebhooks answers GET /api/v1/predictions/:id/webhooks.
func (s *server) listWebhooks(c *fiber.Ctx) error {
	p, err := s.lookup(c)
	if err != nil {
		return err
	}

	return s.answerDeliveries(c, p.ID)
}

// replayWebhook answers POST /api/v1/predictions/:id/webhooks/:delivery/replay.
func (s *server) replayWebhook(c *fiber.Ctx) error {
	p, err := s.lookup(c)
	if err != nil {
		return err
	}

	return s.answerReplay(c, p.ID, "This prediction has no such delivery.")
}

// listBatchWebhooks answers GET /api/v1/batches/:id/webhooks.
func (s *server) listBatchWebhooks(c *fiber.Ctx) error {
	id, err := s.existingBatch(c)
	if err != nil {
		return err
	}

	return s.answerDeliveries(c, id)
}

// replayBatchWebhook answers POST /api/v1/batches/:id/webhooks/:delivery/replay.
func (s *server) replayBatchWebhook(c *fiber.Ctx) error {
	id, err := s.existingBatch(c)
	if err != nil {
		return err
	}

	return s.answerReplay(c, id, "This batch has no such delivery.")
}

// existingBatch reads the batch id in the path and checks the batch exists.
func (s *server) existingBatch(c *fiber.Ctx) (string, error) {
	id, err := batchID(c)
	if err != nil {
		return "", err
	}
	if _, err := s.cfg.Batches.Get(c.UserContext(), id); err != nil {
		return "", batchError(err)
	}

	return id, nil
}

// answerDeliveries lists the deliveries of a prediction or a batch.
func (s *server) answerDeliveries(c *fiber.Ctx, owner string) error {
	deliveries, err := s.cfg.Webhooks.Deliveries(c.UserContext(), owner)
	if err != nil {
		return err
	}
	return c.JSON(deliveriesBody{Deliveries: deliveries})
}

// answerReplay replays the delivery named in the path, of a prediction or
// a batch; notFound is the message when it has no such delivery.
func (s *server) answerReplay(c *fiber.Ctx, owner, notFound string) error {
	d, err := s.cfg.Webhooks.Replay(c.UserContext(), owner, c.Params("delivery"))
	switch {
	case errors.Is(err, jobs.ErrDeliveryNotFound):
		return apiError(fiber.StatusNotFound, "not_found", notFound)
	case errors.Is(err, jobs.ErrDeliveryPending):
		return apiError(fiber.StatusConflict, "delivery_pending",
			"The delivery is still being attempted; replay it once it has ended.")
	case errors.Is(err, jobs.ErrNoWebhookSecret):
		return errWebhooksDisabled()
	case err != nil:
		return err
	}

	return c.Status(fiber.StatusAccepted).JSON(d)
}
