package inference

import (
	"image"
)

// Lossy WebP stores BT.601 "studio swing" YCbCr at 4:2:0, which libwebp
// (behind PIL and browsers) upsamples with its own triangle filter and
// converts with 14-bit fixed point. Go's webp package returns the planes as
// an image.YCbCr, whose colour model assumes JPEG's full range; converting
// them here as libwebp does keeps colours (and blacks) right.

// webpToNRGBA converts a decoded WebP to an opaque NRGBA, compositing any
// alpha on white. Lossless WebP arrives as NRGBA and goes the generic way.
func webpToNRGBA(img image.Image) *image.NRGBA {
	switch src := img.(type) {
	case *image.YCbCr:
		if src.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			return webpYCbCrToNRGBA(src)
		}
	case *image.NYCbCrA:
		if src.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			dst := webpYCbCrToNRGBA(&src.YCbCr)
			compositeAlpha(dst, src.A[src.AOffset(src.Rect.Min.X, src.Rect.Min.Y):],
				src.AStride, src.Rect)
			return dst
		}
	}
	return toNRGBA(img)
}

func webpYCbCrToNRGBA(src *image.YCbCr) *image.NRGBA {
	r := src.Rect
	w, h := r.Dx(), r.Dy()
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	ch := (h + 1) / 2
	chroma := func(cy int) ([]byte, []byte) {
		i := src.COffset(r.Min.X, r.Min.Y+2*cy)
		n := (w + 1) / 2
		return src.Cb[i : i+n], src.Cr[i : i+n]
	}
	forStrips(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			// Output rows 2k-1 and 2k lie between chroma rows k-1 and k;
			// row 0 and an even height's last row use one chroma row.
			top, cur := max((y+1)/2-1, 0), min((y+1)/2, ch-1)
			tb, tr := chroma(top)
			cb, cr := chroma(cur)
			luma := src.Y[src.YOffset(r.Min.X, r.Min.Y+y):][:w]
			out := dst.Pix[y*dst.Stride : y*dst.Stride+w*4]
			if y%2 == 1 || y == 0 {
				webpUpsampleRow(out, luma, tb, tr, cb, cr)
			} else {
				webpUpsampleRow(out, luma, cb, cr, tb, tr)
			}
		}
	})
	return dst
}

// webpUpsampleRow converts one row whose nearer chroma row is (nb, nr) and
// farther one (fb, fr), as libwebp's fancy upsampler: each chroma value is
// about (9*nearest + 3*across + 3*down + diagonal + 8) / 16, computed with
// libwebp's two-step rounding.
func webpUpsampleRow(out, luma, nb, nr, fb, fr []byte) {
	w := len(luma)
	put := func(x int, u, v uint32) { webpPixel(out[x*4:x*4+4], luma[x], u, v) }
	put(0, (3*uint32(nb[0])+uint32(fb[0])+2)>>2, (3*uint32(nr[0])+uint32(fr[0])+2)>>2)
	for x := 1; x <= (w-1)/2; x++ {
		u0, u1 := webpPair(nb[x-1], nb[x], fb[x-1], fb[x])
		v0, v1 := webpPair(nr[x-1], nr[x], fr[x-1], fr[x])
		put(2*x-1, u0, v0)
		put(2*x, u1, v1)
	}
	if w%2 == 0 {
		last := w/2 - 1
		put(w-1, (3*uint32(nb[last])+uint32(fb[last])+2)>>2,
			(3*uint32(nr[last])+uint32(fr[last])+2)>>2)
	}
}

// webpPair interpolates the two outputs between near-row samples a (left)
// and b (right) with far-row samples c and d below or above them.
func webpPair(a, b, c, d byte) (left, right uint32) {
	na, nb, fc, fd := uint32(a), uint32(b), uint32(c), uint32(d)
	avg := na + nb + fc + fd + 8
	diagBC := (avg + 2*(nb+fc)) >> 3
	diagAD := (avg + 2*(na+fd)) >> 3
	return (diagBC + na) >> 1, (diagAD + nb) >> 1
}

// webpPixel converts one sample with libwebp's BT.601 fixed-point formulas.
func webpPixel(d []byte, y byte, u, v uint32) {
	multHi := func(v, coeff int32) int32 { return (v * coeff) >> 8 }
	yy, uu, vv := multHi(int32(y), 19077), int32(u), int32(v)
	d[0] = webpClip(yy + multHi(vv, 26149) - 14234)
	d[1] = webpClip(yy - multHi(uu, 6419) - multHi(vv, 13320) + 8708)
	d[2] = webpClip(yy + multHi(uu, 33050) - 17685)
	d[3] = 0xff
}

// webpClip turns a 6-bit fixed-point value into 0..255.
func webpClip(v int32) byte {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return byte(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}
