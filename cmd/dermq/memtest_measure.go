package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/dermq/dermq/inference"
	"github.com/dermq/dermq/jobs"
)

// memoryReport holds memtest's figures, in bytes and durations.
type memoryReport struct {
	model        string
	images       int
	beforeLoad   uint64
	afterLoad    uint64
	afterLoadMix rssMix
	loadPeak     uint64
	firstTime    time.Duration
	peak         uint64
	addedAfter   []int64
	addedPeak    []int64
	times        []time.Duration
	whenIdle     uint64
	idleRelease  released
	afterIdle    measured
	afterUnloads []uint64
}

// measured is what one prediction cost.
type measured struct {
	before, peak, after uint64
	took                time.Duration
}

// measureMemory runs the load, predict and unload cycles and collects the
// figures.
func measureMemory(ctx context.Context, o memtestOptions) (*memoryReport, error) {
	photos, err := readPhotos(o.images)
	if err != nil {
		return nil, err
	}

	engine, err := newMemtestEngine(o)
	if err != nil {
		return nil, err
	}
	defer engine.Close()

	m := engine.Manifest()
	r := &memoryReport{model: fmt.Sprintf("%s (%s %s)", o.model, m.Name, m.Version),
		images: len(photos)}
	if _, err := releaseIf(o, engine.Library()); err != nil {
		return nil, err
	}
	if r.beforeLoad, err = jobs.RSS(); err != nil {
		return nil, err
	}

	for cycle := range o.cycles {
		if err := r.cycle(ctx, engine, photos, o, cycle == 0); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// cycle does with the model what a worker does. The first prediction loads
// it and memory is handed back at once, as after the job that loads the
// model. Every photo is then predicted o.runs times back to back, as queued
// jobs run; memory is handed back as an idle worker does, and one more
// prediction shows what the next job costs then. Last the model is unloaded.
func (r *memoryReport) cycle(ctx context.Context, engine *inference.Engine,
	photos [][]byte, o memtestOptions, first bool) error {
	load, err := measurePrediction(ctx, engine, photos[0], o)
	if err != nil {
		return err
	}
	if _, err := releaseIf(o, engine.Library()); err != nil {
		return err
	}
	if first {
		r.firstTime, r.loadPeak = load.took, load.peak
		if r.afterLoad, err = jobs.RSS(); err != nil {
			return err
		}
		r.afterLoadMix = readRSSMix()
	}

	for _, photo := range photos {
		for range o.runs {
			p, err := measurePrediction(ctx, engine, photo, o)
			if err != nil {
				return err
			}
			r.add(p)
		}
	}
	if err := r.idle(ctx, engine, photos[0], o, first); err != nil {
		return err
	}
	return r.unload(engine, o)
}

// add records one prediction of the back-to-back run.
func (r *memoryReport) add(p measured) {
	r.peak = max(r.peak, p.peak)
	r.addedAfter = append(r.addedAfter, int64(p.after)-int64(p.before))
	r.addedPeak = append(r.addedPeak, int64(p.peak)-int64(p.before))
	r.times = append(r.times, p.took)
}

// idle hands memory back as a worker that sat idle does, then measures one
// more prediction, which faults back in the code it runs.
func (r *memoryReport) idle(ctx context.Context, engine *inference.Engine, photo []byte,
	o memtestOptions, first bool) error {
	rel, err := releaseIf(o, engine.Library())
	if err != nil {
		return err
	}
	rss, err := jobs.RSS()
	if err != nil {
		return err
	}
	p, err := measurePrediction(ctx, engine, photo, o)
	if err != nil {
		return err
	}

	r.peak = max(r.peak, p.peak)
	if first {
		r.whenIdle, r.idleRelease, r.afterIdle = rss, rel, p
	}
	return nil
}

// unload drops the model, hands memory back and records the memory left.
func (r *memoryReport) unload(engine *inference.Engine, o memtestOptions) error {
	if err := engine.Unload(); err != nil {
		return fmt.Errorf("unloading the model: %w", err)
	}
	if _, err := releaseIf(o, engine.Library()); err != nil {
		return err
	}
	rss, err := jobs.RSS()
	r.afterUnloads = append(r.afterUnloads, rss)
	return err
}

// measurePrediction runs one prediction while sampling resident memory,
// then does what the worker's guard does after every job: it collects
// garbage and, past half of --max-rss, hands memory back as o asks.
func measurePrediction(ctx context.Context, engine *inference.Engine, photo []byte,
	o memtestOptions) (measured, error) {
	var p measured
	var err error
	if p.before, err = jobs.RSS(); err != nil {
		return p, err
	}

	done := make(chan struct{})
	peak := make(chan uint64)
	go samplePeak(p.before, done, peak)

	start := time.Now()
	_, err = engine.Predict(ctx, photo, inference.Request{})
	p.took = time.Since(start)
	close(done)
	p.peak = <-peak
	if err != nil {
		return p, fmt.Errorf("predicting: %w", err)
	}

	runtime.GC()
	if p.after, err = jobs.RSS(); err != nil {
		return p, err
	}
	p.peak = max(p.peak, p.after)
	if p.after > o.maxRSS/2 {
		if _, err := releaseIf(o, engine.Library()); err != nil {
			return p, err
		}
		p.after, err = jobs.RSS()
	}
	return p, err
}

// samplePeak reads resident memory every 2 ms until done is closed, then
// sends the highest reading.
func samplePeak(start uint64, done <-chan struct{}, peak chan<- uint64) {
	high := start
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()

	for {
		select {
		case <-done:
			if rss, err := jobs.RSS(); err == nil {
				high = max(high, rss)
			}
			peak <- high
			return
		case <-tick.C:
			if rss, err := jobs.RSS(); err == nil {
				high = max(high, rss)
			}
		}
	}
}

// readPhotos reads the named images, or makes one synthetic photo when
// there are none.
func readPhotos(paths []string) ([][]byte, error) {
	if len(paths) == 0 {
		photo, err := syntheticPhoto()
		return [][]byte{photo}, err
	}

	photos := make([][]byte, 0, len(paths))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading image: %w", err)
		}
		photos = append(photos, data)
	}
	return photos, nil
}

// syntheticPhoto draws a 1024x768 JPEG: a skin-toned gradient with a dark
// oval, the size of a typical dermoscopy upload.
func syntheticPhoto() ([]byte, error) {
	const w, h = 1024, 768
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dx, dy := float64(x-w/2)/200, float64(y-h/2)/140
			c := color.RGBA{R: uint8(200 + x%40), G: uint8(150 + y%30), B: 130, A: 255}
			if dx*dx+dy*dy < 1 {
				c = color.RGBA{R: 90, G: 60, B: 50, A: 255}
			}
			img.Set(x, y, c)
		}
	}

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("encoding the synthetic photo: %w", err)
	}
	return buf.Bytes(), nil
}

// median returns the middle value of vs.
func median[T int64 | time.Duration](vs []T) T {
	if len(vs) == 0 {
		return 0
	}
	sorted := slices.Clone(vs)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}
