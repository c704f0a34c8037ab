package jobs

import (
	"context"
	"errors"
	"testing"

	"github.com/dermq/dermq/inference"
)

func TestCanceledPredictionNeverRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPipeline(t, 2, succeed)

	canceled := p.submit(t)
	if _, err := p.enqueuer.Cancel(ctx, canceled.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	later := p.submit(t)
	p.start(t)

	if got := p.waitFinished(t, later.ID); got.Status != StatusSucceeded {
		t.Fatalf("later prediction = %+v, want succeeded", got)
	}
	if got := p.predictor.calls.Load(); got != 1 {
		t.Fatalf("predictor called %d times, want 1 (only the later prediction)", got)
	}
	got, err := p.enqueuer.Get(ctx, canceled.ID)
	if err != nil || got.Status != StatusCanceled || got.StartedAt != nil {
		t.Fatalf("canceled prediction = %+v, %v; want canceled and never started", got, err)
	}
	if !p.uploadGone(t, canceled.ID) {
		t.Fatalf("upload of canceled %s still stored", canceled.ID)
	}
}

func TestCancelLeavesFinishedPredictionAlone(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, 2, succeed)
	p.start(t)
	done := p.waitFinished(t, p.submit(t).ID)

	got, err := p.enqueuer.Cancel(context.Background(), done.ID)

	if err != nil || got.Status != StatusSucceeded {
		t.Fatalf("Cancel of a finished prediction = %+v, %v; want it unchanged", got, err)
	}
}

func TestPredictionCanceledWhileRunningStoresNoResult(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPipeline(t, 2)
	pred := p.submit(t)
	// The cancel lands while the model runs; the worker's context is not
	// canceled, as when the cancel signal does not reach it.
	p.predictor.steps = []func() (*inference.Result, error){func() (*inference.Result, error) {
		if _, err := p.store.MarkCanceled(ctx, pred.ID); err != nil {
			return nil, err
		}
		return succeed()
	}}
	p.start(t)

	got := p.waitFinished(t, pred.ID)
	if got.Status != StatusCanceled || got.Output != nil {
		t.Fatalf("prediction = %+v, want canceled without output", got)
	}
	if !p.uploadDropped(t, pred.ID) {
		t.Fatalf("upload of %s still stored after the job ended", pred.ID)
	}
	if _, err := p.store.Heatmap(ctx, pred.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Heatmap of a prediction canceled while running: %v, want ErrNotFound", err)
	}
	if _, err := p.store.Display(ctx, pred.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Display of a prediction canceled while running: %v, want ErrNotFound", err)
	}
}
