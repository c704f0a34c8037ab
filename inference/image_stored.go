package inference

import (
	"image"
	"image/color"
	"sync"
)

// storedPixels is an opaque decoded image as its file stores it, before it
// is turned upright, read a row of RGBA pixels at a time. A JPEG's planes
// are one: they are converted to RGB row by row as the resizers read them,
// so a 12 MP photo is never held as 48 MB of RGBA.
type storedPixels interface {
	// size returns the stored width and height.
	size() (width, height int)
	// reader returns a function that gives stored row y as RGBA bytes,
	// written into buf (4 bytes a pixel) or held elsewhere. It serves one
	// goroutine; each call may reuse what the last one returned.
	reader() func(y int, buf []byte) []byte
	// whole returns every pixel as one image with its origin at (0, 0).
	whole() *image.NRGBA
}

// nrgbaPixels is a decoded image held as RGBA pixels.
type nrgbaPixels struct{ img *image.NRGBA }

func (p nrgbaPixels) size() (int, int) { return p.img.Rect.Dx(), p.img.Rect.Dy() }

func (p nrgbaPixels) reader() func(int, []byte) []byte {
	img := p.img
	return func(y int, _ []byte) []byte {
		i := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		return img.Pix[i : i+4*img.Rect.Dx()]
	}
}

func (p nrgbaPixels) whole() *image.NRGBA { return p.img }

func (p ycbcrPlanes) size() (int, int) { return p.width, p.height }

func (p ycbcrPlanes) reader() func(int, []byte) []byte {
	conv := newRowConverter(p)
	return func(y int, buf []byte) []byte {
		row := buf[:4*p.width]
		conv.row(row, y)
		return row
	}
}

func (p ycbcrPlanes) whole() *image.NRGBA { return p.toRGBA() }

// pixelAt reads single stored pixels, converting the row that holds one
// only when the last call read another row. It is safe for concurrent use.
type pixelAt struct {
	mu   sync.Mutex
	src  storedPixels
	read func(int, []byte) []byte
	y    int
	row  []byte
	buf  []byte
}

func (a *pixelAt) at(x, y int) color.NRGBA {
	a.mu.Lock()
	defer a.mu.Unlock()

	if a.read == nil || a.y != y {
		if a.read == nil {
			w, _ := a.src.size()
			a.read, a.buf = a.src.reader(), make([]byte, 4*w)
		}
		a.row, a.y = a.read(y, a.buf), y
	}
	p := a.row[4*x : 4*x+4 : 4*x+4]
	return color.NRGBA{R: p[0], G: p[1], B: p[2], A: p[3]}
}
