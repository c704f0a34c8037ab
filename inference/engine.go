package inference

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// Engine runs one model: it reads the model and its manifest when built,
// creates the ONNX Runtime session on the first Predict, reuses it, and
// drops it on Unload or Close. It is safe for concurrent use; predictions
// run one at a time.
type Engine struct {
	opts     Options
	library  string
	manifest Manifest
	info     *graphInfo
	plan     camPlan
	// preprocess makes input tensors as the manifest says.
	preprocess Preprocess

	// lock guards sess and closed and serialises runs.
	lock   runLock
	sess   *session
	closed bool
	// loaded mirrors sess != nil, so Loaded never waits for a run.
	loaded atomic.Bool
}

// runLock is a mutex whose Lock can give up when a context ends.
type runLock chan struct{}

// lockCtx takes the lock, or returns ctx.Err() if ctx ends first.
func (l runLock) lockCtx(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lockWait takes the lock, however long it takes.
func (l runLock) lockWait() { l <- struct{}{} }

// unlock releases the lock.
func (l runLock) unlock() { <-l }

// ErrClosed is returned by an Engine used after Close.
var ErrClosed = errors.New("the inference engine is closed")

// NewEngine reads the model at opts.ModelPath and its manifest, detects what
// the graph tells, and prepares Grad-CAM. It creates no session: the first
// Predict does.
func NewEngine(opts Options) (*Engine, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	library, err := FindLibrary(opts.LibraryPath)
	if err != nil {
		return nil, err
	}

	e := &Engine{opts: opts, library: library, lock: make(runLock, 1)}
	if err := e.readModel(); err != nil {
		return nil, fmt.Errorf("reading model %s: %w", opts.ModelPath, err)
	}

	opts.Logger.Info("model ready", "model", e.manifest.Name, "version", e.manifest.Version,
		"input", e.manifest.Input.Name, "layout", e.manifest.Input.Layout,
		"size", e.manifest.Input.Size, "output", e.manifest.Output.Name,
		"output_kind", e.manifest.Output.Kind,
		"gradcam_target", e.camTarget(), "gradcam_problem", e.plan.problem)
	e.warnDoubleActivation()
	return e, nil
}

// warnDoubleActivation warns when the manifest calls the output logits
// although the graph already ends in Softmax or Sigmoid: softmax is then
// applied on top of probabilities, which flattens them. Left to itself,
// the manifest's kind would have been "probabilities".
func (e *Engine) warnDoubleActivation() {
	_, final := e.info.classScores()
	if final == "" || e.manifest.Output.Kind != OutputLogits {
		return
	}
	e.opts.Logger.Warn("manifest output.kind is logits but the graph ends in "+final+
		": softmax is applied on top; remove output.kind or set it to probabilities",
		"model", e.manifest.Name, "output", e.manifest.Output.Name)
}

// readModel parses the graph and manifest and plans Grad-CAM. The model is
// read through a memory map released before returning: nothing kept points
// into it (names, shapes and head weights are copies).
func (e *Engine) readModel() error {
	raw, release, err := mapModel(e.opts.ModelPath)
	if err != nil {
		return err
	}
	defer release()
	model, err := parseONNX(raw)
	if err != nil {
		return err
	}
	manifest, err := readManifest(manifestPath(e.opts.ModelPath))
	if err != nil {
		return err
	}

	info, err := inspectGraph(model, manifest.Output.Name)
	if err != nil {
		return err
	}
	if err := manifest.complete(info, filepath.Base(e.opts.ModelPath)); err != nil {
		return err
	}
	plan, err := planGradCAM(model, info, manifest.GradCAM.Target)
	if err != nil {
		return err
	}

	e.manifest, e.info, e.plan = *manifest, info, plan
	e.preprocess = manifest.Input.preprocess()
	return nil
}

// manifestPath is NAME.json beside NAME.onnx.
func manifestPath(modelPath string) string {
	return strings.TrimSuffix(modelPath, filepath.Ext(modelPath)) + ".json"
}

// camTarget names the Grad-CAM target tensor, or "".
func (e *Engine) camTarget() string {
	if e.plan.head == nil {
		return ""
	}
	return e.plan.head.pool.input
}

// Manifest returns the model's manifest with every default filled in.
func (e *Engine) Manifest() Manifest {
	return e.manifest
}

// Library returns the path of the ONNX Runtime library the engine loads.
func (e *Engine) Library() string {
	return e.library
}

// Loaded reports whether the session is in memory. It never waits for a
// running prediction.
func (e *Engine) Loaded() bool {
	return e.loaded.Load()
}

// Unload drops the session and the memory it holds; the next Predict loads
// it again.
func (e *Engine) Unload() error {
	e.lock.lockWait()
	defer e.lock.unlock()
	return e.unloadLocked()
}

// Close drops the session; the Engine cannot be used afterwards.
func (e *Engine) Close() error {
	e.lock.lockWait()
	defer e.lock.unlock()
	e.closed = true
	return e.unloadLocked()
}

// unloadLocked drops the session; e.lock must be held.
func (e *Engine) unloadLocked() error {
	if e.sess == nil {
		return nil
	}
	err := e.sess.close()
	e.sess = nil
	e.loaded.Store(false)
	e.opts.Logger.Info("model unloaded", "model", e.manifest.Name)
	return err
}

// sessionLocked returns the session, creating it on first use; e.lock must
// be held.
func (e *Engine) sessionLocked() (*session, error) {
	if e.closed {
		return nil, ErrClosed
	}
	if e.sess != nil {
		return e.sess, nil
	}

	start := time.Now()
	if err := ortProcess.load(e.library); err != nil {
		return nil, err
	}
	s, err := e.newSession()
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", e.opts.ModelPath, err)
	}
	e.sess = s
	e.loaded.Store(true)
	e.opts.Logger.Info("model loaded", "model", e.manifest.Name,
		"duration_ms", time.Since(start).Milliseconds(), "onnxruntime", ort.GetVersion())
	return s, nil
}

// newSession writes the model, with the Grad-CAM target exposed as an extra
// output, to a temporary file and creates the session from it. Going through
// a file keeps the model's bytes out of the Go heap.
func (e *Engine) newSession() (*session, error) {
	outputs := []string{e.manifest.Output.Name}
	if target := e.camTarget(); target != "" && target != outputs[0] {
		outputs = append(outputs, target)
	}
	path, err := writeExposedModel(e.opts.ModelPath, e.info.outputNames, outputs)
	if err != nil {
		return nil, fmt.Errorf("exposing the Grad-CAM target: %w", err)
	}
	defer os.Remove(path)

	return newSession(sessionConfig{
		modelPath: path,
		input:     e.manifest.Input.Name,
		outputs:   outputs,
		threads:   e.opts.IntraOpThreads,
		arena:     *e.opts.CPUArena,
		spin:      e.opts.AllowSpinning,
	})
}

// inputShape is the shape of one image tensor: a batch of one.
func (e *Engine) inputShape() []int64 {
	in := e.manifest.Input
	w, h, c := int64(in.Size[0]), int64(in.Size[1]), int64(3)
	if in.Layout == LayoutNHWC {
		return []int64{1, h, w, c}
	}
	return []int64{1, c, h, w}
}
