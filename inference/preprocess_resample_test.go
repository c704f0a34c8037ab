package inference

import (
	"image"
	"image/color"
	"path/filepath"
	"strconv"
	"testing"
)

// TestResampleMatchesPIL resizes a decoded PNG (so decoding adds no
// difference) with each convolution filter, up and down, and expects PIL's
// bytes exactly.
func TestResampleMatchesPIL(t *testing.T) {
	t.Parallel()
	requirePIL(t)
	path := filepath.Join(imageDataDir(t, "images"), "dermoscopy_isic_0000001_converted_rgb8.png")
	img, _, err := DecodeImage(readImageFile(t, path), 0)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	sizes := []image.Point{{224, 224}, {300, 97}, {1500, 800}}
	for _, filter := range []string{ResizeBilinear, ResizeBicubic, ResizeLanczos} {
		for _, size := range sizes {
			name := filter + " to " + strconv.Itoa(size.X) + "x" + strconv.Itoa(size.Y) +
				" equals PIL"
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				p := Preprocess{Width: size.X, Height: size.Y, Resize: filter}
				want := pilReference(t, path, size.X, size.Y, filter)
				if maxDiff, _ := compareRGB(want, p.Resized(img)); maxDiff != 0 {
					t.Fatalf("differs from PIL by up to %d levels", maxDiff)
				}
			})
		}
	}
}

func TestResampleWeightsSumToOne(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in, out int
	}{
		{"shrinking 4032 to 224", 4032, 224},
		{"shrinking by a small factor", 256, 224},
		{"enlarging", 97, 300},
	}
	for _, tc := range cases {
		t.Run(tc.name+" gives weights that sum to one", func(t *testing.T) {
			t.Parallel()
			rw := newResampleWeights(tc.in, tc.out, bilinearFilter)
			for i, ws := range rw.weights {
				sum := int32(0)
				for _, w := range ws {
					sum += w
				}
				if d := sum - 1<<precisionBits; d < -8 || d > 8 {
					t.Fatalf("output %d: weights sum to %d, want %d", i, sum, 1<<precisionBits)
				}
				if rw.first[i] < 0 || rw.first[i]+len(ws) > tc.in {
					t.Fatalf("output %d reads [%d, %d) of %d", i, rw.first[i],
						rw.first[i]+len(ws), tc.in)
				}
			}
		})
	}
}

func TestResampleCompositesTransparencyOnWhite(t *testing.T) {
	t.Parallel()
	src := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for i := 0; i < len(src.Pix); i += 4 {
		copy(src.Pix[i:], []byte{10, 20, 30, 0})
	}
	for _, size := range []image.Point{{20, 15}, {40, 15}, {20, 30}, {40, 30}} {
		name := "a transparent image resized to " + strconv.Itoa(size.X) + "x" +
			strconv.Itoa(size.Y) + " is white"
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := Preprocess{Width: size.X, Height: size.Y}.Resized(src)
			if c := got.NRGBAAt(size.X/2, size.Y/2); c != (color.NRGBA{255, 255, 255, 255}) {
				t.Fatalf("pixel %v, want opaque white", c)
			}
		})
	}
}
