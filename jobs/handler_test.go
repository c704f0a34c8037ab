package jobs

import (
	"context"
	"testing"
)

func TestPredictionSucceeds(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, 2, succeed)
	p.start(t)

	pred := p.waitFinished(t, p.submit(t).ID)

	if pred.Status != StatusSucceeded || pred.Output.Class.Label != "nevus" {
		t.Fatalf("prediction = %+v, want succeeded with class nevus", pred)
	}
	heatmap, err := p.store.Heatmap(context.Background(), pred.ID)
	if err != nil || string(heatmap) != "png" {
		t.Fatalf("Heatmap = %q, %v; want the stored PNG", heatmap, err)
	}
	if !p.uploadGone(t, pred.ID) {
		t.Fatalf("upload of %s still stored after the job ended", pred.ID)
	}
}

func TestInputErrorFailsWithoutRetry(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, 3, inputError, succeed)
	p.start(t)

	pred := p.waitFinished(t, p.submit(t).ID)

	if pred.Status != StatusFailed || pred.Error.Message != "The image is damaged." {
		t.Fatalf("prediction = %+v, want failed with the input error's message", pred)
	}
	if got := p.predictor.calls.Load(); got != 1 {
		t.Fatalf("predictor called %d times, want 1", got)
	}
	if !p.uploadDropped(t, pred.ID) {
		t.Fatalf("upload of %s still stored after the job failed", pred.ID)
	}
}

func TestInfrastructureErrorIsRetried(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, 3, hiccup, succeed)
	p.start(t)

	pred := p.waitFinished(t, p.submit(t).ID)

	if pred.Status != StatusSucceeded || pred.Attempts != 2 {
		t.Fatalf("prediction = %+v, want succeeded on the second attempt", pred)
	}
}

func TestLastAttemptMarksFailed(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, 1, hiccup)
	p.start(t)

	pred := p.waitFinished(t, p.submit(t).ID)

	if pred.Status != StatusFailed || pred.Error.Code != CodeInternal {
		t.Fatalf("prediction = %+v, want failed with an internal error", pred)
	}
	if got := p.predictor.calls.Load(); got != 2 {
		t.Fatalf("predictor called %d times, want 2 (one try, one retry)", got)
	}
}
