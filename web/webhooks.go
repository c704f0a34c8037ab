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
	Deliveries(ctx context.Context, predictionID string) ([]jobs.WebhookDelivery, error)
	Replay(ctx context.Context, predictionID, deliveryID string) (*jobs.WebhookDelivery, error)
}

// deliveriesBody is the JSON answer listing a prediction's deliveries.
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

	deliveries, err := s.cfg.Webhooks.Deliveries(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	return c.JSON(deliveriesBody{Deliveries: deliveries})
}

// replayWebhook answers POST /api/v1/predictions/:id/webhooks/:delivery/replay.
func (s *server) replayWebhook(c *fiber.Ctx) error {
	p, err := s.lookup(c)
	if err != nil {
		return err
	}

	d, err := s.cfg.Webhooks.Replay(c.UserContext(), p.ID, c.Params("delivery"))
	switch {
	case errors.Is(err, jobs.ErrDeliveryNotFound):
		return apiError(fiber.StatusNotFound, "not_found", "This prediction has no such delivery.")
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
