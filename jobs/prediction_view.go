package jobs

import "time"

// PredictionView is a prediction as the JSON API shows it. Webhook bodies
// are the same JSON, so one parser serves both.
type PredictionView struct {
	ID          string     `json:"id"`
	Status      Status     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Input       Input      `json:"input"`
	Output      *Output    `json:"output"`
	Error       *ErrorInfo `json:"error"`
	Metrics     *Metrics   `json:"metrics"`
	URLs        ViewURLs   `json:"urls"`
}

// ViewURLs are the addresses of a prediction's resources.
type ViewURLs struct {
	Get     string `json:"get"`
	Page    string `json:"page"`
	Heatmap string `json:"heatmap"`
	Image   string `json:"image"`
	Cancel  string `json:"cancel"`
}

// NewPredictionView shows p with its URLs under base, the web app's address
// such as "https://dermq.example.org".
func NewPredictionView(p *Prediction, base string) PredictionView {
	api := base + "/api/v1/predictions/" + p.ID

	return PredictionView{
		ID:          p.ID,
		Status:      p.Status,
		CreatedAt:   p.CreatedAt,
		StartedAt:   p.StartedAt,
		CompletedAt: p.CompletedAt,
		Input:       p.Input,
		Output:      p.Output,
		Error:       p.Error,
		Metrics:     p.Metrics,
		URLs: ViewURLs{
			Get:     api,
			Page:    base + "/predictions/" + p.ID,
			Heatmap: api + "/heatmap.png",
			Image:   api + "/image",
			Cancel:  api + "/cancel",
		},
	}
}
