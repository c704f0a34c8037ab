package inference

import (
	"context"
	"fmt"
	"image"
	"runtime"
	"runtime/debug"
	"time"
)

// collectAfterPixels is the photo size from which Predict collects garbage
// once the inputs are made (collectDecoded).
const collectAfterPixels = 4_000_000

// collectDecoded collects the decoder's garbage after a photo of size of
// collectAfterPixels or more (6 MB of planes for 4 MP, four times that for
// a PNG), so that the rest of the job reuses those buffers instead of adding
// to its peak; it takes 0.3 to 0.7 ms. When the model is yet to be loaded,
// the freed pages also go back to the system, a few more milliseconds: the
// session build, whose own peak is high, allocates outside the Go heap.
func (e *Engine) collectDecoded(size image.Point) {
	switch {
	case size.X*size.Y < collectAfterPixels:
	case e.Loaded():
		runtime.GC()
	default:
		debug.FreeOSMemory()
	}
}

// Predict decodes one image, runs the model, explains the chosen class with
// Grad-CAM and renders the heatmap. Problems with the image itself, or an
// unknown requested class, are *InputError. When ctx ends during the model
// run, the run is stopped and ctx.Err() returned.
func (e *Engine) Predict(ctx context.Context, data []byte, req Request) (*Result, error) {
	class, err := resolveClass(req.Class, e.manifest.Labels, len(e.manifest.Labels))
	if err != nil {
		return nil, err
	}

	start := time.Now()
	tensor, photo, size, err := decodeInputs(data, e.preprocess, e.opts.MaxPixels,
		e.opts.DisplaySize)
	if err != nil {
		return nil, err
	}
	e.collectDecoded(size)
	decodeMS := sinceMS(start)

	res, err := e.predictTensor(ctx, tensor, class)
	if err != nil {
		return nil, err
	}
	res.Timings.DecodeMS = decodeMS
	res.Width, res.Height = size.X, size.Y

	start = time.Now()
	if err := e.render(photo, res); err != nil {
		return nil, err
	}
	res.Timings.RenderMS = sinceMS(start)
	return res, nil
}

// render fills the display photo and, when Grad-CAM succeeded, the heatmap,
// both from img, the photo already scaled down by fitDisplay.
func (e *Engine) render(img *image.NRGBA, res *Result) error {
	display, err := DisplayJPEG(img, e.opts.DisplaySize)
	if err != nil {
		return err
	}
	res.Display = display
	if res.CAM == nil {
		return nil
	}

	heatmap, err := RenderHeatmap(img, res.CAM, e.opts.DisplaySize)
	if err != nil {
		return err
	}
	res.Heatmap = heatmap
	return nil
}

// predictTensor runs the model on one preprocessed input tensor and
// computes Grad-CAM for class, or for the top class when class is -1.
func (e *Engine) predictTensor(ctx context.Context, tensor []float32, class int) (*Result, error) {
	start := time.Now()
	outputs, err := e.run(ctx, tensor)
	if err != nil {
		return nil, err
	}
	res := &Result{Model: ModelInfo{Name: e.manifest.Name, Version: e.manifest.Version}}
	res.Timings.InferenceMS = sinceMS(start)

	probs := probabilities(outputs[0].data, e.manifest.Output.Kind)
	if !isFinite(probs) || len(probs) == 0 {
		return nil, fmt.Errorf("running model %s: the output holds no valid scores",
			e.manifest.Name)
	}
	if class >= len(probs) {
		return nil, &InputError{Code: CodeUnknownClass, Message: fmt.Sprintf(
			"unknown class %d: the model has %d classes", class, len(probs))}
	}
	if class < 0 {
		class = argmax(probs)
	}
	res.Top = topK(probs, e.manifest.Labels, e.opts.TopK)
	res.Class = classOf(class, probs, e.manifest.Labels)
	res.Class.Name = e.manifest.LabelNames[res.Class.Label]
	for i := range res.Top {
		res.Top[i].Name = e.manifest.LabelNames[res.Top[i].Label]
	}

	start = time.Now()
	e.explain(res, outputs, class)
	res.Timings.GradCAMMS = sinceMS(start)
	return res, nil
}

// run feeds the tensor to the session, loading it first if needed.
func (e *Engine) run(ctx context.Context, tensor []float32) ([]floatOutput, error) {
	shape := e.inputShape()
	if int64(len(tensor)) != shapeSize64(shape) {
		return nil, fmt.Errorf("running model %s: input tensor has %d values, want %d for %v",
			e.manifest.Name, len(tensor), shapeSize64(shape), shape)
	}

	if err := e.lock.lockCtx(ctx); err != nil {
		return nil, err
	}
	defer e.lock.unlock()
	s, err := e.sessionLocked()
	if err != nil {
		return nil, err
	}
	return s.run(ctx, shape, tensor)
}

// explain fills res.CAM, or res.GradCAMError when Grad-CAM is unavailable
// for this model or this image.
func (e *Engine) explain(res *Result, outputs []floatOutput, class int) {
	if e.plan.head == nil {
		res.GradCAMError = e.plan.problem
		return
	}
	target := outputs[len(outputs)-1]
	cam, err := e.plan.head.compute(activation{shape: target.shape, data: target.data}, class)
	if err == nil {
		err = e.plan.checkReplay(cam.scores, outputs[0].data)
	}
	if err != nil {
		res.GradCAMError = "computing Grad-CAM: " + err.Error()
		e.opts.Logger.Warn("grad-cam unavailable", "model", e.manifest.Name, "error", err)
		return
	}
	res.CAM = normalizeCAM(cam.raw)
}

// sinceMS returns the milliseconds since start.
func sinceMS(start time.Time) float64 {
	return float64(time.Since(start).Microseconds()) / 1000
}
