package inference

import (
	"bytes"
	"image"
	"image/jpeg"
	"path/filepath"
	"testing"
)

// TestDecodeJPEGStripsMatchesWholeDecode decodes every photo with restart
// markers as strips, all at once and a strip at a time, and compares every
// plane row and every converted row with Go's whole decode.
func TestDecodeJPEGStripsMatchesWholeDecode(t *testing.T) {
	t.Parallel()
	tested := 0
	for _, path := range imageDataFiles(t, "images") {
		data := readImageFile(t, path)
		h, err := readHeader(data, 0)
		if err != nil || h.info.Format != FormatJPEG || h.jpeg.restartInterval == 0 {
			continue
		}
		tested++
		t.Run(filepath.Base(path)+" in strips equals the whole", func(t *testing.T) {
			t.Parallel()
			whole, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			want, _ := planesOf(whole.(*image.YCbCr))
			strips, ok := newJPEGStrips(data, h.jpeg, image.Point{})
			if !ok {
				t.Fatalf("strip decoding refused a file with restart markers")
			}
			if len(strips.strips) < 2 {
				t.Fatalf("%d strips, want several", len(strips.strips))
			}
			got, ok := strips.decodeAll()
			if !ok {
				t.Fatalf("a strip failed to decode")
			}
			comparePlanes(t, got, want)
			compareRows(t, strips, want)
		})
	}
	if tested == 0 {
		t.Fatalf("no photo with restart markers in the test data")
	}
}

// compareRows reads every row of the strips' reader, in order, and expects
// the row converted from the whole decode.
func compareRows(t *testing.T, strips *jpegStrips, want ycbcrPlanes) {
	t.Helper()
	read, readWant := strips.reader(), want.reader()
	buf, wantBuf := make([]byte, 4*want.width), make([]byte, 4*want.width)
	for y := range want.height {
		if !bytes.Equal(read(y, buf), readWant(y, wantBuf)) {
			t.Fatalf("converted row %d differs", y)
		}
	}
}

func comparePlanes(t *testing.T, got, want ycbcrPlanes) {
	t.Helper()
	if got.width != want.width || got.height != want.height ||
		got.hFactor != want.hFactor || got.vFactor != want.vFactor {
		t.Fatalf("planes %dx%d /%d/%d, want %dx%d /%d/%d", got.width, got.height,
			got.hFactor, got.vFactor, want.width, want.height, want.hFactor, want.vFactor)
	}
	for y := range got.height {
		if !bytes.Equal(got.luma(y), want.luma(y)) {
			t.Fatalf("luma row %d differs", y)
		}
	}
	for cy := range (got.height + got.vFactor - 1) / got.vFactor {
		gb, gr := got.chroma(cy)
		wb, wr := want.chroma(cy)
		if !bytes.Equal(gb, wb) || !bytes.Equal(gr, wr) {
			t.Fatalf("chroma row %d differs", cy)
		}
	}
}

func TestDecodeJPEGStripsRefusesFilesWithoutRestarts(t *testing.T) {
	t.Parallel()
	data := markedJPEG(t, 1)
	h, err := readHeader(data, 0)
	if err != nil {
		t.Fatalf("reading the header: %v", err)
	}
	if _, ok := newJPEGStrips(data, h.jpeg, image.Point{}); ok {
		t.Fatalf("strip decoding accepted a file without restart markers")
	}
}
