package web

import (
	"context"
	"errors"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// heatmap serves the heatmap PNG once the prediction has one.
func (s *server) heatmap(c *fiber.Ctx) error {
	return s.serveImage(c, "image/png", s.cfg.Predictions.Heatmap)
}

// display serves the display-size photo once the worker made it.
func (s *server) display(c *fiber.Ctx) error {
	return s.serveImage(c, "image/jpeg", s.cfg.Predictions.Display)
}

func (s *server) serveImage(
	c *fiber.Ctx, contentType string, read func(context.Context, string) ([]byte, error),
) error {
	id, err := predictionID(c)
	if err != nil {
		return err
	}

	data, err := read(c.UserContext(), id)
	if errors.Is(err, jobs.ErrNotFound) {
		return apiError(fiber.StatusNotFound, "not_found", "This image is not available: "+
			"the prediction has not finished, has no heatmap, or has expired.")
	}
	if err != nil {
		return err
	}

	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	return c.Send(data)
}
