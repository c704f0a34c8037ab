package web

import (
	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// view is a prediction as the JSON API shows it. It lives in jobs so that
// webhook bodies, built by the worker, are the same JSON.
type view = jobs.PredictionView

func newView(c *fiber.Ctx, p *jobs.Prediction) view {
	return jobs.NewPredictionView(p, c.BaseURL())
}
