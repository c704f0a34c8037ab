package inference

import (
	"image"
	"image/color"
)

// toNRGBA converts an image to an opaque *image.NRGBA whose origin is
// (0, 0): YCbCr as libjpeg-turbo converts it, transparency composited on
// white, 16-bit samples reduced to 8 bits, an upright view turned.
func toNRGBA(img image.Image) *image.NRGBA {
	switch src := img.(type) {
	case *uprightView:
		return src.upright()
	case *image.YCbCr:
		if p, ok := planesOf(src); ok {
			return p.toRGBA()
		}
	case *image.NYCbCrA:
		if p, ok := planesOf(&src.YCbCr); ok {
			dst := p.toRGBA()
			compositeAlpha(dst, src.A[src.AOffset(src.Rect.Min.X, src.Rect.Min.Y):],
				src.AStride, src.Rect)
			return dst
		}
	case *image.Gray:
		return greyToNRGBA(src.Pix, src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y), src.Stride,
			src.Rect, 1)
	case *image.Gray16:
		return greyToNRGBA(src.Pix, src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y), src.Stride,
			src.Rect, 2)
	case *image.Paletted:
		return palettedToNRGBA(src)
	}
	return genericToNRGBA(img)
}

// onWhite composites an 8-bit colour value with alpha a over white.
func onWhite(c, a uint8) uint8 {
	return uint8((uint32(c)*uint32(a) + 255*(255-uint32(a)) + 127) / 255)
}

// compositeAlpha puts an alpha plane, starting at r's top-left sample, under
// dst's (opaque) pixels, over white.
func compositeAlpha(dst *image.NRGBA, alpha []byte, stride int, r image.Rectangle) {
	for y := range r.Dy() {
		row := dst.Pix[y*dst.Stride:]
		for x := range r.Dx() {
			a := alpha[y*stride+x]
			p := row[x*4 : x*4+3 : x*4+3]
			p[0], p[1], p[2] = onWhite(p[0], a), onWhite(p[1], a), onWhite(p[2], a)
		}
	}
}

// greyToNRGBA spreads grey samples of size bytes (1, or 2 big-endian, of
// which the colour model keeps the high byte) to three opaque channels;
// first is the offset of the top-left sample.
func greyToNRGBA(pix []byte, first, stride int, r image.Rectangle, size int) *image.NRGBA {
	dst := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		in := pix[first+y*stride:]
		out := dst.Pix[y*dst.Stride:]
		for x := range r.Dx() {
			v := in[x*size]
			out[x*4], out[x*4+1], out[x*4+2], out[x*4+3] = v, v, v, 0xff
		}
	}
	return dst
}

func palettedToNRGBA(src *image.Paletted) *image.NRGBA {
	var table [256][4]byte
	for i := range table {
		c := color.NRGBA{A: 0xff}
		if i < len(src.Palette) {
			c = color.NRGBAModel.Convert(src.Palette[i]).(color.NRGBA)
		}
		table[i] = [4]byte{onWhite(c.R, c.A), onWhite(c.G, c.A), onWhite(c.B, c.A), 0xff}
	}

	r := src.Rect
	dst := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		in := src.Pix[src.PixOffset(r.Min.X, r.Min.Y+y):]
		out := dst.Pix[y*dst.Stride:]
		for x := range r.Dx() {
			copy(out[x*4:x*4+4], table[in[x]][:])
		}
	}
	return dst
}

// genericToNRGBA handles every other image type through its colour model:
// premultiplied 16-bit values plus the uncovered part of white.
func genericToNRGBA(img image.Image) *image.NRGBA {
	r := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	forStrips(r.Dy(), func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			out := dst.Pix[y*dst.Stride:]
			for x := range r.Dx() {
				cr, cg, cb, ca := img.At(r.Min.X+x, r.Min.Y+y).RGBA()
				white := 0xffff - ca
				out[x*4] = uint8((cr + white) >> 8)
				out[x*4+1] = uint8((cg + white) >> 8)
				out[x*4+2] = uint8((cb + white) >> 8)
				out[x*4+3] = 0xff
			}
		}
	})
	return dst
}
