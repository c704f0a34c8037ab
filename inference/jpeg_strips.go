package inference

import (
	"bytes"
	"image"
	"image/jpeg"
	"runtime"
	"sort"
	"sync/atomic"
)

// Go's JPEG decoder runs on one core and holds the whole image. DermQ
// makes a JPEG's planes a strip of rows at a time where it can: one strip
// per core at a time, or one at a time as a resizer reads the rows
// (jpegStrips.reader). Many phone cameras write a restart marker at the
// start of every row of MCUs; there the entropy-coded data can be cut into
// strips that Go's decoder decodes independently with the same result as a
// whole decode. A progressive JPEG's scans are decoded into coefficients
// first, and each strip is transformed from them (progressiveStrips).

// stripRows is about how many rows of pixels a strip holds: 0.8 MB of
// planes for a 4032-pixel-wide 4:2:0 photo.
const stripRows = 128

// pixelStrip is a band of pixel rows [top, top+height).
type pixelStrip struct{ top, height int }

// restartStrip is a run of restart intervals [from, to) that starts and
// ends on MCU row boundaries, and the pixel rows it holds.
type restartStrip struct {
	from, to int
	pixelStrip
}

// jpegStrips is a YCbCr JPEG whose planes are made a strip at a time.
type jpegStrips struct {
	width, height int
	strips        []pixelStrip
	// ratio, hFactor and vFactor are the chroma subsampling; every strip
	// must have it.
	ratio            image.YCbCrSubsampleRatio
	hFactor, vFactor int
	// make returns strip k's planes, or nil when it cannot. When spare is
	// not nil, a strip no longer read, it may reuse its buffers.
	make func(k int, spare *image.YCbCr) *image.YCbCr
}

// errStripFailed is raised when a strip does not decode like the first.
type errStripFailed struct{}

// newJPEGStrips prepares the file for decoding in strips of about
// stripRows rows. A progressive file may be decoded scaled down, to no less
// than minSize (see newProgressiveStrips). It returns ok false when the
// file does not allow it; the caller then decodes the whole file, which
// also reports any error.
func newJPEGStrips(data []byte, h jpegHeader, minSize image.Point) (*jpegStrips, bool) {
	if h.progressive {
		return newProgressiveStrips(data, h, minSize)
	}
	return newRestartStrips(data, h)
}

// newRestartStrips cuts a baseline file at restart markers and decodes the
// first strip to learn its subsampling. It returns ok false without restart
// markers at row starts, with several scans, another colour model or an
// undecodable first strip.
func newRestartStrips(data []byte, h jpegHeader) (*jpegStrips, bool) {
	if h.components != 3 || h.restartInterval == 0 {
		return nil, false
	}
	markers, cuts, ok := splitScan(data, h)
	if !ok {
		return nil, false
	}
	s := &jpegStrips{width: h.width, height: h.height}
	for _, c := range cuts {
		s.strips = append(s.strips, c.pixelStrip)
	}
	s.make = func(k int, _ *image.YCbCr) *image.YCbCr {
		c := cuts[k]
		return decodeStrip(stripFile(data, h, markers, c.from, c.to, c.height))
	}

	first := s.make(0, nil)
	if first == nil || first.Rect.Dx() != h.width || first.Rect.Dy() != s.strips[0].height {
		return nil, false
	}
	s.ratio = first.SubsampleRatio
	s.hFactor, s.vFactor, ok = subsampleFactors(s.ratio)
	return s, ok
}

// splitScan finds the restart markers of the first scan and cuts it into
// strips of whole MCU rows.
func splitScan(data []byte, h jpegHeader) ([]int, []restartStrip, bool) {
	_, mcuH, across, down := h.mcuSize()
	markers, ok := restartMarkers(data, h.scanStart)
	intervals := (across*down + h.restartInterval - 1) / h.restartInterval
	if !ok || len(markers) != intervals-1 {
		return nil, nil, false
	}
	// Boundaries every rowStep MCU rows fall on restart markers.
	rowStep := lcm(h.restartInterval, across) / across
	steps := (down + rowStep - 1) / rowStep
	if steps < 2 {
		return nil, nil, false
	}
	n := min(steps, max(2, h.height/stripRows))

	strips := make([]restartStrip, 0, n)
	for i := range n {
		first, last := steps*i/n*rowStep, min(steps*(i+1)/n*rowStep, down)
		strips = append(strips, restartStrip{
			from: first * across / h.restartInterval,
			to:   (last*across + h.restartInterval - 1) / h.restartInterval,
			pixelStrip: pixelStrip{
				top: first * mcuH, height: min(last*mcuH, h.height) - first*mcuH,
			},
		})
	}
	return markers, strips, true
}

// decode makes strip k, possibly in spare's buffers, raising
// errStripFailed when it does not decode like the first.
func (s *jpegStrips) decode(k int, spare *image.YCbCr) *image.YCbCr {
	img := s.make(k, spare)
	if img == nil || img.SubsampleRatio != s.ratio || img.Rect.Dx() != s.width ||
		img.Rect.Dy() != s.strips[k].height {
		panic(errStripFailed{})
	}
	return img
}

// stripOf returns the strip that holds pixel row y.
func (s *jpegStrips) stripOf(y int) int {
	return sort.Search(len(s.strips), func(k int) bool {
		st := s.strips[k]
		return y < st.top+st.height
	})
}

