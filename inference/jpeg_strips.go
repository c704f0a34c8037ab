package inference

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
)

// Go's JPEG decoder runs on one core. Many phone cameras write a restart
// marker at the start of every row of MCUs; there the entropy-coded data can
// be cut into strips that decode independently, one per core, with the same
// result as a whole decode.

// restartStrip is a run of restart intervals that starts and ends on MCU
// row boundaries.
type restartStrip struct {
	firstRow, rows int // in MCU rows
	data           []byte
}

// decodeJPEGStrips decodes a baseline YCbCr JPEG as about n parallel strips. It
// returns ok false when the file does not allow it (no restart markers at
// row starts, several scans, another colour model) or a strip fails; the
// caller then decodes the whole file, which also reports any error.
func decodeJPEGStrips(data []byte, h jpegHeader, n int) (ycbcrPlanes, bool) {
	if n < 2 || h.progressive || h.components != 3 || h.restartInterval == 0 {
		return ycbcrPlanes{}, false
	}
	strips, ok := splitScan(data, h, n)
	if !ok {
		return ycbcrPlanes{}, false
	}

	images := make([]*image.YCbCr, len(strips))
	var wg sync.WaitGroup
	for i, s := range strips {
		wg.Go(func() { images[i] = decodeStrip(s.data) })
	}
	wg.Wait()
	return joinStrips(h, strips, images)
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

// splitScan cuts the first scan at restart markers into about n strips of
// whole MCU rows, each a complete JPEG file.
func splitScan(data []byte, h jpegHeader, n int) ([]restartStrip, bool) {
	_, mcuH, across, down := h.mcuSize()
	markers, ok := restartMarkers(data, h.scanStart)
	intervals := (across*down + h.restartInterval - 1) / h.restartInterval
	if !ok || len(markers) != intervals-1 {
		return nil, false
	}
	// Boundaries every rowStep MCU rows fall on restart markers.
	rowStep := lcm(h.restartInterval, across) / across
	steps := (down + rowStep - 1) / rowStep
	if steps < 2 {
		return nil, false
	}

	n = min(n, steps)
	strips := make([]restartStrip, 0, n)
	for i := range n {
		first, last := steps*i/n*rowStep, min(steps*(i+1)/n*rowStep, down)
		strip := restartStrip{firstRow: first, rows: last - first}
		strip.data = stripFile(data, h, markers, first*across/h.restartInterval,
			(last*across+h.restartInterval-1)/h.restartInterval, min(strip.rows*mcuH,
				h.height-first*mcuH))
		strips = append(strips, strip)
	}
	return strips, true
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

// joinStrips checks that the strips decoded alike and presents them as one
// set of planes.
func joinStrips(h jpegHeader, strips []restartStrip, images []*image.YCbCr) (ycbcrPlanes, bool) {
	_, mcuH, _, _ := h.mcuSize()
	for _, img := range images {
		if img == nil || img.SubsampleRatio != images[0].SubsampleRatio ||
			img.Rect.Dx() != h.width {
			return ycbcrPlanes{}, false
		}
	}
	hf, vf, ok := subsampleFactors(images[0].SubsampleRatio)
	if !ok {
		return ycbcrPlanes{}, false
	}
	stripOf := func(y int) (*image.YCbCr, int) {
		for i := len(strips) - 1; i > 0; i-- {
			if first := strips[i].firstRow * mcuH; y >= first {
				return images[i], y - first
			}
		}
		return images[0], y
	}
	return ycbcrPlanes{
		width: h.width, height: h.height, hFactor: hf, vFactor: vf,
		luma: func(y int) []byte {
			img, y := stripOf(y)
			return img.Y[y*img.YStride : y*img.YStride+h.width]
		},
		chroma: func(cy int) ([]byte, []byte) {
			img, y := stripOf(cy * vf)
			i := y / vf * img.CStride
			n := (h.width + hf - 1) / hf
			return img.Cb[i : i+n], img.Cr[i : i+n]
		},
	}, true
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}
