package inference

import (
	"image"
	"math"
)

// DermQ resizes the way PIL's Image.resize does for 8-bit RGB, so a model
// sees the pixels its PIL-based training pipeline made: a separable
// convolution whose support widens with the shrink factor (antialiasing),
// weights normalised per output pixel and rounded to 22-bit fixed point,
// the horizontal pass first, each pass rounded and clamped to 8 bits.

// resampleFilter is a convolution kernel and its support at scale 1.
type resampleFilter struct {
	support float64
	kernel  func(x float64) float64
}

// Kernels of PIL's filters of the same names.
var (
	bilinearFilter = resampleFilter{1, func(x float64) float64 {
		x = math.Abs(x)
		if x < 1 {
			return 1 - x
		}
		return 0
	}}
	bicubicFilter = resampleFilter{2, func(x float64) float64 {
		const a = -0.5
		x = math.Abs(x)
		switch {
		case x < 1:
			return ((a+2)*x-(a+3))*x*x + 1
		case x < 2:
			return (((x-5)*x+8)*x - 4) * a
		}
		return 0
	}}
	lanczosFilter = resampleFilter{3, func(x float64) float64 {
		if x >= -3 && x < 3 {
			return sinc(x) * sinc(x/3)
		}
		return 0
	}}
)

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

// precisionBits is the fixed-point precision of the weights.
const precisionBits = 32 - 8 - 2

// resampleWeights holds, for each output pixel, the first input pixel it
// reads and its fixed-point weights.
type resampleWeights struct {
	first   []int
	weights [][]int32
}

// newResampleWeights computes the weights that map inSize pixels onto
// outSize pixels.
func newResampleWeights(inSize, outSize int, f resampleFilter) resampleWeights {
	scale := float64(inSize) / float64(outSize)
	filterScale := max(scale, 1)
	support := f.support * filterScale
	rw := resampleWeights{first: make([]int, outSize), weights: make([][]int32, outSize)}
	ss := 1 / filterScale
	ks := make([]float64, 0, int(math.Ceil(support))*2+1)
	for i := range outSize {
		center := (float64(i) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), inSize)
		ks = ks[:0]
		total := 0.0
		for x := lo; x < hi; x++ {
			w := f.kernel((float64(x) - center + 0.5) * ss)
			ks = append(ks, w)
			total += w
		}
		rw.first[i] = lo
		rw.weights[i] = fixedWeights(ks, total)
	}
	return rw
}

// fixedWeights normalises weights to sum to 1 and rounds them to fixed
// point, half away from zero.
func fixedWeights(ks []float64, total float64) []int32 {
	out := make([]int32, len(ks))
	for i, k := range ks {
		if total != 0 {
			k /= total
		}
		if k < 0 {
			out[i] = int32(-0.5 + k*(1<<precisionBits))
		} else {
			out[i] = int32(0.5 + k*(1<<precisionBits))
		}
	}
	return out
}

// clip8 turns a fixed-point sum into an 8-bit value.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if uint32(v) <= 255 {
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// resizeImage resizes any image to width x height as resample does, taking
// the shortcut of a decoded photo that is yet to be turned upright.
func resizeImage(img image.Image, width, height int, f resampleFilter) *image.NRGBA {
	switch src := img.(type) {
	case *uprightView:
		return src.resample(width, height, f)
	case *image.NRGBA:
		return resample(src, width, height, f)
	}
	return resample(toNRGBA(img), width, height, f)
}

// resample resizes src to width x height, compositing any transparency on
// white first; the result is opaque. A pass whose size does not change is
// skipped, as in PIL.
func resample(src *image.NRGBA, width, height int, f resampleFilter) *image.NRGBA {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	if width == sw && !src.Opaque() {
		src = toNRGBA(src)
	}
	img := src
	if width != sw {
		img = resampleAcross(img, width, newResampleWeights(sw, width, f))
	}
	if height != sh {
		img = resampleDown(img, height, newResampleWeights(sh, height, f))
	}
	if img == src {
		img = image.NewNRGBA(image.Rect(0, 0, sw, sh))
		for y := range sh {
			copy(img.Pix[y*img.Stride:], src.Pix[src.PixOffset(src.Rect.Min.X,
				src.Rect.Min.Y+y):][:sw*4])
		}
	}
	return img
}

// resampleAcross runs the horizontal pass over every row, rows split
// across CPUs. A row with transparent pixels is composited on white first;
// checking here, row by row, costs less than a separate scan of the image.
func resampleAcross(src *image.NRGBA, width int, rw resampleWeights) *image.NRGBA {
	h, sw := src.Rect.Dy(), src.Rect.Dx()
	dst := image.NewNRGBA(image.Rect(0, 0, width, h))
	forStrips(h, func(y0, y1 int) {
		var flat []byte
		for y := y0; y < y1; y++ {
			in := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):][:sw*4]
			if !opaqueRow(in) {
				flat = append(flat[:0], in...)
				flattenRow(flat)
				in = flat
			}
			acrossRow(dst.Pix[y*dst.Stride:y*dst.Stride+width*4], in, rw)
		}
	})
	return dst
}