// planes presents the strips as one set of planes, fetching strip k's
// image from get.
func (s *jpegStrips) planes(get func(k int) *image.YCbCr) ycbcrPlanes {
	width, hf, vf := s.width, s.hFactor, s.vFactor
	return ycbcrPlanes{
		width: width, height: s.height, hFactor: hf, vFactor: vf,
		luma: func(y int) []byte {
			k := s.stripOf(y)
			img, y := get(k), y-s.strips[k].top
			return img.Y[y*img.YStride : y*img.YStride+width]
		},
		chroma: func(cy int) ([]byte, []byte) {
			k := s.stripOf(cy * vf)
			img, y := get(k), cy*vf-s.strips[k].top
			i := y / vf * img.CStride
			n := (width + hf - 1) / hf
			return img.Cb[i : i+n], img.Cr[i : i+n]
		},
	}
}

// decodeAll decodes every strip, one per CPU at a time, and returns the
// planes; ok is false when a strip does not decode like the first.
func (s *jpegStrips) decodeAll() (p ycbcrPlanes, ok bool) {
	images := make([]*image.YCbCr, len(s.strips))
	var next atomic.Int64
	failed := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, is := r.(errStripFailed); !is {
					panic(r)
				}
				failed = true
			}
		}()
		inParallel(min(runtime.GOMAXPROCS(0), len(images)), func(int) {
			for k := int(next.Add(1) - 1); k < len(images); k = int(next.Add(1) - 1) {
				images[k] = s.decode(k, nil)
			}
		})
	}()
	if failed {
		return ycbcrPlanes{}, false
	}
	return s.planes(func(k int) *image.YCbCr { return images[k] }), true
}

// size returns the image's width and height.
func (s *jpegStrips) size() (int, int) { return s.width, s.height }

// reader converts rows as storedPixels readers do, decoding strips as the
// rows need them and dropping those more than one strip behind, so it holds
// at most three; the next strip may reuse a dropped one's buffers. Rows
// should be read in order. A strip that fails to decode raises
// errStripFailed.
func (s *jpegStrips) reader() func(int, []byte) []byte {
	held := map[int]*image.YCbCr{}
	get := func(k int) *image.YCbCr {
		if img, ok := held[k]; ok {
			return img
		}
		var spare *image.YCbCr
		for j, img := range held {
			if j < k-1 {
				spare = img
				delete(held, j)
			}
		}
		held[k] = s.decode(k, spare)
		return held[k]
	}
	return s.planes(get).reader()
}

// whole decodes every strip and returns the image; a strip that fails to
// decode raises errStripFailed.
func (s *jpegStrips) whole() *image.NRGBA {
	p, ok := s.decodeAll()
	if !ok {
		panic(errStripFailed{})
	}
	return p.toRGBA()
}

// decodeStrip decodes one strip, or returns nil if it is not a YCbCr image.
func decodeStrip(data []byte) (img *image.YCbCr) {
	defer func() {
		if recover() != nil {
			img = nil
		}
	}()
	decoded, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	img, _ = decoded.(*image.YCbCr)
	return img
}

// mcuSize returns the size of an MCU in pixels and the count of MCUs across
// and down.
func (h jpegHeader) mcuSize() (w, ht, across, down int) {
	hMax, vMax := 1, 1
	for i := range h.components {
		hMax, vMax = max(hMax, h.hSamp[i]), max(vMax, h.vSamp[i])
	}
	w, ht = 8*hMax, 8*vMax
	return w, ht, (h.width + w - 1) / w, (h.height + ht - 1) / ht
}

// restartMarkers returns the offsets of the RST markers in the scan that
// starts at start, and ok false when the scan is followed by another scan.
func restartMarkers(data []byte, start int) ([]int, bool) {
	var markers []int
	for i := start; i+1 < len(data); i++ {
		if data[i] != 0xff {
			continue
		}
		switch m := data[i+1]; {
		case m == 0x00 || m == 0xff:
		case m >= markerRST0 && m <= markerRST7:
			markers = append(markers, i)
			i++
		default:
			return markers, m == markerEOI
		}
	}
	return nil, false
}

// stripFile builds a JPEG holding restart intervals [from, to): the headers
// with the frame height changed, the intervals' data with markers renumbered
// from RST0, and EOI.
func stripFile(data []byte, h jpegHeader, markers []int, from, to, height int) []byte {
	begin := h.scanStart
	if from > 0 {
		begin = markers[from-1] + 2
	}
	end := len(data)
	if to-1 < len(markers) {
		end = markers[to-1]
	} else {
		end = eoiOffset(data, markers, h.scanStart)
	}

	out := make([]byte, 0, h.scanStart+end-begin+2)
	out = append(out, data[:h.scanStart]...)
	// SOF: marker (2), length (2), precision (1), height (2).
	out[h.sofStart+5], out[h.sofStart+6] = byte(height>>8), byte(height)
	scan := len(out)
	out = append(out, data[begin:end]...)
	for k, i := 0, from; i < to-1; i++ {
		out[scan+markers[i]-begin+1] = markerRST0 + byte(k%8)
		k++
	}
	return append(out, 0xff, markerEOI)
}

// eoiOffset returns where the scan ends: the marker after the last RST.
func eoiOffset(data []byte, markers []int, scanStart int) int {
	i := scanStart
	if len(markers) > 0 {
		i = markers[len(markers)-1] + 2
	}
	for ; i+1 < len(data); i++ {
		if data[i] == 0xff && data[i+1] != 0x00 && data[i+1] != 0xff {
			return i
		}
	}
	return len(data)
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}
