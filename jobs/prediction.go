package jobs

import (
	"time"

	"github.com/dermq/dermq/inference"
)

// Status is where a prediction is in its life cycle.
type Status string

// The statuses of a prediction. Starting, then processing, then one of the
// three terminal statuses.
const (
	StatusStarting   Status = "starting"
	StatusProcessing Status = "processing"
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	StatusCanceled   Status = "canceled"
)

// Terminal reports whether s is a final status that never changes again.
func (s Status) Terminal() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCanceled
}

// Prediction is the stored record of one prediction.
type Prediction struct {
	ID          string     `json:"id"`
	Status      Status     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	// Input describes what was uploaded.
	Input Input `json:"input"`
	// Output is set once the prediction succeeded.
	Output *Output `json:"output"`
	// Error is set once the prediction failed.
	Error *ErrorInfo `json:"error"`
	// Metrics are the worker's own timings, set once the prediction
	// succeeded.
	Metrics *Metrics `json:"metrics,omitempty"`
	// Attempts counts how many times a worker started this prediction.
	Attempts int `json:"attempts"`
	// Webhook is the URL to notify, if the client asked for one.
	Webhook string `json:"webhook,omitempty"`
	// WebhookEventsFilter lists the events the webhook wants.
	WebhookEventsFilter []string `json:"webhook_events_filter,omitempty"`
	// BaseURL is the web app's address as the submitting client used it;
	// webhook bodies show the prediction's URLs under it.
	BaseURL string `json:"base_url,omitempty"`
	// Queue is the asynq queue the prediction's task is on; empty means
	// QueuePredict.
	Queue string `json:"queue,omitempty"`
	// Batch names the batch image this prediction is, if any.
	Batch *BatchRef `json:"batch,omitempty"`
}

// queue returns the asynq queue of the prediction's task.
func (p *Prediction) queue() string {
	if p.Queue == "" {
		return QueuePredict
	}

	return p.Queue
}

// Input describes the uploaded image as the web process saw it.
type Input struct {
	// Class is the class the client asked Grad-CAM to explain, if any.
	Class string `json:"class,omitempty"`
	// Format is the image format read from the file's header.
	Format string `json:"format"`
	// Width and Height are the size the header declares.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Bytes is the upload's size.
	Bytes int `json:"bytes"`
}

// Output is what a succeeded prediction produced: the inference result
// without the images, which the Store keeps under their own keys.
type Output = inference.Result

// Metrics are what the worker measured while running a prediction.
type Metrics struct {
	// PredictMS is how long the model's Predict call took, in milliseconds:
	// decoding, inference, Grad-CAM and rendering. The rest of the time from
	// upload to completion is the queue's own overhead.
	PredictMS float64 `json:"predict_ms"`
}

// ErrorInfo says why a prediction failed, in words for the person who
// uploaded the image.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes of failed predictions that are not input errors.
const (
	CodeInternal      = "internal_error"
	CodeUploadExpired = "upload_expired"
)
