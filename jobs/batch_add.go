package jobs

import (
	"context"
	"errors"
	"fmt"
)

// BatchOptions are what a client may ask for when it creates a batch.
type BatchOptions struct {
	// BaseURL is the web app's address as the client used it.
	BaseURL string
	// Webhook is called when the batch completes; empty for none.
	Webhook string
	// WebhookEventsFilter filters the webhook's events: only "completed"
	// exists for a batch.
	WebhookEventsFilter []string
}

// CreateBatch makes a new, empty batch.
func (b *Batches) CreateBatch(ctx context.Context, opts BatchOptions) (*Batch, error) {
	if opts.Webhook != "" {
		if err := b.cfg.ValidateWebhook(opts.Webhook); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadWebhook, err)
		}
	}

	bt := &Batch{
		ID: NewID(), Status: BatchReceiving, CreatedAt: now(),
		Webhook: opts.Webhook, WebhookEventsFilter: opts.WebhookEventsFilter,
		BaseURL: opts.BaseURL, Counts: emptyCounts(),
	}
	if err := b.db.create(ctx, bt); err != nil {
		return nil, err
	}

	b.cfg.Logger.Info("batch created", "batch_id", bt.ID)
	return bt, nil
}

// Add puts one image into a batch under path and queues its prediction on
// the batch queue. The prediction id derives from the batch, the path and
// the image's SHA-256, so the same image sent again (a client retrying after
// a lost answer, another web instance) maps to the same prediction and
// never runs twice; the answer then has Duplicate set. An image whose header
// cannot be read fails at once, with the reason, and still counts as one of
// the batch's images.
func (b *Batches) Add(ctx context.Context, batch, path string, data []byte) (*BatchItem, error) {
	path, err := CleanItemPath(path)
	if err != nil {
		return nil, err
	}

	id := derivedID("batch", batch, path, contentHash(data))
	holder, added, err := b.db.addItem(ctx, batch, path, id)
	if err != nil {
		return nil, err
	}
	if holder != id {
		return nil, fmt.Errorf("adding %s: %w", path, ErrBatchPathTaken)
	}

	// A process that dies here leaves the path claimed without a prediction:
	// the batch waits for it until a client sends the image again.
	p, err := b.ensureItem(ctx, BatchRef{ID: batch, Path: path}, id, data)
	if err != nil {
		return nil, err
	}

	return &BatchItem{
		Path: path, ID: id, Status: p.Status, Error: p.Error, Duplicate: !added,
	}, nil
}

// ensureItem makes sure the prediction of one batch image exists, is
// queued unless it ended, and is followed by the sweep.
func (b *Batches) ensureItem(ctx context.Context, ref BatchRef, id string, data []byte) (
	*Prediction, error) {
	p, upload := b.newItem(ref, id, data)
	p, created, err := b.enq.ensure(ctx, p, upload)
	if err != nil {
		return nil, err
	}

	if err := b.db.markPending(ctx, ref.ID, id); err != nil {
		return nil, err
	}
	if p.Status.Terminal() {
		if err := b.itemEnded(ctx, ref.ID, id, p.Status); err != nil {
			return nil, err
		}
	}

	if created {
		b.cfg.Logger.Debug("batch image added", "batch_id", ref.ID, "prediction_id", id,
			"status", string(p.Status))
	}
	return p, nil
}

// newItem builds the record of a batch image: queued on the batch queue,
// or failed at once (without an upload to keep) when its header is not an
// image DermQ can read.
func (b *Batches) newItem(ref BatchRef, id string, data []byte) (*Prediction, []byte) {
	p := b.enq.newPrediction(id, Submission{Upload: data})
	p.Queue, p.Batch = QueueBatch, &ref

	info, err := Inspect(data, b.cfg.MaxPixels)
	var inputErr *InputError
	if errors.As(err, &inputErr) {
		t := now()
		p.Status, p.CompletedAt = StatusFailed, &t
		p.Error = &ErrorInfo{Code: inputErr.Code, Message: inputErr.Sentence()}
		return p, nil
	}

	p.Input.Format, p.Input.Width, p.Input.Height = info.Format, info.Width, info.Height
	return p, data
}

// Seal closes a batch to new images. Sealing twice is harmless. When every
// image already ended, the batch completes now.
func (b *Batches) Seal(ctx context.Context, batch string) (*Batch, error) {
	completed, err := b.db.seal(ctx, batch)
	if err != nil {
		return nil, err
	}
	if completed {
		b.notify(ctx, batch)
	}

	return b.Get(ctx, batch)
}

// emptyCounts has every status at zero, so the JSON always lists them all.
func emptyCounts() map[Status]int {
	return map[Status]int{
		StatusStarting: 0, StatusProcessing: 0,
		StatusSucceeded: 0, StatusFailed: 0, StatusCanceled: 0,
	}
}
