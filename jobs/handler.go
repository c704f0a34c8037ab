package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dermq/dermq/inference"
	"github.com/hibiken/asynq"
)

// Predictor runs one prediction. *inference.Engine satisfies it.
type Predictor interface {
	Predict(ctx context.Context, data []byte, req inference.Request) (*inference.Result, error)
}

// Handler runs predict tasks: it reads the upload from the Store, calls the
// Predictor and stores the result, the display photo and the heatmap.
type Handler struct {
	store     *Store
	predictor Predictor
	logger    *slog.Logger
}

// NewHandler returns a Handler. A nil logger means slog.Default().
func NewHandler(store *Store, predictor Predictor, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.Default()
	}

	return &Handler{store: store, predictor: predictor, logger: logger}
}

// ProcessTask runs one predict task. Input errors fail the prediction at
// once and skip asynq's retries; other errors are returned so that asynq
// retries with backoff, and the last attempt marks the prediction failed.
func (h *Handler) ProcessTask(ctx context.Context, task *asynq.Task) error {
	payload, err := decodePredictPayload(task)
	if err != nil {
		h.logger.Error("archiving a task whose payload cannot be read", "error", err)
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}

	log := h.logger.With("prediction_id", payload.ID)
	p, err := h.store.MarkProcessing(ctx, payload.ID)
	if errors.Is(err, ErrFinished) || errors.Is(err, ErrNotFound) {
		log.Info("skipping prediction", "reason", skipReason(p, err))
		// The attempt that finished it may have died before its webhook
		// was recorded; an error has asynq try again.
		return h.store.Renotify(ctx, p)
	}
	if err != nil {
		return err
	}
	if stop, err := h.beginAttempt(ctx, log, payload.ID); stop {
		return err
	}

	err = h.run(ctx, log, payload)
	h.endAttempt(ctx, log, payload.ID)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrWebhookNotRecorded) {
		log.Warn("prediction ended; its webhook is recorded on a retry", "error", err)
		return err
	}

	return h.fail(ctx, log, p, err)
}

func skipReason(p *Prediction, err error) string {
	if p == nil {
		return "expired"
	}
	if errors.Is(err, ErrFinished) {
		return string(p.Status)
	}

	return err.Error()
}

// run predicts and stores the outcome. The upload is deleted once the
// prediction has an outcome, so that no photo outlives its job.
func (h *Handler) run(ctx context.Context, log *slog.Logger, payload PredictPayload) error {
	data, err := h.store.Upload(ctx, payload.ID)
	if errors.Is(err, ErrNotFound) {
		return &inference.InputError{
			Code:    CodeUploadExpired,
			Message: "The uploaded image expired before it could be processed. Please upload it again.",
			Err:     err,
		}
	}
	if err != nil {
		return err
	}

	start := time.Now()
	hogForTest(ctx, payload.ID)
	res, err := h.predictor.Predict(ctx, data, inference.Request{Class: payload.Class})
	if err != nil {
		return fmt.Errorf("predicting %s: %w", payload.ID, err)
	}

	took := time.Since(start)
	stored, err := h.succeed(ctx, payload.ID, res, took)
	if err != nil {
		return err
	}

	if !stored {
		log.Info("prediction canceled while running, result dropped",
			"duration_ms", took.Milliseconds())
		return nil
	}
	log.Info("prediction succeeded", "label", res.Class.Label,
		"probability", res.Class.Probability, "duration_ms", took.Milliseconds())
	return nil
}

// succeed stores the result unless the prediction was canceled while it
// ran; stored says which. Either way the upload is deleted.
func (h *Handler) succeed(
	ctx context.Context, id string, res *inference.Result, took time.Duration,
) (stored bool, err error) {
	m := Metrics{PredictMS: float64(took.Microseconds()) / 1000}
	_, err = h.store.MarkSucceeded(ctx, id, res, m, res.Display, res.Heatmap)
	if errors.Is(err, ErrFinished) {
		return false, h.store.DeleteUpload(ctx, id)
	}
	if err != nil && !errors.Is(err, ErrWebhookNotRecorded) {
		return false, err
	}

	return true, err
}
