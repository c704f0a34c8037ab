package inference

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// jpegHeader is what DermQ reads from the markers before a JPEG's first scan.
type jpegHeader struct {
	width, height   int
	components      int
	progressive     bool
	orientation     int
	restartInterval int
	// sofStart and scanStart are offsets of the SOF segment's marker and of
	// the first byte after the first SOS segment.
	sofStart, scanStart int
	// hSamp and vSamp are the components' sampling factors, ids their
	// identifiers.
	hSamp, vSamp [4]int
	ids          [4]byte
	// jfif, adobe and transform are what the APP0 and APP14 segments say
	// about the colour model.
	jfif, adobe bool
	transform   byte
}

// JPEG markers DermQ looks at.
const (
	markerSOF0  = 0xc0
	markerSOF1  = 0xc1
	markerSOF2  = 0xc2
	markerDHT   = 0xc4
	markerDAC   = 0xcc
	markerRST0  = 0xd0
	markerRST7  = 0xd7
	markerSOI   = 0xd8
	markerEOI   = 0xd9
	markerSOS   = 0xda
	markerDQT   = 0xdb
	markerDRI   = 0xdd
	markerAPP0  = 0xe0
	markerAPP1  = 0xe1
	markerAPP14 = 0xee
)

// readJPEGHeader walks the marker segments up to the first scan.
func readJPEGHeader(data []byte) (jpegHeader, error) {
	h := jpegHeader{orientation: 1}
	sawSOF, sawEXIF := false, false
	pos := 2
	for {
		marker, start, payload, next, err := nextJPEGSegment(data, pos)
		if err != nil {
			return h, err
		}
		pos = next
		switch {
		case marker == markerSOS:
			if !sawSOF {
				return h, corruptError(FormatJPEG, fmt.Errorf("scan before frame header"))
			}
			h.scanStart = next
			return h, h.checkScanCount(data)
		case isSOFMarker(marker):
			if sawSOF {
				return h, corruptError(FormatJPEG, fmt.Errorf("two frame headers"))
			}
			sawSOF = true
			h.sofStart = start
			if err := h.readSOF(marker, payload); err != nil {
				return h, err
			}
		case marker == markerDRI && len(payload) >= 2:
			h.restartInterval = be16(payload)
		case marker == markerAPP1 && !sawEXIF && bytes.HasPrefix(payload, exifHeader):
			sawEXIF = true
			h.orientation = exifOrientation(payload)
		case marker == markerAPP0 && bytes.HasPrefix(payload, []byte("JFIF\x00")):
			h.jfif = true
		case marker == markerAPP14 && bytes.HasPrefix(payload, []byte("Adobe")) &&
			len(payload) >= 12:
			h.adobe, h.transform = true, payload[11]
		}
	}
}

// nextJPEGSegment reads the marker at pos and returns it, the offset of its
// 0xff byte, its payload and the offset after it. Standalone markers have no
// payload.
func nextJPEGSegment(data []byte, pos int) (marker byte, start int,
	payload []byte, next int, err error) {
	for pos < len(data) && data[pos] == 0xff && pos+1 < len(data) && data[pos+1] == 0xff {
		pos++
	}
	if pos+2 > len(data) {
		return 0, 0, nil, 0, corruptError(FormatJPEG, fmt.Errorf("no frame header"))
	}
	if data[pos] != 0xff {
		return nextJPEGSegment(data, skipToMarker(data, pos))
	}
	marker, start = data[pos+1], pos
	switch {
	case marker == markerEOI:
		return 0, 0, nil, 0, corruptError(FormatJPEG, fmt.Errorf("end of image before a scan"))
	case marker == markerSOI || marker == 0x01 || (marker >= markerRST0 && marker <= markerRST7):
		return marker, start, nil, pos + 2, nil
	}
	if pos+4 > len(data) {
		return 0, 0, nil, 0, corruptError(FormatJPEG, fmt.Errorf("segment header cut"))
	}
	length := be16(data[pos+2:])
	end := pos + 2 + length
	if length < 2 || end > len(data) {
		return 0, 0, nil, 0, corruptError(FormatJPEG, fmt.Errorf("segment cut"))
	}
	return marker, start, data[pos+4 : end], end, nil
}

