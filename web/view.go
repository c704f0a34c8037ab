package web

import (
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// view is a prediction as the JSON API shows it.
type view struct {
	ID          string          `json:"id"`
	Status      jobs.Status     `json:"status"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at"`
	CompletedAt *time.Time      `json:"completed_at"`
	Input       jobs.Input      `json:"input"`
	Output      *jobs.Output    `json:"output"`
	Error       *jobs.ErrorInfo `json:"error"`
	Metrics     *jobs.Metrics   `json:"metrics"`
	URLs        urls            `json:"urls"`
}

// urls are the addresses of a prediction's resources.
type urls struct {
	Get     string `json:"get"`
	Page    string `json:"page"`
	Heatmap string `json:"heatmap"`
	Image   string `json:"image"`
	Cancel  string `json:"cancel"`
}

func newView(c *fiber.Ctx, p *jobs.Prediction) view {
	base := c.BaseURL()
	api := base + "/api/v1/predictions/" + p.ID

	return view{
		ID:          p.ID,
		Status:      p.Status,
		CreatedAt:   p.CreatedAt,
		StartedAt:   p.StartedAt,
		CompletedAt: p.CompletedAt,
		Input:       p.Input,
		Output:      p.Output,
		Error:       p.Error,
		Metrics:     p.Metrics,
		URLs: urls{
			Get:     api,
			Page:    base + "/predictions/" + p.ID,
			Heatmap: api + "/heatmap.png",
			Image:   api + "/image",
			Cancel:  api + "/cancel",
		},
	}
}
