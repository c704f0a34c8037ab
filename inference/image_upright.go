package inference

import (
	"image"
	"image/color"
	"slices"
)

// uprightView shows an opaque decoded image, held as the camera stored it,
// turned upright for its EXIF orientation (2..8). DecodeImage returns one
// instead of turning all the pixels: the resizers turn their far smaller
// result, and any other reader sees the upright image through At.
type uprightView struct {
	src         *image.NRGBA // opaque, origin (0, 0)
	orientation int
}

// newUpright returns src seen upright: src itself for orientation 1 (or an
// unknown value), else a view that turns it.
func newUpright(src *image.NRGBA, orientation int) image.Image {
	if orientation < 2 || orientation > 8 {
		return src
	}
	return &uprightView{src: src, orientation: orientation}
}

// ColorModel returns the NRGBA model of the stored pixels.
func (v *uprightView) ColorModel() color.Model { return color.NRGBAModel }

// Bounds returns the upright size, origin (0, 0).
func (v *uprightView) Bounds() image.Rectangle {
	w, h := v.src.Rect.Dx(), v.src.Rect.Dy()
	if v.orientation >= 5 {
		w, h = h, w
	}
	return image.Rect(0, 0, w, h)
}

// At returns the upright pixel at (x, y).
func (v *uprightView) At(x, y int) color.Color {
	if !(image.Point{x, y}.In(v.Bounds())) {
		return color.NRGBA{}
	}
	sx, sy, dx, dy := sourceWalk(v.orientation, y, v.src.Rect.Dx(), v.src.Rect.Dy())
	return v.src.NRGBAAt(sx+x*dx, sy+x*dy)
}

// Opaque reports true: decoded images are composited on white.
func (v *uprightView) Opaque() bool { return true }

// upright turns every pixel and returns the upright image.
func (v *uprightView) upright() *image.NRGBA {
	return orient(v.src, v.orientation)
}

// resample resizes the view to width x height with the same pixels as
// resample gives for the upright image, without turning the full-size one.
// Each pass runs along the stored axis the upright axis comes from, with
// the upright pass's weights put in stored order; the upright horizontal
// pass stays first. The integer sums are those of the upright passes, so
// only a quarter-turned result needs turning: it comes out transposed.
func (v *uprightView) resample(width, height int, f resampleFilter) *image.NRGBA {
	b := v.Bounds()
	if width == b.Dx() && height == b.Dy() {
		return v.upright()
	}
	o := v.orientation
	across := axisWeights(b.Dx(), width, f, o == 2 || o == 3 || o == 6 || o == 7)
	down := axisWeights(b.Dy(), height, f, o == 3 || o == 4 || o == 7 || o == 8)
	if o < 5 {
		return resampleDown(resampleAcross(v.src, width, across), height, down)
	}
	// Upright columns are stored rows: the first pass runs down, leaving
	// upright column i as row i.
	return orient(resampleAcross(resampleDown(v.src, width, across), height, down), 5)
}

// axisWeights returns the weights that map in pixels onto out along one
// axis, identity weights when the size stays (where PIL skips the pass),
// put in reverse pixel order when the stored axis runs the other way.
func axisWeights(in, out int, f resampleFilter, reversed bool) resampleWeights {
	var rw resampleWeights
	if in == out {
		rw = resampleWeights{first: make([]int, out), weights: make([][]int32, out)}
		for i := range out {
			rw.first[i], rw.weights[i] = i, []int32{1 << precisionBits}
		}
	} else {
		rw = newResampleWeights(in, out, f)
	}
	if reversed {
		for i, ws := range rw.weights {
			rw.first[i] = in - rw.first[i] - len(ws)
			slices.Reverse(ws)
		}
	}
	return rw
}
