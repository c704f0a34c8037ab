package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// reconcileAfter is how long a prediction stays unfinished before a read
// checks it against the queue. Younger ones are surely still queued or
// running, and polling clients read them often.
const reconcileAfter = 30 * time.Second

// stale reports whether p has gone without news long enough to be checked
// against the queue.
func stale(p *Prediction) bool {
	last := p.CreatedAt
	if p.StartedAt != nil {
		last = *p.StartedAt
	}

	return time.Since(last) > reconcileAfter
}

// reconcile checks an unfinished prediction against its queue task. When
// the queue no longer holds a live task (it archived the task after its
// retries ran out, or the task was lost) the prediction is marked failed so
// that clients stop waiting for it.
func (e *Enqueuer) reconcile(ctx context.Context, p *Prediction) (*Prediction, error) {
	info, err := e.inspector.GetTaskInfo(p.queue(), p.ID)
	if err != nil && !isMissingTask(err) {
		e.cfg.Logger.Warn("inspecting task", "prediction_id", p.ID, "error", err)
		return p, nil
	}
	if err == nil && info.State != asynq.TaskStateArchived {
		return p, nil
	}

	failed, err := e.store.MarkFailed(ctx, p.ID, abandonedError(p, info))
	if errors.Is(err, ErrFinished) {
		return failed, e.store.Renotify(ctx, failed)
	}
	if err != nil && !errors.Is(err, ErrWebhookNotRecorded) {
		return nil, err
	}

	e.cfg.Logger.Warn("prediction abandoned by the queue", "prediction_id", p.ID,
		"attempts", failed.Attempts)
	return failed, nil
}

func isMissingTask(err error) bool {
	return errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound)
}

// abandonedError explains a prediction the queue gave up on.
func abandonedError(p *Prediction, info *asynq.TaskInfo) ErrorInfo {
	if info == nil {
		return ErrorInfo{
			Code:    CodeInternal,
			Message: "The job for this image was lost by the queue. Please upload it again.",
		}
	}

	return ErrorInfo{
		Code: CodeInternal,
		Message: fmt.Sprintf("The worker stopped while processing this image %d times "+
			"(last error: %s). Please try a smaller image or try again later.",
			p.Attempts, info.LastErr),
	}
}