// skipToMarker skips stray bytes between segments, as libjpeg and Go's
// decoder do, and returns the offset of the next 0xff (or the data's end).
func skipToMarker(data []byte, pos int) int {
	i := bytes.IndexByte(data[pos:], 0xff)
	if i < 0 {
		return len(data)
	}
	return pos + i
}

// isSOFMarker reports whether marker starts a frame (SOF0..SOF15, except the
// DHT, JPG and DAC markers that share the range).
func isSOFMarker(marker byte) bool {
	return marker >= markerSOF0 && marker <= 0xcf &&
		marker != markerDHT && marker != 0xc8 && marker != markerDAC
}

// readSOF checks the frame type and reads the size and sampling factors.
func (h *jpegHeader) readSOF(marker byte, payload []byte) error {
	if err := checkSOFType(marker); err != nil {
		return err
	}
	if len(payload) < 6 {
		return corruptError(FormatJPEG, fmt.Errorf("short frame header"))
	}
	if payload[0] != 8 {
		return unsupportedFeatureError("JPEG", fmt.Sprintf("%d-bit precision", payload[0]),
			"re-save as a standard 8-bit JPEG")
	}
	h.progressive = marker == markerSOF2
	h.height, h.width = be16(payload[1:]), be16(payload[3:])
	h.components = int(payload[5])
	if h.width == 0 || h.height == 0 {
		return unsupportedFeatureError("JPEG", "no height in the frame header (DNL)",
			"re-save as a standard JPEG")
	}
	if h.components != 1 && h.components != 3 && h.components != 4 {
		return unsupportedFeatureError("JPEG", fmt.Sprintf("%d colour components", h.components),
			"re-save as an RGB or grayscale JPEG")
	}
	if len(payload) < 6+3*h.components {
		return corruptError(FormatJPEG, fmt.Errorf("short frame header"))
	}
	for i := range h.components {
		h.ids[i] = payload[6+3*i]
		sampling := payload[6+3*i+1]
		h.hSamp[i], h.vSamp[i] = int(sampling>>4), int(sampling&0x0f)
	}
	return nil
}

// isRGB reports whether three components are R, G and B rather than YCbCr,
// by the rules Go's decoder uses: a JFIF file is YCbCr; an Adobe segment
// says which with its transform flag; otherwise component ids 'R', 'G', 'B'
// mean RGB.
func (h jpegHeader) isRGB() bool {
	switch {
	case h.jfif:
		return false
	case h.adobe:
		return h.transform == 0
	}
	return h.namedRGB()
}

// namedRGB reports whether the components are named 'R', 'G' and 'B'.
func (h jpegHeader) namedRGB() bool {
	return h.ids[0] == 'R' && h.ids[1] == 'G' && h.ids[2] == 'B'
}

// checkColourModel refuses a file whose markers disagree on its colours
// where Go's decoder would read it: an Adobe segment that says YCbCr with
// components named R, G and B. libjpeg (and so PIL, and DermQ's own
// progressive decoder) follows the Adobe segment, Go's decoder the names,
// and the colours would come out wrong.
func (h jpegHeader) checkColourModel() error {
	if h.components != 3 || h.jfif || !h.adobe || h.transform == 0 || !h.namedRGB() ||
		h.ownProgressive() {
		return nil
	}
	return unsupportedFeatureError("JPEG", "an Adobe marker that says YCbCr while the "+
		"components are named R, G and B", "re-save it as a standard JPEG")
}

