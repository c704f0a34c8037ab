package jobs

import (
	"context"
	"testing"
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
