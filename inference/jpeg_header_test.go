package inference

import (
	"bytes"
	"path/filepath"
	"testing"
)

// jpegSegment encodes one marker segment with its payload.
func jpegSegment(marker byte, payload ...byte) []byte {
	n := len(payload) + 2
	return append([]byte{0xff, marker, byte(n >> 8), byte(n)}, payload...)
}

// sofPayload is a frame header: 8-bit, 16x8, with the given components
// (each 2x2 sampled for the first, 1x1 after).
func sofPayload(precision byte, height, width, components int) []byte {
	p := []byte{precision, byte(height >> 8), byte(height), byte(width >> 8), byte(width),
		byte(components)}
	for i := range components {
		sampling := byte(0x11)
		if i == 0 {
			sampling = 0x22
		}
		p = append(p, byte(i+1), sampling, 0)
	}
	return p
}

// jpegOf joins SOI, segments and a minimal scan header.
func jpegOf(segments ...[]byte) []byte {
	out := []byte{0xff, markerSOI}
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, jpegSegment(markerSOS, 1, 1, 0, 0, 63, 0)...)
}

func TestReadJPEGHeader(t *testing.T) {
	t.Parallel()
	sof := jpegSegment(markerSOF0, sofPayload(8, 8, 16, 3)...)
	cases := []struct {
		name  string
		data  []byte
		code  string
		words string
	}{
		{"a baseline header is read", jpegOf(sof), "", ""},
		{"stray bytes between segments are skipped",
			jpegOf(jpegSegment(0xe0, 'J'), []byte{0, 0}, sof), "", ""},
		{"12-bit precision is named", jpegOf(jpegSegment(markerSOF1, sofPayload(12, 8, 16, 3)...)),
			CodeUnsupportedFormat, "12-bit precision"},
		{"arithmetic coding is named", jpegOf(jpegSegment(0xc9, sofPayload(8, 8, 16, 3)...)),
			CodeUnsupportedFormat, "arithmetic coding"},
		{"lossless coding is named", jpegOf(jpegSegment(0xc3, sofPayload(8, 8, 16, 3)...)),
			CodeUnsupportedFormat, "lossless"},
		{"hierarchical coding is named", jpegOf(jpegSegment(0xc5, sofPayload(8, 8, 16, 3)...)),
			CodeUnsupportedFormat, "hierarchical"},
		{"a height left to a DNL marker is refused",
			jpegOf(jpegSegment(markerSOF0, sofPayload(8, 0, 16, 3)...)), CodeUnsupportedFormat, "DNL"},
		{"two components are refused", jpegOf(jpegSegment(markerSOF0, sofPayload(8, 8, 16, 2)...)),
			CodeUnsupportedFormat, "2 colour components"},
		{"two frame headers are corrupt", jpegOf(sof, sof), CodeCorruptImage, "corrupt"},
		{"a scan before the frame is corrupt", jpegOf(), CodeCorruptImage, "corrupt"},
		{"a cut segment is truncated", jpegOf(sof)[:12], CodeCorruptImage, "truncated"},
		{"end of image before a scan is corrupt",
			append([]byte{0xff, markerSOI, 0xff, markerEOI}, sof...), CodeCorruptImage, "corrupt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := readJPEGHeader(tc.data)
			if tc.code != "" {
				checkInputError(t, err, tc.code, tc.words)
				return
			}
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if h.width != 16 || h.height != 8 || h.components != 3 || h.hSamp[0] != 2 {
				t.Fatalf("header %+v, want 16x8, 3 components, luma 2x2", h)
			}
		})
	}
}

func TestReadJPEGHeaderRefusesScanBombs(t *testing.T) {
	t.Parallel()
	path := filepath.Join(imageDataDir(t, "images"),
		"clinical_melanoma_closeup_progressive_428x285.jpg")
	data := readImageFile(t, path)
	if _, err := Inspect(data, 0); err != nil {
		t.Fatalf("inspecting the real progressive photo: %v", err)
	}

	scan := jpegSegment(markerSOS, 1, 1, 0, 1, 5, 0)
	bomb := append(data[:len(data)-2:len(data)-2],
		bytes.Repeat(append(scan, 0x00), maxProgressiveScans)...)
	_, err := Inspect(bomb, 0)
	checkInputError(t, err, CodeUnsupportedFormat, "progressive scans")
}

// TestInspectRefusesSubsamplingGoCannotDecode gives a JPEG's luma a
// sampling factor of 3, which Go's decoder does not support: Inspect must
// refuse it from the header, as unsupported, so no upload of it is queued.
func TestInspectRefusesSubsamplingGoCannotDecode(t *testing.T) {
	t.Parallel()
	data := markedJPEG(t, 1)
	h, err := readJPEGHeader(data)
	if err != nil {
		t.Fatalf("reading the header: %v", err)
	}
	odd := bytes.Clone(data)
	// SOF: marker (2), length (2), precision (1), height (2), width (2),
	// components (1), then id (1) and sampling factors (1) of the luma.
	odd[h.sofStart+11] = 0x31

	_, err = Inspect(odd, 0)
	checkInputError(t, err, CodeUnsupportedFormat, "subsampling")
}

// TestJPEGWithDisagreeingColourMarkersIsRefused: an Adobe segment saying
// YCbCr on components named R, G, B is refused where Go's decoder would
// read it (it would take the names), with the Adobe segment alone or the
// usual component ids the file decodes.
func TestJPEGWithDisagreeingColourMarkersIsRefused(t *testing.T) {
	t.Parallel()
	base := markedJPEG(t, 1)
	adobe := jpegSegment(0xee, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01")...)
	withAdobe := append(append([]byte{0xff, markerSOI}, adobe...), base[2:]...)

	h, err := readJPEGHeader(withAdobe)
	if err != nil {
		t.Fatalf("reading the header: %v", err)
	}
	if _, _, err := DecodeImage(withAdobe, 0); err != nil || h.isRGB() {
		t.Fatalf("Adobe YCbCr with ids 1, 2, 3: %v, RGB %v; want it decoded as YCbCr", err,
			h.isRGB())
	}

	named := bytes.Clone(withAdobe)
	for i, id := range []byte("RGB") {
		named[h.sofStart+4+6+3*i] = id
	}
	// The scan header's selectors name the components too.
	sos := bytes.Index(named, []byte{0xff, markerSOS})
	for i, id := range []byte("RGB") {
		named[sos+5+2*i] = id
	}
	_, err = Inspect(named, 0)
	checkInputError(t, err, CodeUnsupportedFormat, "named R, G and B")
}
