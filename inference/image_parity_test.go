package inference

import (
	"bytes"
	"image"
	"image/jpeg"
	"path/filepath"
	"strings"
	"testing"
)

// parityTolerance is how far (in 0..255 levels) a value may be from PIL's,
// and parityShare the share of values that must be that close.
const (
	parityTolerance = 3
	parityShare     = 0.999
)

// TestPILParity checks that every photo in ../shared/data/images decodes
// and resizes to what a PIL training pipeline feeds a model.
func TestPILParity(t *testing.T) {
	t.Parallel()
	requirePIL(t)
	prep := Preprocess{Width: 224, Height: 224}
	for _, path := range imageDataFiles(t, "images") {
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".jpg" && ext != ".jpeg" && ext != ".png" {
			continue
		}
		t.Run(filepath.Base(path)+" matches PIL", func(t *testing.T) {
			t.Parallel()
			img, _, err := DecodeImage(readImageFile(t, path), 0)
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			want := pilReference(t, path, prep.Width, prep.Height, ResizeBilinear)
			maxDiff, share := compareRGB(want, prep.Resized(img))
			t.Logf("max difference %d levels, %.4f%% within %d", maxDiff, 100*share,
				parityTolerance)
			logPlainGoParity(t, path, want, prep)
			if share < parityShare {
				t.Fatalf("%.4f%% of values within %d levels of PIL, want >= %.1f%% (max %d)",
					100*share, parityTolerance, 100*parityShare, maxDiff)
			}
		})
	}
}

// compareRGB compares raw RGB bytes with an image's RGB channels and returns
// the largest difference and the share of values within parityTolerance.
// A size mismatch counts as no values matching.
func compareRGB(want []byte, got *image.NRGBA) (maxDiff int, share float64) {
	w, h := got.Rect.Dx(), got.Rect.Dy()
	if len(want) != w*h*3 || len(want) == 0 {
		return 255, 0
	}
	close := 0
	for y := range h {
		row := got.Pix[y*got.Stride:]
		for x := range w {
			for c := range 3 {
				d := int(want[(y*w+x)*3+c]) - int(row[x*4+c])
				d = max(d, -d)
				maxDiff = max(maxDiff, d)
				if d <= parityTolerance {
					close++
				}
			}
		}
	}
	return maxDiff, float64(close) / float64(len(want))
}

// logPlainGoParity logs, for comparison, how far Go's own JPEG colour
// conversion (nearest-neighbour chroma, image/color's YCbCr formulas) lands
// from PIL through the same resize.
func logPlainGoParity(t *testing.T, path string, want []byte, prep Preprocess) {
	t.Helper()
	data := readImageFile(t, path)
	info, err := Inspect(data, 0)
	if err != nil || info.Format != FormatJPEG {
		return
	}
	plain, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding with image/jpeg: %v", err)
	}
	upright := orient(genericToNRGBA(plain), info.Orientation)
	maxDiff, share := compareRGB(want, prep.Resized(upright))
	t.Logf("plain image/jpeg: max difference %d levels, %.4f%% within %d", maxDiff,
		100*share, parityTolerance)
}
