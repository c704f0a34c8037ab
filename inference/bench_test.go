//go:build unix

package inference

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// benchModel is one model the benchmarks run.
type benchModel struct {
	name string
	path string
	// make is the command that creates the model when it is missing.
	make string
}

// benchModels returns the demo model and the EfficientNetV2-S sized one.
func benchModels(b *testing.B) []benchModel {
	cache, err := os.UserCacheDir()
	if err != nil {
		b.Fatalf("finding the cache folder: %v", err)
	}
	return []benchModel{
		{name: "demo", path: filepath.Join("..", "models", "demo.onnx"),
			make: "nice /usr/bin/python3 models/scripts/train_demo.py"},
		{name: "effnetv2s", path: filepath.Join(cache, "dermq", "models", "effnetv2s.onnx"),
			make: "nice /usr/bin/python3 models/scripts/export_effnetv2s.py"},
	}
}

// benchEngine opens m and returns its engine and the input tensor of a real
// dermoscopy photo, skipping the benchmark when the model file is missing.
func benchEngine(b *testing.B, m benchModel) (*Engine, []float32) {
	b.Helper()
	if _, err := os.Stat(m.path); err != nil {
		b.Skipf("%s is missing; make it from the repository root with: %s", m.path, m.make)
	}
	engine, err := NewEngine(Options{ModelPath: m.path})
	if err != nil {
		b.Fatalf("creating engine: %v", err)
	}
	b.Cleanup(func() { engine.Close() })

	photo := filepath.Join(imageDataDir(b, "images"), "dermoscopy_isic_0000000_1022x767.jpg")
	img, _, err := DecodeImage(readImageFile(b, photo), 0)
	if err != nil {
		b.Fatalf("decoding the photo: %v", err)
	}
	return engine, engine.preprocess.Tensor(img)
}

// reportPeakRSS adds the process's peak resident set size to the results.
// Run one benchmark per process for a figure that belongs to it alone.
func reportPeakRSS(b *testing.B) {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err == nil {
		b.ReportMetric(float64(usage.Maxrss)/1024, "peak-RSS-MiB")
	}
}

// reportCPU adds the process's CPU time per operation since cpu0, all
// threads together, to the results: it stays meaningful when other work
// shares the machine, where wall time does not.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	cpu := processCPUTime(b) - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
}

// BenchmarkPredict measures one model run plus Grad-CAM on a prepared
// tensor: what DermQ adds on top of ONNX Runtime, compare BenchmarkBareRun.
func BenchmarkPredict(b *testing.B) {
	for _, m := range benchModels(b) {
		b.Run(m.name, func(b *testing.B) {
			engine, tensor := benchEngine(b, m)
			ctx := context.Background()
			if _, err := engine.predictTensor(ctx, tensor, -1); err != nil {
				b.Fatalf("warming up: %v", err)
			}

			cpu0 := processCPUTime(b)
			for b.Loop() {
				res, err := engine.predictTensor(ctx, tensor, -1)
				if err != nil || res.GradCAMError != "" {
					b.Fatalf("predicting: %v %s", err, res.GradCAMError)
				}
			}
			reportCPU(b, cpu0)
			reportPeakRSS(b)
		})
	}
}

// BenchmarkBareRun measures a plain ONNX Runtime Run of the unedited model
// on the same tensor, with the engine's session settings and the input and
// output tensors allocated once: the floor BenchmarkPredict is held to.
func BenchmarkBareRun(b *testing.B) {
	for _, m := range benchModels(b) {
		b.Run(m.name, func(b *testing.B) {
			engine, tensor := benchEngine(b, m)
			session := bareSession(b, engine, tensor)
			if err := session.Run(); err != nil {
				b.Fatalf("warming up: %v", err)
			}

			cpu0 := processCPUTime(b)
			for b.Loop() {
				if err := session.Run(); err != nil {
					b.Fatalf("running: %v", err)
				}
			}
			reportCPU(b, cpu0)
			reportPeakRSS(b)
		})
	}
}

