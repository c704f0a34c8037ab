package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dermq/dermq/inference"
)

// batchFixture is one test's batch pipeline on its own Redis database: an
// enqueuer, Batches, and a worker whose predictor records what it ran.
type batchFixture struct {
	enq       *Enqueuer
	batches   *Batches
	worker    *Worker
	predictor *recordingPredictor
	completed chan *Batch
	// bodies receives the JSON each OnCompleted call was given.
	bodies chan []byte
}

func newBatchFixture(t *testing.T) *batchFixture {
	t.Helper()

	rdb := testRedis(t)
	logger := slog.New(slog.DiscardHandler)
	store := NewStore(rdb, StoreConfig{Retention: time.Hour})
	f := &batchFixture{
		enq:       NewEnqueuer(rdb, store, EnqueuerConfig{Logger: logger}),
		predictor: &recordingPredictor{ran: map[[32]byte]int{}},
		completed: make(chan *Batch, 10),
		bodies:    make(chan []byte, 10),
	}
	f.batches = NewBatches(f.enq, BatchesConfig{
		ValidateWebhook: func(string) error { return nil },
		SweepInterval:   20 * time.Millisecond, Logger: logger,
		OnCompleted: func(_ context.Context, b *Batch, body []byte) error {
			f.bodies <- body
			f.completed <- b
			return nil
		},
	})
	f.worker = NewWorker(rdb, WorkerConfig{Logger: logger, ShutdownTimeout: time.Second})
	f.worker.Handle(TypePredict, NewHandler(store, f.predictor, logger))

	return f
}

// start runs the worker and the sweep until the test ends.
func (f *batchFixture) start(t *testing.T) {
	t.Helper()

	if err := f.worker.Start(context.Background()); err != nil {
		t.Fatalf("starting worker: %v", err)
	}
	t.Cleanup(f.worker.Shutdown)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		f.batches.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitCompleted waits for OnCompleted and checks it is not called again.
func (f *batchFixture) waitCompleted(t *testing.T) *Batch {
	t.Helper()

	var b *Batch
	select {
	case b = <-f.completed:
	case <-time.After(20 * time.Second):
		t.Fatalf("batch did not complete in time")
	}

	select {
	case again := <-f.completed:
		t.Fatalf("OnCompleted called twice, again with %+v", again)
	case <-time.After(200 * time.Millisecond):
	}

	return b
}

// recordingPredictor succeeds on every image and records the order it ran
// them in and how often each ran. While gate is set, each call waits for a
// token from it after announcing itself on started.
type recordingPredictor struct {
	mu      sync.Mutex
	order   [][32]byte
	ran     map[[32]byte]int
	gate    chan struct{}
	started chan struct{}
	calls   atomic.Int32
}

func (p *recordingPredictor) Predict(ctx context.Context, data []byte,
	_ inference.Request) (*inference.Result, error) {
	p.calls.Add(1)
	if p.gate != nil {
		p.started <- struct{}{}
		<-p.gate
	}

	sum := sha256.Sum256(data)
	p.mu.Lock()
	p.order = append(p.order, sum)
	p.ran[sum]++
	p.mu.Unlock()

	return &inference.Result{
		Model: inference.ModelInfo{Name: "recording", Version: "1"},
		Class: inference.Class{Label: "nevus", Probability: 0.8},
		Top: []inference.Class{
			{Label: "nevus", Probability: 0.8}, {Label: "mel", Probability: 0.2},
		},
		Display: []byte("jpeg"),
		Heatmap: []byte("png of " + string(data[len(data)-8:])),
	}, nil
}

// testPNG encodes a small image whose colour makes its bytes unique to n.
func testPNG(t testing.TB, n int) []byte {
	t.Helper()

	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(n >> (8 * (i % 3)))
	}
	img.Set(0, 0, color.RGBA{R: byte(n), G: byte(n >> 8), B: 7, A: 255})

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatalf("encoding png: %v", err)
	}

	return buf.Bytes()
}

