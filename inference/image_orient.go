package inference

import (
	"encoding/binary"
	"image"
)

// orient returns src turned upright for an EXIF orientation (1..8): 2 is a
// left-right mirror, 3 a half turn, 4 a top-bottom mirror, 5 a transpose,
// 6 needs a quarter turn clockwise, 7 a transverse, 8 a quarter turn
// anticlockwise. Orientation 1 returns src itself.
func orient(src *image.NRGBA, orientation int) *image.NRGBA {
	if orientation < 2 || orientation > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if orientation >= 5 {
		dw, dh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	forStrips(dh, func(y0, y1 int) {
		// Tiles keep the source rows a transpose reads in the CPU cache.
		const tile = 32
		for ty := y0; ty < y1; ty += tile {
			for tx := 0; tx < dw; tx += tile {
				for y := ty; y < min(ty+tile, y1); y++ {
					orientSpan(dst, src, orientation, y, tx, min(tx+tile, dw))
				}
			}
		}
	})
	return dst
}

// orientSpan fills pixels [x0, x1) of row y of dst from the source pixels
// that land there.
func orientSpan(dst, src *image.NRGBA, orientation, y, x0, x1 int) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	sx, sy, dx, dy := sourceWalk(orientation, y, w, h)
	sx, sy = sx+x0*dx, sy+x0*dy
	row := dst.Pix[y*dst.Stride+x0*4 : y*dst.Stride+x1*4]
	for x := 0; x < len(row); x += 4 {
		i := sy*src.Stride + sx*4
		binary.LittleEndian.PutUint32(row[x:], binary.LittleEndian.Uint32(src.Pix[i:]))
		sx, sy = sx+dx, sy+dy
	}
}

// sourceWalk gives the source pixel of the first pixel of destination row y
// and the step through the source for each step right in the destination.
func sourceWalk(orientation, y, w, h int) (sx, sy, dx, dy int) {
	switch orientation {
	case 2:
		return w - 1, y, -1, 0
	case 3:
		return w - 1, h - 1 - y, -1, 0
	case 4:
		return 0, h - 1 - y, 1, 0
	case 5:
		return y, 0, 0, 1
	case 6:
		return y, h - 1, 0, -1
	case 7:
		return w - 1 - y, h - 1, 0, -1
	}
	return w - 1 - y, 0, 0, 1
}

// orientBand writes source rows [b0, b1) of an image h rows high, held in
// band from its first row, to their upright places in dst.
func orientBand(dst, band *image.NRGBA, b0, b1, h, orientation int) {
	w := band.Rect.Dx()
	if orientation < 5 {
		for sy := b0; sy < b1; sy++ {
			dy := sy
			if orientation != 2 {
				dy = h - 1 - sy
			}
			in := band.Pix[(sy-b0)*band.Stride : (sy-b0)*band.Stride+w*4]
			out := dst.Pix[dy*dst.Stride : dy*dst.Stride+w*4]
			if orientation == 4 {
				copy(out, in)
			} else {
				reversePixels(out, in)
			}
		}
		return
	}

	// Source rows become destination columns [c0, c1).
	c0, c1 := b0, b1
	if orientation == 6 || orientation == 7 {
		c0, c1 = h-b1, h-b0
	}
	for dy := range dst.Rect.Dy() {
		sx, sy, dx, dsy := sourceWalk(orientation, dy, w, h)
		sx, sy = sx+c0*dx, sy+c0*dsy-b0
		out := dst.Pix[dy*dst.Stride+c0*4 : dy*dst.Stride+c1*4]
		for x := 0; x < len(out); x += 4 {
			i := sy*band.Stride + sx*4
			binary.LittleEndian.PutUint32(out[x:], binary.LittleEndian.Uint32(band.Pix[i:]))
			sy += dsy
		}
	}
}

// reversePixels copies the RGBA pixels of in to out in reverse order.
func reversePixels(out, in []byte) {
	n := len(in) / 4
	for i := range n {
		v := binary.LittleEndian.Uint32(in[i*4:])
		binary.LittleEndian.PutUint32(out[(n-1-i)*4:], v)
	}
}
