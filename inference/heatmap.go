package inference

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
)

const (
	// heatOpacity is the overlay's opacity where the map is at its maximum;
	// it falls linearly to zero where the map is zero.
	heatOpacity = 0.6

	// displayQuality is the JPEG quality of the display photo.
	displayQuality = 85
)

// RenderHeatmap draws the Grad-CAM map cam (rows of columns, any range) over
// img and returns the overlay PNG encoded. The output has img's own aspect
// ratio, its longest side capped at maxSide (1024 when maxSide <= 0). The map
// is upsampled bilinearly to that size, min-max normalised, coloured with a
// perceptual colormap and blended with an opacity proportional to its value.
func RenderHeatmap(img image.Image, cam [][]float32, maxSide int) ([]byte, error) {
	if err := checkCAM(cam); err != nil {
		return nil, fmt.Errorf("rendering heatmap: %w", err)
	}

	base := fitDisplay(img, maxSide)
	size := base.Bounds().Size()
	heat := upsampleCAM(cam, size.X, size.Y)
	stretchToUnit(heat)
	blend(base, heat)

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, base); err != nil {
		return nil, fmt.Errorf("encoding heatmap png: %w", err)
	}
	return buf.Bytes(), nil
}

// DisplayJPEG returns img with its longest side capped at maxSide (1024 when
// maxSide <= 0), JPEG encoded, for showing beside the heatmap.
func DisplayJPEG(img image.Image, maxSide int) ([]byte, error) {
	var buf bytes.Buffer
	opts := &jpeg.Options{Quality: displayQuality}
	if err := jpeg.Encode(&buf, fitDisplay(img, maxSide), opts); err != nil {
		return nil, fmt.Errorf("encoding display jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

// checkCAM reports whether cam is a non-empty rectangular map.
func checkCAM(cam [][]float32) error {
	if len(cam) == 0 || len(cam[0]) == 0 {
		return errors.New("empty grad-cam map")
	}
	for i, row := range cam {
		if len(row) != len(cam[0]) {
			return fmt.Errorf("grad-cam map row %d has %d columns, want %d",
				i, len(row), len(cam[0]))
		}
	}
	return nil
}

// fitDisplay returns a copy of img with its longest side at most maxSide,
// shrunk with PIL's bilinear filter as the model input is, transparency
// composited on white.
func fitDisplay(img image.Image, maxSide int) *image.NRGBA {
	size := displaySize(img.Bounds().Size(), maxSide)
	return resizeImage(img, size.X, size.Y, bilinearFilter)
}

// displaySize is the size fitDisplay gives an image of the given size.
func displaySize(size image.Point, maxSide int) image.Point {
	if maxSide <= 0 {
		maxSide = DefaultDisplaySize
	}
	if size.X > maxSide || size.Y > maxSide {
		return fitSize(size, maxSide)
	}
	return size
}

// fitSize scales size, keeping its aspect ratio, so that its longest side is
// maxSide, the shorter side rounded down.
func fitSize(size image.Point, maxSide int) image.Point {
	aspect := float64(size.X) / float64(size.Y)
	if aspect > 1 {
		return image.Pt(maxSide, max(1, int(float64(maxSide)/aspect)))
	}
	return image.Pt(max(1, int(float64(maxSide)*aspect)), maxSide)
}

// upsampleCAM resizes cam to width x height bilinearly, treating each map
// cell as a sample at its centre (as PyTorch's align_corners=False does), and
// returns the values row by row.
func upsampleCAM(cam [][]float32, width, height int) []float32 {
	xs := bilinearTaps(len(cam[0]), width)
	ys := bilinearTaps(len(cam), height)
	out := make([]float32, width*height)
	for y, ty := range ys {
		top, bottom := cam[ty.lo], cam[ty.hi]
		for x, tx := range xs {
			t := top[tx.lo]*(1-tx.w) + top[tx.hi]*tx.w
			b := bottom[tx.lo]*(1-tx.w) + bottom[tx.hi]*tx.w
			out[y*width+x] = t*(1-ty.w) + b*ty.w
		}
	}
	return out
}

// tap says which two source samples an output sample mixes, and the weight
// of the second.
type tap struct {
	lo, hi int
	w      float32
}

// bilinearTaps returns the taps that map n source samples onto size outputs.
func bilinearTaps(n, size int) []tap {
	taps := make([]tap, size)
	scale := float64(n) / float64(size)
	for i := range taps {
		pos := min(max((float64(i)+0.5)*scale-0.5, 0), float64(n-1))
		lo := int(pos)
		hi := min(lo+1, n-1)
		taps[i] = tap{lo: lo, hi: hi, w: float32(pos - float64(lo))}
	}
	return taps
}

// stretchToUnit rescales values in place to 0..1; a flat map becomes all zeros.
func stretchToUnit(values []float32) {
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}

	span := hi - lo
	for i, v := range values {
		if span > 0 {
			values[i] = (v - lo) / span
		} else {
			values[i] = 0
		}
	}
}

// blend paints the colormap of heat over img, pixel by pixel.
func blend(img *image.NRGBA, heat []float32) {
	colors := heatColors()
	width := img.Bounds().Dx()
	for i, v := range heat {
		c := colors[int(v*255+0.5)]
		a := heatOpacity * v
		p := img.Pix[(i/width)*img.Stride+(i%width)*4:]
		p[0] = uint8(float32(p[0])*(1-a) + float32(c.R)*a + 0.5)
		p[1] = uint8(float32(p[1])*(1-a) + float32(c.G)*a + 0.5)
		p[2] = uint8(float32(p[2])*(1-a) + float32(c.B)*a + 0.5)
		p[3] = 255
	}
}
