package inference

import (
	"context"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// probabilityTolerance is how far DermQ's probabilities may be from those
// the same model gives on PIL's pixels.
const probabilityTolerance = 0.01

// parityModel is one model the probability parity test runs.
type parityModel struct {
	name, path string
	// optional models are skipped, with a message, when missing.
	optional bool
}

// parityModels are the demo model and, when it has been exported, the
// EfficientNetV2-S sized one the benchmarks use.
func parityModels(t *testing.T) []parityModel {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("finding the cache folder: %v", err)
	}
	return []parityModel{
		{name: "demo", path: filepath.Join("..", "models", "demo.onnx")},
		{name: "effnetv2s", path: filepath.Join(cache, "dermq", "models", "effnetv2s.onnx"),
			optional: true},
	}
}

// TestPILProbabilityParity feeds one model the tensor built from PIL's
// pixels (EXIF transposed, convert("RGB"), resize(size, BILINEAR)) and the
// tensor built from DermQ's own decoding, for every JPEG in
// ../shared/data/images, and checks that the probabilities agree.
func TestPILProbabilityParity(t *testing.T) {
	t.Parallel()
	requirePIL(t)
	photos := jpegDataFiles(t)
	for _, m := range parityModels(t) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			e := openParityEngine(t, m)
			for _, path := range photos {
				t.Run(filepath.Base(path)+" gives PIL's probabilities", func(t *testing.T) {
					t.Parallel()
					checkProbabilityParity(t, e, path)
				})
			}
		})
	}
}

// jpegDataFiles lists the JPEGs of ../shared/data/images by their header.
func jpegDataFiles(t *testing.T) []string {
	t.Helper()
	var jpegs []string
	for _, path := range imageDataFiles(t, "images") {
		info, err := Inspect(readImageFile(t, path), 0)
		if err == nil && info.Format == FormatJPEG {
			jpegs = append(jpegs, path)
		}
	}
	if len(jpegs) == 0 {
		t.Fatal("no JPEG in ../shared/data/images")
	}
	return jpegs
}

// openParityEngine opens m, skipping the test when an optional model is
// missing.
func openParityEngine(t *testing.T, m parityModel) *Engine {
	t.Helper()
	if _, err := os.Stat(m.path); err != nil && m.optional {
		t.Skipf("%s is missing; make it from the repository root with: "+
			"nice /usr/bin/python3 models/scripts/export_effnetv2s.py", m.path)
	}
	e, err := NewEngine(Options{ModelPath: m.path, LibraryPath: testLibrary})
	if err != nil {
		t.Fatalf("opening %s: %v", m.path, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// checkProbabilityParity compares, for one photo, the resized pixels and
// the model's probabilities on PIL's tensor and on DermQ's.
func checkProbabilityParity(t *testing.T, e *Engine, path string) {
	t.Helper()
	prep := e.preprocess.withDefaults()
	pil := pilReference(t, path, prep.Width, prep.Height, prep.Resize)
	img, _, err := DecodeImage(readImageFile(t, path), 0)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	ours := prep.Resized(img)

	maxLevels, share := compareRGB(pil, ours)
	if share < parityShare {
		t.Fatalf("%.4f%% of input values within %d levels of PIL, want >= %.1f%% (max %d)",
			100*share, parityTolerance, 100*parityShare, maxLevels)
	}

	want := e.probabilitiesOf(t, prep.Tensor(rgbImage(pil, prep.Width, prep.Height)))
	got := e.probabilitiesOf(t, prep.Tensor(ours))
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(got[i]-want[i]))
	}
	t.Logf("%s: input within %d levels of PIL (%.4f%% within %d), probabilities within %.2g",
		e.manifest.Name, maxLevels, 100*share, parityTolerance, worst)
	if worst > probabilityTolerance {
		t.Fatalf("probabilities differ from those on PIL's pixels by %.4f, want <= %.2f",
			worst, probabilityTolerance)
	}
}

// probabilitiesOf runs the model on tensor and returns every class's
// probability.
func (e *Engine) probabilitiesOf(t *testing.T, tensor []float32) []float64 {
	t.Helper()
	outputs, err := e.run(context.Background(), tensor)
	if err != nil {
		t.Fatalf("running %s: %v", e.manifest.Name, err)
	}
	probs := probabilities(outputs[0].data, e.manifest.Output.Kind)
	if len(probs) == 0 || !isFinite(probs) {
		t.Fatalf("%s gave no valid probabilities: %v", e.manifest.Name, probs)
	}
	return probs
}

// rgbImage wraps raw 8-bit RGB rows, as pil_reference.py writes them, in an
// opaque image.
func rgbImage(rgb []byte, width, height int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	for i := range width * height {
		copy(img.Pix[i*4:i*4+3], rgb[i*3:i*3+3])
		img.Pix[i*4+3] = 0xff
	}
	return img
}
