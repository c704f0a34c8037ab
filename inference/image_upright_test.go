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
			view, want := newUpright(src, o), orient(src, o)
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
		view := newUpright(src, o)
		upright := orient(src, o)
		w, h := upright.Rect.Dx(), upright.Rect.Dy()
		sizes := []image.Point{{224, 224}, {97, 301}, {w, 131}, {101, h}, {w + 50, 77}, {w, h}}
		for _, filter := range []string{ResizeBilinear, ResizeBicubic, ResizeLanczos} {
			name := fmt.Sprintf("orientation %d with %s gives the same pixels", o, filter)
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
		t.Run(fmt.Sprintf("orientation %d gives the same display copy", o), func(t *testing.T) {
			t.Parallel()
			for _, side := range []int{0, 255, 300, 1024} {
				got, want := fitDisplay(view, side), fitDisplay(upright, side)
				if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
					t.Fatalf("at %d: pixels differ (sizes %v and %v)", side, got.Rect, want.Rect)
				}
			}
		})
	}
}
