package inference

import (
	"image"
	"runtime"
	"sync"
)

// ycbcrPlanes gives access to the rows of a decoded YCbCr JPEG, whatever
// holds them (one image, or strips decoded in parallel).
type ycbcrPlanes struct {
	width, height int
	// hFactor and vFactor are how many luma samples share one chroma sample
	// across and down: 1, 2 or 4.
	hFactor, vFactor int
	// luma returns row y of the Y plane; chroma returns row cy of the Cb and
	// Cr planes.
	luma   func(y int) []byte
	chroma func(cy int) (cb, cr []byte)
}

// planesOf wraps one *image.YCbCr from Go's decoder.
func planesOf(img *image.YCbCr) (ycbcrPlanes, bool) {
	h, v, ok := subsampleFactors(img.SubsampleRatio)
	if !ok {
		return ycbcrPlanes{}, false
	}
	b := img.Rect
	return ycbcrPlanes{
		width: b.Dx(), height: b.Dy(), hFactor: h, vFactor: v,
		luma: func(y int) []byte {
			i := img.YOffset(b.Min.X, b.Min.Y+y)
			return img.Y[i : i+b.Dx()]
		},
		chroma: func(cy int) ([]byte, []byte) {
			i := img.COffset(b.Min.X, b.Min.Y+cy*v)
			n := (b.Dx() + h - 1) / h
			return img.Cb[i : i+n], img.Cr[i : i+n]
		},
	}, true
}

func subsampleFactors(r image.YCbCrSubsampleRatio) (h, v int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 1, 1, true
	case image.YCbCrSubsampleRatio422:
		return 2, 1, true
	case image.YCbCrSubsampleRatio420:
		return 2, 2, true
	case image.YCbCrSubsampleRatio440:
		return 1, 2, true
	case image.YCbCrSubsampleRatio411:
		return 4, 1, true
	case image.YCbCrSubsampleRatio410:
		return 4, 2, true
	}
	return 0, 0, false
}

// toRGBA converts the planes to an opaque RGBA image the way libjpeg-turbo
// does by default: "fancy" (triangle filter) chroma upsampling for 2x
// subsampling, then its fixed-point colour conversion. Rows are split into
// strips converted in parallel.
func (p ycbcrPlanes) toRGBA() *image.NRGBA {
	dst := image.NewNRGBA(image.Rect(0, 0, p.width, p.height))
	forStrips(p.height, func(y0, y1 int) {
		up := newChromaUpsampler(p)
		for y := y0; y < y1; y++ {
			cb, cr := up.row(y)
			ycc.convertRow(dst.Pix[y*dst.Stride:], p.luma(y), cb, cr, p.width)
		}
	})
	return dst
}

// forStrips calls fn on consecutive row ranges of [0, height), one
// goroutine per CPU, and waits for all of them.
func forStrips(height int, fn func(y0, y1 int)) {
	n := min(runtime.GOMAXPROCS(0), max(1, height/64))
	var wg sync.WaitGroup
	for i := range n {
		y0, y1 := height*i/n, height*(i+1)/n
		wg.Go(func() { fn(y0, y1) })
	}
	wg.Wait()
}

// chromaUpsampler makes full-width Cb and Cr rows for one output row.
type chromaUpsampler struct {
	p      ycbcrPlanes
	cw, ch int
	fancy  bool
	cb, cr []byte
	sumB   []int32
	sumR   []int32
}

func newChromaUpsampler(p ycbcrPlanes) *chromaUpsampler {
	cw := (p.width + p.hFactor - 1) / p.hFactor
	ch := (p.height + p.vFactor - 1) / p.vFactor
	// libjpeg uses the triangle filter for 2x factors only, and across
	// only when the downsampled row has more than two samples.
	fancy := p.hFactor <= 2 && p.vFactor <= 2 && (p.hFactor == 1 || cw > 2)
	return &chromaUpsampler{
		p: p, cw: cw, ch: ch, fancy: fancy,
		cb: make([]byte, p.width+4), cr: make([]byte, p.width+4),
		sumB: make([]int32, cw), sumR: make([]int32, cw),
	}
}

// row returns the upsampled Cb and Cr for output row y. The slices are
// reused by the next call.
func (u *chromaUpsampler) row(y int) ([]byte, []byte) {
	p := u.p
	switch {
	case p.hFactor == 1 && p.vFactor == 1:
		return p.chroma(y)
	case !u.fancy:
		u.replicate(y)
	case p.vFactor == 1:
		cb, cr := p.chroma(y)
		u.h2v1(u.cb, cb)
		u.h2v1(u.cr, cr)
	case p.hFactor == 1:
		u.h1v2(y)
	default:
		u.h2v2(y)
	}
	return u.cb, u.cr
}

// replicate repeats each chroma sample, as libjpeg does for factors it does
// not filter.
func (u *chromaUpsampler) replicate(y int) {
	cb, cr := u.p.chroma(min(y/u.p.vFactor, u.ch-1))
	h := u.p.hFactor
	for x := range u.p.width {
		u.cb[x], u.cr[x] = cb[x/h], cr[x/h]
	}
}

// h2v1 doubles a row across: each output is 3/4 of the nearer sample plus
// 1/4 of the farther one, with libjpeg's alternating rounding; edges repeat.
func (u *chromaUpsampler) h2v1(dst, src []byte) {
	last := u.cw - 1
	for cx := range u.cw {
		near := 3 * int32(src[cx])
		left := int32(src[max(cx-1, 0)])
		right := int32(src[min(cx+1, last)])
		dst[2*cx] = byte((near + left + 1) >> 2)
		dst[2*cx+1] = byte((near + right + 2) >> 2)
	}
}

// neighbourRow returns the chroma row nearest to output row y and the next
// nearest (above for even rows, below for odd ones), edges repeated.
func (u *chromaUpsampler) neighbourRow(y int) (near, far int) {
	near = min(y/2, u.ch-1)
	if y%2 == 0 {
		return near, max(near-1, 0)
	}
	return near, min(near+1, u.ch-1)
}

// h1v2 doubles down only: 3/4 nearer row plus 1/4 farther row.
func (u *chromaUpsampler) h1v2(y int) {
	near, far := u.neighbourRow(y)
	nb, nr := u.p.chroma(near)
	fb, fr := u.p.chroma(far)
	bias := int32(1 + y%2)
	for x := range u.p.width {
		u.cb[x] = byte((3*int32(nb[x]) + int32(fb[x]) + bias) >> 2)
		u.cr[x] = byte((3*int32(nr[x]) + int32(fr[x]) + bias) >> 2)
	}
}

// h2v2 doubles down then across, keeping the column sums at 4x scale until
// the end as libjpeg does.
func (u *chromaUpsampler) h2v2(y int) {
	near, far := u.neighbourRow(y)
	nb, nr := u.p.chroma(near)
	fb, fr := u.p.chroma(far)
	for cx := range u.cw {
		u.sumB[cx] = 3*int32(nb[cx]) + int32(fb[cx])
		u.sumR[cx] = 3*int32(nr[cx]) + int32(fr[cx])
	}
	h2v2Across(u.cb, u.sumB)
	h2v2Across(u.cr, u.sumR)
}

func h2v2Across(dst []byte, sum []int32) {
	last := len(sum) - 1
	for cx := range sum {
		this := 3 * sum[cx]
		dst[2*cx] = byte((this + sum[max(cx-1, 0)] + 8) >> 4)
		dst[2*cx+1] = byte((this + sum[min(cx+1, last)] + 7) >> 4)
	}
}