func TestBatchAddIsIdempotent(t *testing.T) {
	t.Parallel()

	f := newBatchFixture(t)
	ctx := context.Background()
	b, err := f.batches.CreateBatch(ctx, BatchOptions{})
	if err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	img := testPNG(t, 1)

	first, err := f.batches.Add(ctx, b.ID, "a/b.png", img)
	if err != nil {
		t.Fatalf("first Add: %v", err)
	}

	t.Run("the same image at the same path maps to the same prediction", func(t *testing.T) {
		again, err := f.batches.Add(ctx, b.ID, "./a/b.png", img)
		if err != nil {
			t.Fatalf("second Add: %v", err)
		}
		if again.ID != first.ID || !again.Duplicate || first.Duplicate {
			t.Fatalf("second Add = %+v, first %+v; want the same id marked duplicate",
				again, first)
		}
	})

	t.Run("another image at the same path is refused", func(t *testing.T) {
		_, err := f.batches.Add(ctx, b.ID, "a/b.png", testPNG(t, 2))
		if !errors.Is(err, ErrBatchPathTaken) {
			t.Fatalf("Add = %v, want ErrBatchPathTaken", err)
		}
	})

	t.Run("a path that climbs out is refused", func(t *testing.T) {
		_, err := f.batches.Add(ctx, b.ID, "../b.png", img)
		if !errors.Is(err, ErrBadItemPath) {
			t.Fatalf("Add = %v, want ErrBadItemPath", err)
		}
	})

	t.Run("the duplicated image runs once", func(t *testing.T) {
		if _, err := f.batches.Seal(ctx, b.ID); err != nil {
			t.Fatalf("Seal: %v", err)
		}
		f.start(t)

		done := f.waitCompleted(t)
		if done.Total != 1 || done.Counts[StatusSucceeded] != 1 {
			t.Fatalf("completed batch = %+v, want one succeeded image", done)
		}
		if got := f.predictor.calls.Load(); got != 1 {
			t.Fatalf("predictor ran %d times, want 1", got)
		}
	})
}

func TestBatchCompletesOnce(t *testing.T) {
	t.Parallel()

	f := newBatchFixture(t)
	ctx := context.Background()
	b, err := f.batches.CreateBatch(ctx, BatchOptions{
		BaseURL: "https://dermq.example.org", Webhook: "https://example.com/hook",
		WebhookEventsFilter: []string{"completed"},
	})
	if err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}

	for i := range 12 {
		if _, err := f.batches.Add(ctx, b.ID, "img/"+string(rune('a'+i))+".png",
			testPNG(t, 100+i)); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	bad, err := f.batches.Add(ctx, b.ID, "notes.png", []byte("not an image at all"))
	if err != nil {
		t.Fatalf("Add of a non-image: %v", err)
	}
	if bad.Status != StatusFailed || bad.Error == nil {
		t.Fatalf("non-image item = %+v, want failed with a reason", bad)
	}

	sealed, err := f.batches.Seal(ctx, b.ID)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if sealed.Status != BatchProcessing || sealed.Total != 13 {
		t.Fatalf("sealed batch = %+v, want processing with 13 images", sealed)
	}
	if _, err := f.batches.Add(ctx, b.ID, "late.png", testPNG(t, 99)); !errors.Is(err,
		ErrBatchSealed) {
		t.Fatalf("Add after Seal = %v, want ErrBatchSealed", err)
	}

	pollers := pollBatch(ctx, f.batches, b.ID)
	f.start(t)
	done := f.waitCompleted(t)
	pollers()

	t.Run("every image ended with the right counts", func(t *testing.T) {
		got, err := f.batches.Get(ctx, b.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if got.Status != BatchCompleted || got.Ended != 13 || got.Progress != 1 {
			t.Fatalf("batch = %+v, want completed, 13 ended", got)
		}
		if got.Counts[StatusSucceeded] != 12 || got.Counts[StatusFailed] != 1 {
			t.Fatalf("counts = %v, want 12 succeeded, 1 failed", got.Counts)
		}
		if done.Webhook != "https://example.com/hook" {
			t.Fatalf("completed batch lost its webhook: %+v", done)
		}
	})

	t.Run("the completion body is the batch as the API shows it", func(t *testing.T) {
		body := <-f.bodies
		got, err := f.batches.Get(ctx, b.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		items, next, err := f.batches.Items(ctx, b.ID, 0, DefaultBatchPageSize)
		if err != nil {
			t.Fatalf("Items: %v", err)
		}
		for _, it := range items {
			if (it.Status == StatusSucceeded) != (it.Class != nil) {
				t.Fatalf("item %+v: a class exactly when it succeeded", it)
			}
		}
		want, err := json.Marshal(NewBatchView(got, items, next, "https://dermq.example.org"))
		if err != nil {
			t.Fatalf("encoding the view: %v", err)
		}
		if !bytes.Equal(body, want) {
			t.Fatalf("completion body\n%s\nwant the API's view\n%s", body, want)
		}
	})

	t.Run("results list every image in order with its outcome", func(t *testing.T) {
		var rows []BatchResult
		err := f.batches.EachResult(ctx, b.ID, func(r BatchResult) error {
			rows = append(rows, r)
			return nil
		})
		if err != nil {
			t.Fatalf("EachResult: %v", err)
		}
		if len(rows) != 13 || rows[0].Path != "img/a.png" || rows[12].Path != "notes.png" {
			t.Fatalf("got %d rows from %q to %q", len(rows), rows[0].Path, rows[len(rows)-1].Path)
		}
		if rows[0].Label != "nevus" || len(rows[0].Top) != 2 {
			t.Fatalf("first row = %+v, want nevus with top 2", rows[0])
		}
		if rows[12].Status != "failed" || rows[12].ErrorCode == "" || rows[12].Error == "" {
			t.Fatalf("last row = %+v, want failed with a reason", rows[12])
		}
	})

	t.Run("items page through the batch", func(t *testing.T) {
		var paths []string
		for start, pages := 0, 0; ; pages++ {
			items, next, err := f.batches.Items(ctx, b.ID, start, 5)
			if err != nil {
				t.Fatalf("Items: %v", err)
			}
			for _, it := range items {
				paths = append(paths, it.Path)
			}
			if next == 0 {
				break
			}
			start = next
		}
		if len(paths) != 13 || paths[5] != "img/f.png" {
			t.Fatalf("paged paths = %q", paths)
		}
	})
}

// pollBatch reads the batch from several goroutines until stopped, so
// completion races against Get as it would with many clients polling.
func pollBatch(ctx context.Context, b *Batches, id string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				b.Get(ctx, id)
			}
		})
	}

	return func() {
		cancel()
		wg.Wait()
	}
}

