package inference

import (
	"bytes"
	"image"
	"image/jpeg"
	"path/filepath"
	"strconv"
	"testing"
)

// TestDecodeJPEGStripsMatchesWholeDecode decodes every photo with restart
// markers as strips and compares every plane row with Go's whole decode.
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
		whole, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("decoding %s: %v", filepath.Base(path), err)
		}
		want, _ := planesOf(whole.(*image.YCbCr))
		for _, n := range []int{2, 3, 5} {
			name := filepath.Base(path) + " in " + strconv.Itoa(n) + " strips equals the whole"
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				got, ok := decodeJPEGStrips(data, h.jpeg, n)
				if !ok {
					t.Fatalf("strip decoding refused a file with restart markers")
				}
				comparePlanes(t, got, want)
			})
		}
	}
	if tested == 0 {
		t.Fatalf("no photo with restart markers in the test data")
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
	if _, ok := decodeJPEGStrips(data, h.jpeg, 2); ok {
		t.Fatalf("strip decoding accepted a file without restart markers")
	}
}
