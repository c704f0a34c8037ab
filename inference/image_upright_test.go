package inference

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
)

// noiseImage returns an opaque width x height image of random pixels, so
// that any difference in weights or rounding shows.
func noiseImage(width, height int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	return img
}

func TestUprightViewReadsLikeTheTurnedImage(t *testing.T) {
	t.Parallel()
	src := noiseImage(13, 7)
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprintf("orientation %d reads as orient turns it", o), func(t *testing.T) {
			t.Parallel()
			view, want := newUpright(nrgbaPixels{src}, o), orient(src, o)
			if view.Bounds() != want.Rect {
				t.Fatalf("bounds %v, want %v", view.Bounds(), want.Rect)
			}
			for y := range want.Rect.Dy() {
				for x := range want.Rect.Dx() {
					if got := view.At(x, y); got != want.NRGBAAt(x, y) {
						t.Fatalf("pixel (%d,%d) is %v, want %v", x, y, got, want.NRGBAAt(x, y))
					}
				}
			}
		})
	}
}

// TestUprightViewResizesLikeTheTurnedImage resizes a view of an odd-sized,
// non-square image with each filter and each orientation, shrinking,
// enlarging and keeping one side, and expects the bytes that turning the
// image first and resizing it give.
func TestUprightViewResizesLikeTheTurnedImage(t *testing.T) {
	t.Parallel()
	src := noiseImage(613, 401)
	for o := 1; o <= 8; o++ {
		name := fmt.Sprintf("RGBA, orientation %d", o)
		checkViewResizes(t, name, newUpright(nrgbaPixels{src}, o), orient(src, o))
	}
}

// TestJPEGPlanesResizeLikeTheConvertedImage does the same for a JPEG's
// planes, which the view converts a row at a time as it resizes, for each
// chroma subsampling a JPEG can have.
func TestJPEGPlanesResizeLikeTheConvertedImage(t *testing.T) {
	t.Parallel()
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444,
		image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411,
		image.YCbCrSubsampleRatio410}
	for _, ratio := range ratios {
		planes, ok := planesOf(noisePlanes(611, 403, ratio))
		if !ok {
			t.Fatalf("%v: no planes", ratio)
		}
		whole := planes.whole()
		for o := 1; o <= 8; o++ {
			name := fmt.Sprintf("%v, orientation %d", ratio, o)
			checkViewResizes(t, name, newUpright(planes, o), orient(whole, o))
		}
	}
}

// noisePlanes returns a YCbCr image of random samples.
func noisePlanes(width, height int, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, width, height), ratio)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, plane := range [][]byte{img.Y, img.Cb, img.Cr} {
		for i := range plane {
			plane[i] = byte(rng.Uint32())
		}
	}
	return img
}

// checkViewResizes expects view to resize, with each filter, to the bytes
// that resizing upright gives.
func checkViewResizes(t *testing.T, name string, view image.Image, upright *image.NRGBA) {
	t.Helper()
	w, h := upright.Rect.Dx(), upright.Rect.Dy()
	sizes := []image.Point{{224, 224}, {97, 301}, {w, 131}, {101, h}, {w + 50, 77}, {w, h}}
	for _, filter := range []string{ResizeBilinear, ResizeBicubic, ResizeLanczos} {
		name := fmt.Sprintf("%s with %s gives the same pixels", name, filter)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, size := range sizes {
				p := Preprocess{Width: size.X, Height: size.Y, Resize: filter}
				got, want := p.Resized(view), p.Resized(upright)
				if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
					t.Fatalf("at %v: pixels differ (sizes %v and %v)", size, got.Rect,
						want.Rect)
				}
			}
		})
	}
	t.Run(name+" gives the same display copy", func(t *testing.T) {
		t.Parallel()
		for _, side := range []int{0, 255, 300, 1024} {
			got, want := fitDisplay(view, side), fitDisplay(upright, side)
			if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
				t.Fatalf("at %d: pixels differ (sizes %v and %v)", side, got.Rect, want.Rect)
			}
		}
	})
}
