package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// QueueBatch is the queue batch images go to. Workers serve it only while
// the predict queue is empty, so a large batch never makes a single upload
// from the web page wait behind it.
const QueueBatch = "batch"

// BatchStatus is where a batch stands.
type BatchStatus string

// The statuses of a batch.
const (
	// BatchReceiving: images may still be added.
	BatchReceiving BatchStatus = "receiving"
	// BatchProcessing: sealed, some images have not ended yet.
	BatchProcessing BatchStatus = "processing"
	// BatchCompleted: sealed and every image ended.
	BatchCompleted BatchStatus = "completed"
)

// Errors of batch operations.
var (
	// ErrBatchNotFound: no batch has that id (never made, or expired).
	ErrBatchNotFound = errors.New("batch not found")
	// ErrBatchSealed: images cannot be added to a sealed batch.
	ErrBatchSealed = errors.New("batch is sealed")
	// ErrBatchPathTaken: the path already holds a different image.
	ErrBatchPathTaken = errors.New("path already holds another image in this batch")
	// ErrBadWebhook: the batch's webhook URL was refused.
	ErrBadWebhook = errors.New("webhook refused")
)

// BatchRef ties a prediction to the batch image it is.
type BatchRef struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

// Batch is a batch's state without its items.
type Batch struct {
	ID          string      `json:"id"`
	Status      BatchStatus `json:"status"`
	CreatedAt   time.Time   `json:"created_at"`
	SealedAt    *time.Time  `json:"sealed_at"`
	CompletedAt *time.Time  `json:"completed_at"`
	// Webhook is called once, with the batch as GET /api/v1/batches/{id}
	// shows it as body, when it completes.
	Webhook string `json:"webhook,omitempty"`
	// WebhookEventsFilter is what the client asked for: only "completed",
	// sent as the batch.completed event.
	WebhookEventsFilter []string `json:"webhook_events_filter,omitempty"`
	// BaseURL is the web app's address as the creating client used it; the
	// webhook body's URLs use it.
	BaseURL string `json:"-"`
	// Total counts the images added; Ended those that reached a terminal
	// status.
	Total int `json:"total"`
	Ended int `json:"ended"`
	// Progress is Ended over Total, 0 for an empty batch.
	Progress float64 `json:"progress"`
	// Counts holds the number of images in each prediction status.
	Counts map[Status]int `json:"counts"`
}

// BatchItem is one image of a batch.
type BatchItem struct {
	Path string `json:"path"`
	// ID is the image's prediction id.
	ID     string     `json:"id"`
	Status Status     `json:"status"`
	Error  *ErrorInfo `json:"error,omitempty"`
	// Class is the most likely class once the prediction succeeded.
	Class *BatchResultClass `json:"class,omitempty"`
	// Duplicate is set on an upload answer when the same image was already
	// in the batch at that path: nothing new was queued.
	Duplicate bool `json:"duplicate,omitempty"`
}

// BatchesConfig configures Batches.
type BatchesConfig struct {
	// MaxPixels is the most pixels an image header may declare. Defaults to
	// 50 million.
	MaxPixels int
	// SweepInterval is how often Run looks for images that ended and
	// batches that completed. Defaults to 1 second.
	SweepInterval time.Duration
	// ValidateWebhook checks a batch's webhook URL when the batch is
	// created; its error is wrapped in ErrBadWebhook, and an error that is
	// ErrNoWebhookSecret means webhooks are off. Defaults to refusing every
	// webhook with ErrNoWebhookSecret, since a webhook needs the webhook
	// wiring to be sent.
	ValidateWebhook func(rawURL string) error
	// OnCompleted is called once when a batch completes, with the JSON
	// GET /api/v1/batches/{id} answers (a BatchView with the first
	// DefaultBatchPageSize items); the webhook wiring sends it. Defaults to
	// nothing.
	OnCompleted func(ctx context.Context, b *Batch, body []byte) error
	// Logger receives batch logs. Defaults to slog.Default().
	Logger *slog.Logger
}

func (c *BatchesConfig) fillDefaults() {
	if c.MaxPixels <= 0 {
		c.MaxPixels = 50_000_000
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = time.Second
	}
	if c.ValidateWebhook == nil {
		c.ValidateWebhook = func(string) error { return ErrNoWebhookSecret }
	}
	if c.OnCompleted == nil {
		c.OnCompleted = func(context.Context, *Batch, []byte) error { return nil }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Batches creates batches, adds images to them, follows their progress and
// reads their results. It queues through the Enqueuer it is given, on the
// low-priority batch queue, and keeps its state in the same Redis as the
// Enqueuer's Store, under the same prefix and retention.
type Batches struct {
	enq *Enqueuer
	db  batchStore
	cfg BatchesConfig
}

// NewBatches returns Batches over enq.
func NewBatches(enq *Enqueuer, cfg BatchesConfig) *Batches {
	cfg.fillDefaults()

	return &Batches{enq: enq, db: newBatchStore(enq.store), cfg: cfg}
}
