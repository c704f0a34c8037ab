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
// converts by default: "fancy" (triangle filter) chroma upsampling for 2x
// subsampling, then its fixed-point colour conversion. Strips of rows are
// converted in parallel.
func (p ycbcrPlanes) toRGBA() *image.NRGBA {
	dst := image.NewNRGBA(image.Rect(0, 0, p.width, p.height))
	forStrips(p.height, func(y0, y1 int) {
		conv := newRowConverter(p)
		for y := y0; y < y1; y++ {
			conv.row(dst.Pix[y*dst.Stride:], y)
		}
	})
	return dst
}

// forStrips calls fn on consecutive row ranges of [0, height), one
// goroutine per CPU, and waits for all of them, as inParallel does.
func forStrips(height int, fn func(y0, y1 int)) {
	n := min(runtime.GOMAXPROCS(0), max(1, height/64))
	inParallel(n, func(i int) { fn(height*i/n, height*(i+1)/n) })
}

// inParallel calls fn(0) to fn(n-1), each in a goroutine of its own, and
// waits for all of them. A panic in fn is raised again in the caller's
// goroutine, where DecodeImage and Predict recover it.
func inParallel(n int, fn func(i int)) {
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			fn(i)
		})
	}
	wg.Wait()
	for _, p := range panics {
		if p != nil {
			panic(p)
		}
	}
}

// rowConverter makes RGBA rows from the planes.
type rowConverter struct {
	p      ycbcrPlanes
	cw, ch int
	fancy  bool
	cb, cr []byte
}

func newRowConverter(p ycbcrPlanes) *rowConverter {
	cw := (p.width + p.hFactor - 1) / p.hFactor
	ch := (p.height + p.vFactor - 1) / p.vFactor
	// libjpeg uses the triangle filter for 2x factors only, and across
	// only when the downsampled row has more than two samples.
	fancy := p.hFactor <= 2 && p.vFactor <= 2 && (p.hFactor == 1 || cw > 2)
	return &rowConverter{
		p: p, cw: cw, ch: ch, fancy: fancy,
		cb: make([]byte, max(p.width, 2*cw)), cr: make([]byte, max(p.width, 2*cw)),
	}
}

// row writes RGBA row y into dst.
func (c *rowConverter) row(dst []byte, y int) {
	p := c.p
	switch {
	case p.hFactor == 1 && p.vFactor == 1:
		cb, cr := p.chroma(y)
		ycc.convertRow(dst, p.luma(y), cb, cr, p.width)
	case !c.fancy:
		c.replicate(y)
		ycc.convertRow(dst, p.luma(y), c.cb, c.cr, p.width)
	case p.vFactor == 1:
		cb, cr := p.chroma(y)
		// Across only: the row is its own neighbour, with h2v1's rounding.
		upsampleH2(c.cb, cb, cb, 4, 8)
		upsampleH2(c.cr, cr, cr, 4, 8)
		ycc.convertRow(dst, p.luma(y), c.cb, c.cr, p.width)
	case p.hFactor == 1:
		c.h1v2(y)
		ycc.convertRow(dst, p.luma(y), c.cb, c.cr, p.width)
	default:
		near, far := c.neighbourRows(y)
		nb, nr := p.chroma(near)
		fb, fr := p.chroma(far)
		upsampleH2(c.cb, nb, fb, 8, 7)
		upsampleH2(c.cr, nr, fr, 8, 7)
		ycc.convertRow(dst, p.luma(y), c.cb, c.cr, p.width)
	}
}

// replicate repeats each chroma sample, as libjpeg does for factors it does
// not filter.
func (c *rowConverter) replicate(y int) {
	cb, cr := c.p.chroma(min(y/c.p.vFactor, c.ch-1))
	h := c.p.hFactor
	for x := range c.p.width {
		c.cb[x], c.cr[x] = cb[x/h], cr[x/h]
	}
}

// neighbourRows returns the chroma row nearest to output row y and the
// next nearest (above for even rows, below for odd ones), edges repeated.
func (c *rowConverter) neighbourRows(y int) (near, far int) {
	near = min(y/2, c.ch-1)
	if y%2 == 0 {
		return near, max(near-1, 0)
	}
	return near, min(near+1, c.ch-1)
}

// h1v2 doubles down only: 3/4 nearer row plus 1/4 farther row, rounding
// alternately as libjpeg-turbo does. Not compared with libjpeg in tests: no
// encoder at hand writes 4:4:0 JPEGs.
func (c *rowConverter) h1v2(y int) {
	near, far := c.neighbourRows(y)
	nb, nr := c.p.chroma(near)
	fb, fr := c.p.chroma(far)
	bias := int32(1 + y%2)
	for x := range c.p.width {
		c.cb[x] = byte((3*int32(nb[x]) + int32(fb[x]) + bias) >> 2)
		c.cr[x] = byte((3*int32(nr[x]) + int32(fr[x]) + bias) >> 2)
	}
}
