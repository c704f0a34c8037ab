package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dermq/dermq/inference"
	"github.com/redis/go-redis/v9"
)

// scriptedPredictor answers each call with the next step of a script; the
// pipeline tests use it to produce input and infrastructure errors on cue.
// The real model runs in the web package's integration test.
type scriptedPredictor struct {
	calls atomic.Int32
	steps []func() (*inference.Result, error)
}

func (p *scriptedPredictor) Predict(
	ctx context.Context, data []byte, req inference.Request,
) (*inference.Result, error) {
	n := int(p.calls.Add(1)) - 1
	return p.steps[min(n, len(p.steps)-1)]()
}

func succeed() (*inference.Result, error) {
	return &inference.Result{
		Model:   inference.ModelInfo{Name: "scripted", Version: "1"},
		Class:   inference.Class{Label: "nevus", Probability: 0.9},
		Top:     []inference.Class{{Label: "nevus", Probability: 0.9}},
		Display: []byte("jpeg"),
		Heatmap: []byte("png"),
	}, nil
}

func inputError() (*inference.Result, error) {
	return nil, &inference.InputError{Code: "corrupt_image", Message: "The image is damaged."}
}

func hiccup() (*inference.Result, error) {
	return nil, errors.New("connection reset")
}

// pipeline is one test's queue: an enqueuer and a worker on its own
// database.
type pipeline struct {
	rdb       *redis.Client
	store     *Store
	enqueuer  *Enqueuer
	predictor *scriptedPredictor
	worker    *Worker
}

func newPipeline(t *testing.T, maxRetry int, steps ...func() (*inference.Result, error)) *pipeline {
	t.Helper()

	rdb := testRedis(t)
	logger := slog.New(slog.DiscardHandler)
	store := NewStore(rdb, StoreConfig{Retention: time.Hour})
	p := &pipeline{
		rdb:       rdb,
		store:     store,
		enqueuer:  NewEnqueuer(rdb, store, EnqueuerConfig{MaxRetry: maxRetry, Logger: logger}),
		predictor: &scriptedPredictor{steps: steps},
		worker:    NewWorker(rdb, WorkerConfig{Logger: logger, ShutdownTimeout: time.Second}),
	}
	p.worker.Handle(TypePredict, NewHandler(store, p.predictor, logger))
	return p
}

func (p *pipeline) start(t *testing.T) {
	t.Helper()

	if err := p.worker.Start(context.Background()); err != nil {
		t.Fatalf("starting worker: %v", err)
	}
	t.Cleanup(p.worker.Shutdown)
}

func (p *pipeline) submit(t *testing.T) *Prediction {
	t.Helper()

	pred, err := p.enqueuer.Submit(context.Background(), Submission{Upload: []byte("photo")})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}

	return pred
}

// waitFinished polls the prediction until it reaches a terminal status.
func (p *pipeline) waitFinished(t *testing.T, id string) *Prediction {
	t.Helper()

	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-deadline:
			t.Fatalf("prediction %s did not finish in time", id)
		case <-tick.C:
		}

		got, err := p.enqueuer.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if got.Status.Terminal() {
			return got
		}
	}
}

func (p *pipeline) uploadGone(t *testing.T, id string) bool {
	t.Helper()

	_, err := p.store.Upload(context.Background(), id)
	return errors.Is(err, ErrNotFound)
}

// uploadDropped waits up to 5 s for the upload of a finished prediction to
// go: a failure is recorded first and the upload dropped after it.
func (p *pipeline) uploadDropped(t *testing.T, id string) bool {
	t.Helper()

	deadline := time.Now().Add(5 * time.Second)
	for !p.uploadGone(t, id) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