// ownSubsampling returns the chroma subsampling, as Go's decoder names it,
// of a 3-component frame DermQ's progressive decoder reads: luma has the
// largest sampling factors (vertically 1 or 2), both chroma components have
// the same, and each of them is 1 or the largest, where every rule for
// which blocks a scan visits agrees.
func (h jpegHeader) ownSubsampling() (image.YCbCrSubsampleRatio, bool) {
	hMax, vMax := max(h.hSamp[0], h.hSamp[1], h.hSamp[2]), max(h.vSamp[0], h.vSamp[1], h.vSamp[2])
	hy, vy, hc, vc := h.hSamp[0], h.vSamp[0], h.hSamp[1], h.vSamp[1]
	if h.components != 3 || hy != hMax || vy != vMax || vy > 2 || hc != h.hSamp[2] ||
		vc != h.vSamp[2] || (hc != 1 && hc != hMax) || (vc != 1 && vc != vMax) {
		return 0, false
	}
	ratios := map[[2]int]image.YCbCrSubsampleRatio{
		{1, 1}: image.YCbCrSubsampleRatio444, {1, 2}: image.YCbCrSubsampleRatio440,
		{2, 1}: image.YCbCrSubsampleRatio422, {2, 2}: image.YCbCrSubsampleRatio420,
		{4, 1}: image.YCbCrSubsampleRatio411, {4, 2}: image.YCbCrSubsampleRatio410,
	}
	ratio, ok := ratios[[2]int{hy / hc, vy / vc}]
	return ratio, ok
}

// ownProgressive reports whether DermQ's progressive decoder reads the
// frame: a progressive YCbCr frame with a sampling it handles.
func (h jpegHeader) ownProgressive() bool {
	_, ok := h.ownSubsampling()
	return h.progressive && ok && !h.isRGB()
}

// checkSOFType refuses the frame types Go's decoder cannot read, naming them.
func checkSOFType(marker byte) error {
	const advice = "re-save as a standard JPEG"
	switch marker {
	case markerSOF0, markerSOF1, markerSOF2:
		return nil
	case 0xc3, 0xc7, 0xcb, 0xcf:
		return unsupportedFeatureError("JPEG", "lossless coding", advice)
	case 0xc9, 0xca, 0xcd, 0xce:
		return unsupportedFeatureError("JPEG", "arithmetic coding", advice)
	}
	return unsupportedFeatureError("JPEG", "hierarchical coding", advice)
}

// maxProgressiveScans bounds the scans of a progressive JPEG. Each scan can
// revisit every block of the image for a few bytes of input, so a small
// file with thousands of scans would hold a worker for minutes; real
// encoders write about ten.
const maxProgressiveScans = 200

// checkScanCount refuses a progressive JPEG with too many scans. Markers
// cannot occur inside entropy-coded data (0xff is stuffed), so every
// 0xff 0xda pair is a scan header.
func (h *jpegHeader) checkScanCount(data []byte) error {
	if !h.progressive {
		return nil
	}
	sos := []byte{0xff, markerSOS}
	if n := bytes.Count(data[h.scanStart:], sos) + 1; n > maxProgressiveScans {
		return unsupportedFeatureError("JPEG", fmt.Sprintf("%d progressive scans", n),
			"re-save as a standard JPEG")
	}
	return nil
}

// samples counts the samples of the image's planes, padded to whole MCUs.
func (h jpegHeader) samples() int64 {
	_, _, across, down := h.mcuSize()
	blocks := int64(0)
	for i := range h.components {
		blocks += int64(across*h.hSamp[i]) * int64(down*h.vSamp[i])
	}
	return blocks * 64
}

// goDecodeBytes estimates the memory Go's image/jpeg takes to decode the
// image: a byte for each sample of its planes and, for a progressive image,
// 4 more for each sample's DCT coefficient, all held until the last scan.
func (h jpegHeader) goDecodeBytes() int64 {
	if h.progressive {
		return 5 * h.samples()
	}
	return h.samples()
}

// decodeBytes estimates the memory decoding the image takes: Go's decoder's
// (goDecodeBytes), or for a progressive frame DermQ's own decoder reads, 2
// bytes for each sample's coefficient and 1 for its planes, all held when
// the image is decoded whole (Predict's scaled decode holds far less).
func (h jpegHeader) decodeBytes() int64 {
	if h.ownProgressive() {
		return 3 * h.samples()
	}
	return h.goDecodeBytes()
}

// checkJPEGFrame has Go's decoder read the frame header as it does when it
// decodes, so that a frame it cannot decode (a chroma subsampling it does
// not support, say) is refused with the header, before an upload is queued.
func checkJPEGFrame(data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = corruptError(FormatJPEG, fmt.Errorf("decoder panic: %v", r))
		}
	}()

	if _, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil {
		return decodeError(FormatJPEG, err)
	}
	return nil
}
