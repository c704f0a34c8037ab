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
	case 1:
		return 0, y, 1, 0
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