// bareSession builds a plain session over engine's model file, fed tensor.
func bareSession(b *testing.B, engine *Engine, tensor []float32) *ort.AdvancedSession {
	b.Helper()
	if err := ortProcess.load(engine.library); err != nil {
		b.Fatalf("loading ONNX Runtime: %v", err)
	}
	raw, err := os.ReadFile(engine.opts.ModelPath)
	if err != nil {
		b.Fatalf("reading model: %v", err)
	}

	input, err := ort.NewTensor(ort.NewShape(engine.inputShape()...), tensor)
	if err != nil {
		b.Fatalf("creating input tensor: %v", err)
	}
	b.Cleanup(func() { input.Destroy() })
	output, err := ort.NewEmptyTensor[float32](ort.NewShape(1, int64(len(engine.manifest.Labels))))
	if err != nil {
		b.Fatalf("creating output tensor: %v", err)
	}
	b.Cleanup(func() { output.Destroy() })

	opts, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatalf("creating session options: %v", err)
	}
	defer opts.Destroy()
	cfg := sessionConfig{threads: engine.opts.IntraOpThreads, arena: *engine.opts.CPUArena}
	if err := configure(opts, cfg); err != nil {
		b.Fatalf("configuring session: %v", err)
	}

	session, err := ort.NewAdvancedSessionWithONNXData(raw,
		[]string{engine.manifest.Input.Name}, []string{engine.manifest.Output.Name},
		[]ort.Value{input}, []ort.Value{output}, opts)
	if err != nil {
		b.Fatalf("creating session: %v", err)
	}
	b.Cleanup(func() { session.Destroy() })
	return session
}

// BenchmarkGradCAM measures Grad-CAM alone, from the model's outputs to the
// normalised map.
func BenchmarkGradCAM(b *testing.B) {
	for _, m := range benchModels(b) {
		b.Run(m.name, func(b *testing.B) {
			engine, tensor := benchEngine(b, m)
			outputs, err := engine.run(context.Background(), tensor)
			if err != nil {
				b.Fatalf("running: %v", err)
			}

			cpu0 := processCPUTime(b)
			for b.Loop() {
				var res Result
				engine.explain(&res, outputs, 0)
				if res.CAM == nil {
					b.Fatalf("no grad-cam: %s", res.GradCAMError)
				}
			}
			reportCPU(b, cpu0)
		})
	}
}

// BenchmarkRender measures drawing and encoding the heatmap PNG over a
// decoded photo, at the default display size.
func BenchmarkRender(b *testing.B) {
	cases := []struct{ name, file string }{
		{"phone_12MP", "clinical_smartphone_lesion_4032x3024_exif6_displayp3.jpeg"},
		{"dermoscopy_1022x767", "dermoscopy_isic_0000000_1022x767.jpg"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cam := make([][]float32, 7)
	for i := range cam {
		cam[i] = make([]float32, 7)
		for j := range cam[i] {
			cam[i][j] = rng.Float32()
		}
	}

	for _, bc := range cases {
		data := readImageFile(b, filepath.Join(imageDataDir(b, "images"), bc.file))
		img, _, err := DecodeImage(data, 0)
		if err != nil {
			b.Fatalf("decoding: %v", err)
		}
		b.Run(bc.name, func(b *testing.B) {
			cpu0 := processCPUTime(b)
			for b.Loop() {
				if _, err := RenderHeatmap(img, cam, 0); err != nil {
					b.Fatalf("rendering: %v", err)
				}
			}
			reportCPU(b, cpu0)
		})
	}
}

// BenchmarkPredictVsBareRun alternates a bare Run and a predict + Grad-CAM
// on the same tensor, so both see the same machine load, and reports the
// median of each and their ratio (the target is at most 1.15).
func BenchmarkPredictVsBareRun(b *testing.B) {
	for _, m := range benchModels(b) {
		b.Run(m.name, func(b *testing.B) {
			engine, tensor := benchEngine(b, m)
			session := bareSession(b, engine, tensor)
			ctx := context.Background()
			if _, err := engine.predictTensor(ctx, tensor, -1); err != nil {
				b.Fatalf("warming up: %v", err)
			}

			var bare, predict []float64
			for b.Loop() {
				start := time.Now()
				if err := session.Run(); err != nil {
					b.Fatalf("running: %v", err)
				}
				bare = append(bare, sinceMS(start))

				start = time.Now()
				if _, err := engine.predictTensor(ctx, tensor, -1); err != nil {
					b.Fatalf("predicting: %v", err)
				}
				predict = append(predict, sinceMS(start))
			}
			b.ReportMetric(median(bare), "bare-ms")
			b.ReportMetric(median(predict), "predict-ms")
			b.ReportMetric(median(predict)/median(bare), "ratio")
		})
	}
}

// median returns the middle value of v (v is reordered).
func median(v []float64) float64 {
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