// opaqueRow reports whether every pixel of an RGBA row has alpha 255.
func opaqueRow(row []byte) bool {
	for i := 3; i < len(row); i += 4 {
		if row[i] != 0xff {
			return false
		}
	}
	return true
}

// flattenRow composites a row of non-premultiplied RGBA pixels on white.
func flattenRow(row []byte) {
	for i := 0; i+3 < len(row); i += 4 {
		a := row[i+3]
		row[i], row[i+1], row[i+2] = onWhite(row[i], a), onWhite(row[i+1], a),
			onWhite(row[i+2], a)
		row[i+3] = 0xff
	}
}

// acrossRow resamples one row of RGBA pixels into out.
func acrossRow(out, in []byte, rw resampleWeights) {
	for x := range len(out) / 4 {
		ws := rw.weights[x]
		px := in[rw.first[x]*4 : (rw.first[x]+len(ws))*4]
		r, g, b := tapSum(px, ws)
		o := out[x*4 : x*4+4 : x*4+4]
		o[0], o[1], o[2], o[3] = clip8(r), clip8(g), clip8(b), 0xff
	}
}

// tapSum weighs the RGBA pixels px by ws, channel by channel, rounding
// half up in fixed point.
func tapSum(px []byte, ws []int32) (r, g, b int32) {
	r, g, b = 1<<(precisionBits-1), 1<<(precisionBits-1), 1<<(precisionBits-1)
	for _, w := range ws {
		if len(px) < 4 {
			break
		}
		p := px[:3:3]
		r += int32(p[0]) * w
		g += int32(p[1]) * w
		b += int32(p[2]) * w
		px = px[4:]
	}
	return r, g, b
}

// downSpan is how many pixels of a row the vertical pass sums at a time:
// the sums then stay in the CPU's first-level cache.
const downSpan = 512

// resampleDown runs the vertical pass, output rows split across CPUs.
func resampleDown(src *image.NRGBA, height int, rw resampleWeights) *image.NRGBA {
	w := src.Rect.Dx()
	dst := image.NewNRGBA(image.Rect(0, 0, w, height))
	forStrips(height, func(y0, y1 int) {
		sums := make([]int32, min(w, downSpan)*4)
		rows := make([][]byte, 0, 8)
		for y := y0; y < y1; y++ {
			rows = rows[:0]
			for k := range rw.weights[y] {
				sy := src.Rect.Min.Y + rw.first[y] + k
				rows = append(rows, src.Pix[src.PixOffset(src.Rect.Min.X, sy):][:w*4])
			}
			sumRows(dst.Pix[y*dst.Stride:y*dst.Stride+w*4], rows, rw.weights[y], sums)
		}
	})
	return dst
}

// sumRows weighs whole rows by ws into out, downSpan pixels at a time, with
// sums (at least 4*downSpan values, or one per byte of out) as scratch.
func sumRows(out []byte, rows [][]byte, ws []int32, sums []int32) {
	for x := 0; x < len(out); x += 4 * downSpan {
		n := min(4*downSpan, len(out)-x)
		downSum(out[x:x+n], rows, x, ws, sums[:n])
	}
}

// downSum weighs bytes [at, at+len(out)) of the rows by ws into out, made
// opaque, with sums (one per byte) as scratch. Alpha is summed along with
// the colours and then dropped: one loop over every byte, two rows at a
// time, runs faster than picking three bytes of four.
func downSum(out []byte, rows [][]byte, at int, ws []int32, sums []int32) {
	for i := range sums {
		sums[i] = 1 << (precisionBits - 1)
	}
	k := 0
	for ; k+1 < len(ws); k += 2 {
		a, b := rows[k][at:at+len(sums)], rows[k+1][at:at+len(sums)]
		wa, wb := ws[k], ws[k+1]
		for i := range sums {
			sums[i] += int32(a[i])*wa + int32(b[i])*wb
		}
	}
	if k < len(ws) {
		a, wa := rows[k][at:at+len(sums)], ws[k]
		for i := range sums {
			sums[i] += int32(a[i]) * wa
		}
	}
	for i := 0; i+3 < len(out); i += 4 {
		o, s := out[i:i+4:i+4], sums[i:i+4:i+4]
		o[0], o[1], o[2], o[3] = clip8(s[0]), clip8(s[1]), clip8(s[2]), 0xff
	}
}
