package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dermq/dermq/inference"
	"github.com/hibiken/asynq"
)

// fail decides what an error from one attempt means for the prediction and
// what asynq should do with the task.
func (h *Handler) fail(ctx context.Context, log *slog.Logger, p *Prediction, err error) error {
	if current, getErr := h.store.Get(context.WithoutCancel(ctx), p.ID); getErr == nil &&
		current.Status == StatusCanceled {
		log.Info("prediction canceled while running")
		h.dropUpload(ctx, log, p.ID)
		return nil
	}

	var inputErr *inference.InputError
	if errors.As(err, &inputErr) {
		log.Info("prediction failed on its input", "code", inputErr.Code, "error", err)
		info := ErrorInfo{Code: inputErr.Code, Message: inputErr.Sentence()}
		if hookErr := h.markFailed(ctx, log, p.ID, info); hookErr != nil {
			return hookErr
		}
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}

	if !lastAttempt(ctx) {
		log.Warn("prediction attempt failed, will retry", "attempt", p.Attempts, "error", err)
		return err
	}

	log.Error("prediction failed after its last attempt", "attempt", p.Attempts, "error", err)
	return errors.Join(err, h.markFailed(ctx, log, p.ID, ErrorInfo{
		Code: CodeInternal,
		Message: fmt.Sprintf("The server could not process the image after %d attempts "+
			"(an internal error, logged by the worker with prediction %s); try again later.",
			p.Attempts, p.ID),
	}))
}

// lastAttempt reports whether asynq will not retry the task after this one.
func lastAttempt(ctx context.Context) bool {
	retried, ok := asynq.GetRetryCount(ctx)
	if !ok {
		return true
	}
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	if !ok {
		return true
	}

	return retried >= maxRetry
}

// markFailed records that prediction id failed and drops its upload. It
// returns the error of a failure recorded without its webhook, for asynq to
// retry the task, which records the webhook then.
func (h *Handler) markFailed(ctx context.Context, log *slog.Logger, id string,
	info ErrorInfo) error {
	ctx = context.WithoutCancel(ctx)
	_, err := h.store.MarkFailed(ctx, id, info)
	h.dropUpload(ctx, log, id)

	switch {
	case errors.Is(err, ErrWebhookNotRecorded):
		return err
	case err != nil && !errors.Is(err, ErrFinished):
		log.Error("recording failure", "error", err)
	}
	return nil
}

func (h *Handler) dropUpload(ctx context.Context, log *slog.Logger, id string) {
	if err := h.store.DeleteUpload(context.WithoutCancel(ctx), id); err != nil {
		log.Error("deleting upload", "error", err)
	}
}
