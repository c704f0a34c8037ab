package inference

import (
	"image"
	"image/color"
	"slices"
)

// uprightView shows an opaque decoded image, held as the file stores it,
// turned upright for its EXIF orientation (1..8). DecodeImage returns one
// instead of turning all the pixels: the resizers read the stored rows and
// turn their far smaller result, and any other reader sees the upright
// image through At.
type uprightView struct {
	src         storedPixels
	orientation int
	pixels      *pixelAt
}

// newUpright returns src seen upright: src itself when it is held as RGBA
// and stored upright (orientation 1 or an unknown value), else a view.
func newUpright(src storedPixels, orientation int) image.Image {
	orientation = knownOrientation(orientation)
	if p, ok := src.(nrgbaPixels); ok && orientation == 1 {
		return p.img
	}
	return &uprightView{src: src, orientation: orientation, pixels: &pixelAt{src: src}}
}

// knownOrientation returns an EXIF orientation, 1 for an unknown value.
func knownOrientation(o int) int {
	if o < 1 || o > 8 {
		return 1
	}
	return o
}

// ColorModel returns the NRGBA model of the stored pixels.
func (v *uprightView) ColorModel() color.Model { return color.NRGBAModel }

// Bounds returns the upright size, origin (0, 0).
func (v *uprightView) Bounds() image.Rectangle {
	w, h := v.src.size()
	if v.orientation >= 5 {
		w, h = h, w
	}
	return image.Rect(0, 0, w, h)
}

// At returns the upright pixel at (x, y). It converts a stored row per call
// when the stored rows run across the upright ones: a reader of every pixel
// should take toNRGBA's copy instead.
func (v *uprightView) At(x, y int) color.Color {
	if !(image.Point{x, y}.In(v.Bounds())) {
		return color.NRGBA{}
	}
	w, h := v.src.size()
	sx, sy, dx, dy := sourceWalk(v.orientation, y, w, h)
	return v.pixels.at(sx+x*dx, sy+x*dy)
}

// Opaque reports true: decoded images are composited on white.
func (v *uprightView) Opaque() bool { return true }

// upright turns every pixel and returns the upright image.
func (v *uprightView) upright() *image.NRGBA {
	return orient(v.src.whole(), v.orientation)
}

// resample resizes the view to width x height with the same pixels as
// resample gives for the upright image, without turning the full-size one
// or, for a JPEG, converting it whole (see resampleStored).
func (v *uprightView) resample(width, height int, f resampleFilter) *image.NRGBA {
	b := v.Bounds()
	if width == b.Dx() && height == b.Dy() {
		return v.upright()
	}
	return resampleStored(v.src, v.orientation, resizeSpec{width, height, f})[0]
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
