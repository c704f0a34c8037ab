package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// EnqueuerConfig configures an Enqueuer.
type EnqueuerConfig struct {
	// MaxRetry is how many times a prediction is retried after an
	// infrastructure error or a worker that died holding it. Defaults to 6.
	MaxRetry int
	// Timeout bounds one attempt of a prediction. Defaults to 5 minutes.
	Timeout time.Duration
	// Logger receives the enqueuer's logs. Defaults to slog.Default().
	Logger *slog.Logger
}

func (c *EnqueuerConfig) fillDefaults() {
	if c.MaxRetry <= 0 {
		c.MaxRetry = 6
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Submission is one accepted upload, ready to be queued.
type Submission struct {
	// Upload holds the image bytes as received.
	Upload []byte
	// Input describes the upload.
	Input Input
	// Webhook is the URL to notify, if any.
	Webhook string
	// WebhookEventsFilter lists the events the webhook wants.
	WebhookEventsFilter []string
	// BaseURL is the web app's address as the client used it.
	BaseURL string
}

// Enqueuer is the web process's side of the pipeline: it queues
// predictions, reads them back and cancels them. It never runs a model.
type Enqueuer struct {
	store     *Store
	client    *asynq.Client
	inspector *asynq.Inspector
	cfg       EnqueuerConfig
}

// NewEnqueuer returns an Enqueuer that queues through rdb and keeps records
// in store.
func NewEnqueuer(rdb redis.UniversalClient, store *Store, cfg EnqueuerConfig) *Enqueuer {
	cfg.fillDefaults()

	return &Enqueuer{
		store:     store,
		client:    asynq.NewClientFromRedisClient(rdb),
		inspector: asynq.NewInspectorFromRedisClient(rdb),
		cfg:       cfg,
	}
}

// Store returns the store the enqueuer reads and writes.
func (e *Enqueuer) Store() *Store { return e.store }

// Submit stores the upload and a new record, then queues the prediction.
func (e *Enqueuer) Submit(ctx context.Context, sub Submission) (*Prediction, error) {
	p := &Prediction{
		ID:                  NewID(),
		Status:              StatusStarting,
		CreatedAt:           now(),
		Input:               sub.Input,
		Webhook:             sub.Webhook,
		WebhookEventsFilter: sub.WebhookEventsFilter,
		BaseURL:             sub.BaseURL,
	}
	p.Input.Bytes = len(sub.Upload)
	if err := e.store.Create(ctx, p, sub.Upload); err != nil {
		return nil, err
	}

	if err := e.enqueue(ctx, p); err != nil {
		e.store.discard(ctx, p.ID)
		return nil, err
	}

	e.cfg.Logger.Info("prediction queued", "prediction_id", p.ID, "bytes", p.Input.Bytes)
	return p, nil
}

func (e *Enqueuer) enqueue(ctx context.Context, p *Prediction) error {
	task, err := NewPredictTask(PredictPayload{ID: p.ID, Class: p.Input.Class})
	if err != nil {
		return err
	}

	_, err = e.client.EnqueueContext(ctx, task,
		asynq.TaskID(p.ID),
		asynq.Queue(p.queue()),
		asynq.MaxRetry(e.cfg.MaxRetry),
		asynq.Timeout(e.cfg.Timeout),
	)
	if err != nil {
		return fmt.Errorf("enqueuing prediction %s: %w", p.ID, err)
	}

	return nil
}

// Get returns prediction id. A prediction whose task the queue gave up on
// (a worker died holding it on every attempt) is marked failed here.
func (e *Enqueuer) Get(ctx context.Context, id string) (*Prediction, error) {
	p, err := e.store.Get(ctx, id)
	if err != nil || p.Status.Terminal() || !stale(p) {
		return p, err
	}

	return e.reconcile(ctx, p)
}

// Cancel cancels prediction id: a queued one never runs and a running one
// is interrupted. A finished prediction is returned unchanged. An error
// wrapping ErrWebhookNotRecorded means the cancel took effect but its
// webhook was not recorded; canceling again records it.
func (e *Enqueuer) Cancel(ctx context.Context, id string) (*Prediction, error) {
	p, err := e.store.MarkCanceled(ctx, id)
	if errors.Is(err, ErrFinished) {
		return p, e.store.Renotify(ctx, p)
	}
	if errors.Is(err, ErrWebhookNotRecorded) {
		e.dropTask(id)
		return p, err
	}
	if err != nil {
		return nil, err
	}

	e.dropTask(id)
	if err := e.store.DeleteUpload(ctx, id); err != nil {
		e.cfg.Logger.Warn("deleting canceled upload", "prediction_id", id, "error", err)
	}

	e.cfg.Logger.Info("prediction canceled", "prediction_id", id)
	return p, nil
}

// dropTask removes a canceled prediction's task from the queue, or signals
// the worker running it. The handler checks the record first anyway, so a
// task this misses still never runs the model.
func (e *Enqueuer) dropTask(id string) {
	err := e.inspector.DeleteTask(QueuePredict, id)
	if err == nil || errors.Is(err, asynq.ErrTaskNotFound) {
		return
	}

	if err := e.inspector.CancelProcessing(id); err != nil {
		e.cfg.Logger.Warn("signalling cancel", "prediction_id", id, "error", err)
	}
}

// Display returns the display-size JPEG of prediction id.
func (e *Enqueuer) Display(ctx context.Context, id string) ([]byte, error) {
	return e.store.Display(ctx, id)
}

// Heatmap returns the heatmap PNG of prediction id.
func (e *Enqueuer) Heatmap(ctx context.Context, id string) ([]byte, error) {
	return e.store.Heatmap(ctx, id)
}

// Ping checks that Redis answers.
func (e *Enqueuer) Ping(ctx context.Context) error {
	if err := e.store.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("pinging redis: %w", err)
	}

	return nil
}
