package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// sample is one prediction's timeline as the benchmark saw it: when the
// client started the upload, and the worker's own timestamps.
type sample struct {
	sent      time.Time
	started   time.Time
	completed time.Time
	predict   time.Duration
}

// BenchmarkQueueOverhead measures what the queue adds to a prediction: the
// time from the start of the upload to the prediction's completion, minus
// the worker's own Predict time. It runs the real web app, Redis, worker and
// model on loopback with a small photo. Run it with -benchtime=200x.
func BenchmarkQueueOverhead(b *testing.B) {
	s := startStack(b, realEngine(b))
	photo := readShared(b, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")
	if _, err := s.uploadAndWait(photo, 10*time.Millisecond); err != nil {
		b.Fatalf("warming up the model: %v", err)
	}

	b.Run("sequential", func(b *testing.B) {
		var samples []sample
		for b.Loop() {
			got, err := s.uploadAndWait(photo, 5*time.Millisecond)
			if err != nil {
				b.Fatal(err)
			}
			samples = append(samples, got)
		}
		reportOverhead(b, samples)
	})

	b.Run("concurrent-20", func(b *testing.B) {
		var mu sync.Mutex
		var samples []sample
		b.SetParallelism(max(1, 20/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				got, err := s.uploadAndWait(photo, 100*time.Millisecond)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				samples = append(samples, got)
				mu.Unlock()
			}
		})
		reportOverhead(b, samples)
	})
}

// uploadAndWait posts photo and polls every poll until the prediction
// succeeds. The timeline comes from the server's own timestamps, so the
// polling interval does not blur it.
func (s *stack) uploadAndWait(photo []byte, poll time.Duration) (sample, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", "photo.jpg")
	_, _ = part.Write(photo)
	_ = w.Close()

	sent := time.Now()
	resp, err := s.client.Post(s.base+"/api/v1/predictions", w.FormDataContentType(), &body)
	if err != nil {
		return sample{}, fmt.Errorf("uploading: %w", err)
	}
	var v view
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		return sample{}, fmt.Errorf("uploading: status %d, %v", resp.StatusCode, err)
	}

	return s.pollDone(v.URLs.Get, sent, poll)
}

func (s *stack) pollDone(url string, sent time.Time, poll time.Duration) (sample, error) {
	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for range tick.C {
		if time.Now().After(deadline) {
			break
		}
		resp, err := s.client.Get(url)
		if err != nil {
			return sample{}, fmt.Errorf("polling: %w", err)
		}
		var v view
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil {
			return sample{}, fmt.Errorf("polling: %w", err)
		}
		if !v.Status.Terminal() {
			continue
		}
		if v.Metrics == nil || v.StartedAt == nil || v.CompletedAt == nil {
			return sample{}, fmt.Errorf("prediction %s ended %s without metrics", v.ID, v.Status)
		}

		return sample{
			sent:      sent,
			started:   *v.StartedAt,
			completed: *v.CompletedAt,
			predict:   time.Duration(v.Metrics.PredictMS * float64(time.Millisecond)),
		}, nil
	}

	return sample{}, fmt.Errorf("prediction at %s did not finish in time", url)
}

// reportOverhead reports the p50 and p95 of the queue overhead: each
// prediction's time from upload to completion minus the Predict time of
// every job the single worker ran inside that window (its own, and under
// concurrency the ones queued before it, counting the part of a job's
// Predict that overlaps the window; a job's Predict is taken to end at its
// completion, which it precedes by the few Redis writes of the worker). It
// also reports the part of the overhead spent inside the worker (from its
// start on the job to the completion, minus Predict) and the Predict time
// itself, and the queue's cost per job while the worker is kept busy: the
// span from the first job's start to the last job's completion, shared out
// among the jobs, minus their mean Predict time.
func reportOverhead(b *testing.B, samples []sample) {
	if len(samples) == 0 {
		return
	}

	overheads := make([]float64, 0, len(samples))
	predicts := make([]float64, 0, len(samples))
	inWorker := make([]float64, 0, len(samples))
	for _, s := range samples {
		busy := time.Duration(0)
		for _, o := range samples {
			busy += overlap(s.sent, s.completed, o.completed.Add(-o.predict), o.completed)
		}
		overheads = append(overheads, ms(s.completed.Sub(s.sent)-busy))
		predicts = append(predicts, ms(s.predict))
		inWorker = append(inWorker, ms(s.completed.Sub(s.started)-s.predict))
	}

	b.ReportMetric(quantile(overheads, 0.50), "overhead-p50-ms")
	b.ReportMetric(quantile(overheads, 0.95), "overhead-p95-ms")
	b.ReportMetric(quantile(inWorker, 0.50), "in-worker-p50-ms")
	b.ReportMetric(quantile(predicts, 0.50), "predict-p50-ms")
	b.ReportMetric(perJobOverhead(samples), "per-job-overhead-ms")
}

// perJobOverhead returns the worker's time per job, from the first start to
// the last completion, minus the mean Predict time.
func perJobOverhead(samples []sample) float64 {
	first, last := samples[0].started, samples[0].completed
	predict := time.Duration(0)
	for _, s := range samples {
		if s.started.Before(first) {
			first = s.started
		}
		if s.completed.After(last) {
			last = s.completed
		}
		predict += s.predict
	}

	n := time.Duration(len(samples))
	return ms(last.Sub(first)/n - predict/n)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quantile returns the q-quantile of values by the nearest-rank method.
func quantile(values []float64, q float64) float64 {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	rank := int(q*float64(len(sorted))+0.999999) - 1

	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// overlap returns how long [a0, a1] and [b0, b1] share.
func overlap(a0, a1, b0, b1 time.Time) time.Duration {
	start, end := a0, a1
	if b0.After(start) {
		start = b0
	}
	if b1.Before(end) {
		end = b1
	}

	return max(end.Sub(start), 0)
}
