package inference

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minLocalisedShare is the least share of held-out images whose heatmap peak
// must fall inside the lesion.
const minLocalisedShare = 0.9

// minLocaliseImages is the least number of held-out images the test needs for
// the share to mean something.
const minLocaliseImages = 100

// demoModelEngine returns an engine on the committed demo model, closed
// when the test ends.
func demoModelEngine(t testing.TB) *Engine {
	t.Helper()
	model := filepath.Join("..", "models", "demo.onnx")
	engine, err := NewEngine(Options{ModelPath: model, IntraOpThreads: 1})
	if err != nil {
		t.Fatalf("creating engine: %v", err)
	}
	t.Cleanup(func() { engine.Close() })
	return engine
}

// readMask decodes a lesion mask PNG: non-black pixels are lesion.
func readMask(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening mask: %v", err)
	}
	defer f.Close()
	mask, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding mask %s: %v", path, err)
	}
	return mask
}

// peak returns the position of the largest value of the CAM upsampled to
// width x height.
func peak(cam [][]float32, width, height int) (int, int) {
	heat := upsampleCAM(cam, width, height)
	best := 0
	for i, v := range heat {
		if v > heat[best] {
			best = i
		}
	}
	return best % width, best / width
}

// TestGradCAMLocalisesLesions runs the demo model on synthetic lesions it
// never trained on (models/scripts/train_demo.py draws them with their own
// seed) and checks how often the heatmap's peak falls inside the lesion; a
// random peak would land there in about one image in twelve.
func TestGradCAMLocalisesLesions(t *testing.T) {
	t.Parallel()
	engine := demoModelEngine(t)
	images, err := filepath.Glob(filepath.Join("testdata", "localise", "*.jpg"))
	if err != nil || len(images) < minLocaliseImages {
		t.Fatalf("want at least %d held-out images, found %d (%v)",
			minLocaliseImages, len(images), err)
	}

	inside := 0
	for _, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading image: %v", err)
		}
		res, err := engine.Predict(context.Background(), data, Request{})
		if err != nil {
			t.Fatalf("predicting %s: %v", path, err)
		}
		if res.GradCAMError != "" {
			t.Fatalf("%s: no grad-cam: %s", path, res.GradCAMError)
		}

		mask := readMask(t, strings.TrimSuffix(path, ".jpg")+".mask.png")
		size := mask.Bounds().Size()
		x, y := peak(res.CAM, size.X, size.Y)
		if r, _, _, _ := mask.At(x, y).RGBA(); r > 0 {
			inside++
		} else {
			t.Logf("%s: peak at (%d,%d) is outside the lesion", filepath.Base(path), x, y)
		}
	}

	share := float64(inside) / float64(len(images))
	t.Logf("heatmap peak inside the lesion in %d of %d images (%.0f%%)",
		inside, len(images), 100*share)
	if share < minLocalisedShare {
		t.Fatalf("peak inside the lesion in %.0f%% of images, want at least %.0f%%",
			100*share, 100*minLocalisedShare)
	}
}
