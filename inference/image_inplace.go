package inference

import "image"

// decodedToNRGBA converts a decoder's result to an opaque *image.NRGBA as
// toNRGBA does, but reuses the pixels of an 8-bit RGBA or NRGBA image in
// place: the caller owns a freshly decoded image, and a 50-megapixel photo
// must not be held twice (200 MB each) on a small host.
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
	}
	return toNRGBA(img)
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
