package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrFinished is returned when a prediction that already reached a
// terminal status is asked to change again.
var ErrFinished = errors.New("prediction already finished")

// now is the store's clock, in UTC and rounded to the millisecond so that
// records read back equal what was written.
func now() time.Time { return time.Now().UTC().Round(time.Millisecond) }

// MarkProcessing records that a worker started prediction id, and sends
// its start webhook. An error wrapping ErrWebhookNotRecorded comes with the
// updated prediction: the change was stored, its webhook was not.
func (s *Store) MarkProcessing(ctx context.Context, id string) (*Prediction, error) {
	p, err := s.Update(ctx, id, func(p *Prediction) error {
		if p.Status.Terminal() {
			return fmt.Errorf("starting %s: %w", id, ErrFinished)
		}

		t := now()
		p.Status = StatusProcessing
		if p.StartedAt == nil {
			p.StartedAt = &t
		}
		p.Attempts++
		return nil
	})
	if err == nil {
		err = s.cfg.Webhooks.Notify(ctx, p, WebhookEventStart)
	}

	return p, err
}

// MarkSucceeded records the output of prediction id, the worker's metrics,
// the display photo and the heatmap, and deletes the upload, all in one
// transaction: a prediction canceled meanwhile gets none of it
// (ErrFinished).
func (s *Store) MarkSucceeded(
	ctx context.Context, id string, out *Output, m Metrics, display, heatmap []byte,
) (*Prediction, error) {
	return s.finishWith(ctx, id, func(p *Prediction) {
		p.Status = StatusSucceeded
		p.Output = out
		p.Metrics = &m
	}, func(pipe redis.Pipeliner) {
		s.saveImages(ctx, pipe, id, display, heatmap)
	})
}

// MarkFailed records why prediction id failed.
func (s *Store) MarkFailed(ctx context.Context, id string, info ErrorInfo) (*Prediction, error) {
	return s.finish(ctx, id, func(p *Prediction) {
		p.Status = StatusFailed
		p.Error = &info
	})
}

// MarkCanceled records that prediction id was canceled.
func (s *Store) MarkCanceled(ctx context.Context, id string) (*Prediction, error) {
	return s.finish(ctx, id, func(p *Prediction) {
		p.Status = StatusCanceled
	})
}

// finish records a terminal status and sends the completed webhook. As
// with MarkProcessing, ErrWebhookNotRecorded comes with the prediction.
func (s *Store) finish(ctx context.Context, id string, set func(*Prediction)) (*Prediction, error) {
	return s.finishWith(ctx, id, set, nil)
}

// finishWith is finish that also queues also's commands in the transaction
// that records the terminal status.
func (s *Store) finishWith(ctx context.Context, id string, set func(*Prediction),
	also func(redis.Pipeliner)) (*Prediction, error) {
	p, err := s.update(ctx, id, func(p *Prediction) error {
		if p.Status.Terminal() {
			return fmt.Errorf("finishing %s: %w", id, ErrFinished)
		}

		t := now()
		set(p)
		p.CompletedAt = &t
		return nil
	}, also)
	if err == nil {
		err = s.cfg.Webhooks.Notify(ctx, p, WebhookEventCompleted)
	}

	return p, err
}