func TestBatchItemsWaitBehindSingleUploads(t *testing.T) {
	t.Parallel()

	f := newBatchFixture(t)
	f.predictor.gate = make(chan struct{})
	f.predictor.started = make(chan struct{}, 64)
	ctx := context.Background()
	b, err := f.batches.CreateBatch(ctx, BatchOptions{})
	if err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	for i := range 20 {
		if _, err := f.batches.Add(ctx, b.ID, string(rune('a'+i))+".png",
			testPNG(t, 200+i)); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	f.start(t)
	waitStarted(t, f.predictor)

	single := testPNG(t, 999)
	if _, err := f.enq.Submit(ctx, Submission{Upload: single}); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	f.predictor.gate <- struct{}{}
	waitStarted(t, f.predictor)
	f.predictor.gate <- struct{}{}
	waitStarted(t, f.predictor)

	f.predictor.mu.Lock()
	second := f.predictor.order[1]
	f.predictor.mu.Unlock()
	if second != sha256.Sum256(single) {
		t.Fatalf("the single upload did not run next after the batch image in progress")
	}
	close(f.predictor.gate)
}

// waitStarted waits until the predictor announces a call.
func waitStarted(t *testing.T, p *recordingPredictor) {
	t.Helper()

	select {
	case <-p.started:
	case <-time.After(10 * time.Second):
		t.Fatalf("no prediction started in time")
	}
}

func TestSubmitOnce(t *testing.T) {
	t.Parallel()

	f := newBatchFixture(t)
	ctx := context.Background()
	img := testPNG(t, 5)

	first, dup, err := f.enq.SubmitOnce(ctx, "key-1", Submission{Upload: img})
	if err != nil || dup {
		t.Fatalf("first SubmitOnce = %v, duplicate %v", err, dup)
	}

	t.Run("the same key and image return the same prediction", func(t *testing.T) {
		again, dup, err := f.enq.SubmitOnce(ctx, "key-1", Submission{Upload: img})
		if err != nil || !dup || again.ID != first.ID {
			t.Fatalf("second SubmitOnce = %+v, %v, %v; want id %s, duplicate", again, dup, err,
				first.ID)
		}
	})

	t.Run("the same key with another image is refused", func(t *testing.T) {
		_, _, err := f.enq.SubmitOnce(ctx, "key-1", Submission{Upload: testPNG(t, 6)})
		if !errors.Is(err, ErrIdempotencyMismatch) {
			t.Fatalf("SubmitOnce = %v, want ErrIdempotencyMismatch", err)
		}
	})

	t.Run("the prediction runs once", func(t *testing.T) {
		f.start(t)
		deadline := time.After(10 * time.Second)
		for {
			p, err := f.enq.Get(ctx, first.ID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if p.Status.Terminal() {
				break
			}
			select {
			case <-deadline:
				t.Fatalf("prediction did not finish")
			case <-time.After(10 * time.Millisecond):
			}
		}
		if got := f.predictor.calls.Load(); got != 1 {
			t.Fatalf("predictor ran %d times, want 1", got)
		}
	})
}
