package inference

import "image"

// decodedToNRGBA converts a decoder's result to an opaque *image.NRGBA as
// toNRGBA does, but reuses the pixels of an RGBA or NRGBA image, 8 or 16
// bits a channel, or of a CMYK one, in place: the caller owns a freshly decoded image, and a
// 50-megapixel photo must not be held twice (200 MB each, or 400 and 200
// for 16 bits) on a small host.
func decodedToNRGBA(img image.Image) *image.NRGBA {
	switch src := img.(type) {
	case *image.RGBA:
		if whole(src.Rect, src.Stride) {
			premultipliedOnWhite(src.Pix)
			return &image.NRGBA{Pix: src.Pix, Stride: src.Stride, Rect: src.Rect}
		}
	case *image.NRGBA:
		if whole(src.Rect, src.Stride) {
			straightOnWhite(src.Pix)
			return src
		}
	case *image.CMYK:
		if whole(src.Rect, src.Stride) {
			cmykToRGB(src.Pix)
			return &image.NRGBA{Pix: src.Pix, Stride: src.Stride, Rect: src.Rect}
		}
	case *image.RGBA64:
		if whole(src.Rect, src.Stride/2) {
			return narrowOnWhite(src.Pix, src.Rect, true)
		}
	case *image.NRGBA64:
		if whole(src.Rect, src.Stride/2) {
			return narrowOnWhite(src.Pix, src.Rect, false)
		}
	}
	return toNRGBA(img)
}

// cmykToRGB turns CMYK pixels into opaque RGBA ones in place, with the
// arithmetic of CMYK's colour model.
func cmykToRGB(pix []byte) {
	for i := 0; i+3 < len(pix); i += 4 {
		p := pix[i : i+4 : i+4]
		w := 0xffff - uint32(p[3])*0x101
		for c := range 3 {
			p[c] = uint8((0xffff - uint32(p[c])*0x101) * w / 0xffff >> 8)
		}
		p[3] = 0xff
	}
}

// narrowOnWhite turns 16-bit RGBA pixels (8 bytes, big-endian) into 8-bit
// ones in the first half of the same buffer, composited on white with the
// arithmetic genericToNRGBA applies through their colour model; premultiplied
// says whether the colour is already multiplied by alpha. Pixels go in
// order, each read whole before its narrow form overwrites the bytes of
// those already done.
func narrowOnWhite(pix []byte, r image.Rectangle, premultiplied bool) *image.NRGBA {
	n := r.Dx() * r.Dy()
	for i := range n {
		p := pix[8*i : 8*i+8 : 8*i+8]
		cr := uint32(p[0])<<8 | uint32(p[1])
		cg := uint32(p[2])<<8 | uint32(p[3])
		cb := uint32(p[4])<<8 | uint32(p[5])
		ca := uint32(p[6])<<8 | uint32(p[7])
		if !premultiplied {
			cr, cg, cb = cr*ca/0xffff, cg*ca/0xffff, cb*ca/0xffff
		}
		white := 0xffff - ca
		q := pix[4*i : 4*i+4 : 4*i+4]
		q[0], q[1], q[2], q[3] = uint8((cr+white)>>8), uint8((cg+white)>>8),
			uint8((cb+white)>>8), 0xff
	}
	return &image.NRGBA{Pix: pix[:4*n], Stride: 4 * r.Dx(), Rect: r}
}

// whole reports whether pixels of rectangle r with stride hold nothing but
// the image, from (0, 0), 4 bytes a pixel.
func whole(r image.Rectangle, stride int) bool {
	return r.Min == image.Point{} && stride == 4*r.Dx()
}

// premultipliedOnWhite composites premultiplied RGBA pixels on white in
// place: the uncovered part of white is added, as genericToNRGBA does.
func premultipliedOnWhite(pix []byte) {
	for i := 0; i+3 < len(pix); i += 4 {
		a := pix[i+3]
		if a == 0xff {
			continue
		}
		white := 0xff - a
		pix[i] += white
		pix[i+1] += white
		pix[i+2] += white
		pix[i+3] = 0xff
	}
}

// straightOnWhite composites non-premultiplied RGBA pixels on white in
// place, with the arithmetic genericToNRGBA applies to them through their
// 16-bit colour model.
func straightOnWhite(pix []byte) {
	for i := 0; i+3 < len(pix); i += 4 {
		a := uint32(pix[i+3])
		if a == 0xff {
			continue
		}
		a16 := a * 0x101
		for c := range 3 {
			v := uint32(pix[i+c]) * 0x101 * a / 0xff
			pix[i+c] = uint8((v + 0xffff - a16) >> 8)
		}
		pix[i+3] = 0xff
	}
}
