package inference

import (
	"context"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// session is one ONNX Runtime session over the model, as edited to expose
// the Grad-CAM target.
type session struct {
	ort     *ort.DynamicAdvancedSession
	outputs []string
}

// sessionConfig is what a session is built from.
type sessionConfig struct {
	modelPath string
	input     string
	outputs   []string
	threads   int
	arena     bool
	spin      bool
}

// newSession creates a session; ONNX Runtime must be loaded.
func newSession(cfg sessionConfig) (*session, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("creating session options: %w", err)
	}
	defer opts.Destroy()
	if err := configure(opts, cfg); err != nil {
		return nil, err
	}

	s, err := ort.NewDynamicAdvancedSession(cfg.modelPath,
		[]string{cfg.input}, cfg.outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("creating session: %w", err)
	}
	return &session{ort: s, outputs: cfg.outputs}, nil
}

// configure applies threads, arena and spinning to session options.
func configure(opts *ort.SessionOptions, cfg sessionConfig) error {
	if err := opts.SetIntraOpNumThreads(cfg.threads); err != nil {
		return fmt.Errorf("setting intra-op threads: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return fmt.Errorf("setting inter-op threads: %w", err)
	}
	if err := opts.SetCpuMemArena(cfg.arena); err != nil {
		return fmt.Errorf("setting the CPU memory arena: %w", err)
	}
	spin := "0"
	if cfg.spin {
		spin = "1"
	}
	if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", spin); err != nil {
		return fmt.Errorf("setting thread spinning: %w", err)
	}
	return nil
}

// close releases the session.
func (s *session) close() error {
	if err := s.ort.Destroy(); err != nil {
		return fmt.Errorf("destroying session: %w", err)
	}
	return nil
}

// floatOutput is one float tensor a run returned, copied into Go memory.
type floatOutput struct {
	shape []int64
	data  []float32
}

// run feeds one input tensor and returns the outputs in session order.
// When ctx ends during the run, ONNX Runtime is told to stop and run
// returns ctx.Err().
func (s *session) run(ctx context.Context, shape []int64, data []float32) ([]floatOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	input, err := ort.NewTensor(ort.NewShape(shape...), data)
	if err != nil {
		return nil, fmt.Errorf("creating the input tensor: %w", err)
	}
	defer input.Destroy()

	outputs := make([]ort.Value, len(s.outputs))
	defer destroyAll(outputs)
	if err := s.runCancellable(ctx, input, outputs); err != nil {
		return nil, err
	}
	return copyOutputs(outputs, s.outputs)
}

// runCancellable runs the session with run options that a watcher
// terminates when ctx ends.
func (s *session) runCancellable(ctx context.Context, input ort.Value, outputs []ort.Value) error {
	runOpts, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("creating run options: %w", err)
	}
	defer runOpts.Destroy()

	done := make(chan struct{})
	watcher := make(chan struct{})
	go func() {
		defer close(watcher)
		select {
		case <-ctx.Done():
			_ = runOpts.Terminate()
		case <-done:
		}
	}()

	err = s.ort.RunWithOptions([]ort.Value{input}, outputs, runOpts)
	close(done)
	<-watcher

	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if err != nil {
		return fmt.Errorf("running the model: %w", err)
	}
	return nil
}

// copyOutputs copies float outputs into Go memory.
func copyOutputs(values []ort.Value, names []string) ([]floatOutput, error) {
	out := make([]floatOutput, len(values))
	for i, v := range values {
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("output %q is not a float32 tensor", names[i])
		}
		out[i] = floatOutput{
			shape: append([]int64(nil), t.GetShape()...),
			data:  append([]float32(nil), t.GetData()...),
		}
	}
	return out, nil
}

// destroyAll releases the values ONNX Runtime allocated.
func destroyAll(values []ort.Value) {
	for _, v := range values {
		if v != nil {
			_ = v.Destroy()
		}
	}
}
