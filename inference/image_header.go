package inference

import (
	"errors"
	"fmt"
)

// pngHeader reads the size from the IHDR chunk and the orientation from an
// eXIf chunk, wherever it is.
func pngHeader(data []byte) (ImageInfo, error) {
	info := ImageInfo{Format: FormatPNG, Orientation: 1}
	const sigLen = 8
	if len(data) < sigLen+8+13 || string(data[sigLen+4:sigLen+8]) != "IHDR" {
		return info, corruptError(FormatPNG, errors.New("no IHDR chunk"))
	}
	info.Width = int(be32(data[sigLen+8:]))
	info.Height = int(be32(data[sigLen+12:]))
	if info.Width <= 0 || info.Height <= 0 || info.Width > 1<<30 || info.Height > 1<<30 {
		return info, corruptError(FormatPNG, errors.New("bad size"))
	}

	eachPNGChunk(data, func(name string, body []byte) bool {
		if name == "eXIf" {
			info.Orientation = exifOrientation(body)
			return false
		}
		return true
	})
	return info, nil
}

// eachPNGChunk calls fn with the type and body of each whole chunk after the
// signature, in order, until fn returns false or a chunk is cut.
func eachPNGChunk(data []byte, fn func(name string, body []byte) bool) {
	for pos := 8; pos+8 <= len(data); {
		end := int64(pos) + 12 + int64(be32(data[pos:]))
		if end > int64(len(data)) || !fn(string(data[pos+4:pos+8]), data[pos+8:end-4]) {
			return
		}
		pos = int(end)
	}
}

// gifHeader reads the logical screen size and checks that the first frame
// fits on it.
func gifHeader(data []byte) (ImageInfo, error) {
	info := ImageInfo{Format: FormatGIF, Orientation: 1}
	if len(data) < 13 {
		return info, corruptError(FormatGIF, errors.New("short header"))
	}
	info.Width, info.Height = le16(data[6:]), le16(data[8:])
	if info.Width == 0 || info.Height == 0 {
		return info, corruptError(FormatGIF, errors.New("zero size"))
	}
	return info, checkGIFFirstFrame(data, info.Width, info.Height)
}

// webpFrame is what the decoder's memory depends on: a lossless frame, or a
// lossy one with an alpha channel.
type webpFrame struct{ lossless, alpha bool }

// webpHeader walks the RIFF chunks: the frame chunk (VP8 or VP8L) gives the
// size the decoder will allocate and its kind, VP8X the canvas and whether
// there is alpha, EXIF the orientation. Animation is refused here, before
// any decoding.
func webpHeader(data []byte) (ImageInfo, webpFrame, error) {
	info, frame := ImageInfo{Format: FormatWebP, Orientation: 1}, webpFrame{}
	canvasW, canvasH := 0, 0
	for pos := 12; pos+8 <= len(data); {
		fourCC, size := string(data[pos:pos+4]), int64(le32(data[pos+4:]))
		end := int64(pos) + 8 + size
		if end > int64(len(data)) {
			return info, frame, corruptError(FormatWebP, fmt.Errorf("chunk %q cut", fourCC))
		}
		body := data[pos+8 : end]
		switch fourCC {
		case "VP8X":
			if len(body) < 10 {
				return info, frame, corruptError(FormatWebP, errors.New("short VP8X chunk"))
			}
			if body[0]&0x02 != 0 {
				return info, frame, unsupportedFeatureError("WebP", "animated WebP",
					"upload a still image (JPEG or PNG)")
			}
			canvasW, canvasH = le24(body[4:])+1, le24(body[7:])+1
			frame.alpha = frame.alpha || body[0]&0x10 != 0
		case "ALPH":
			frame.alpha = true
		case "ANIM", "ANMF":
			return info, frame, unsupportedFeatureError("WebP", "animated WebP",
				"upload a still image (JPEG or PNG)")
		case "EXIF":
			info.Orientation = exifOrientation(body)
		case "VP8 ", "VP8L":
			w, h, err := webpFrameSize(fourCC, body)
			if err != nil {
				return info, frame, err
			}
			info.Width, info.Height = w, h
			frame.lossless = fourCC == "VP8L"
		}
		pos = int(end + end&1)
	}
	info, err := checkWebPSize(info, canvasW, canvasH)
	return info, frame, err
}

// checkWebPSize requires a frame and, when a VP8X canvas is declared, that
// it matches the frame, since the decoder allocates by the frame's size.
func checkWebPSize(info ImageInfo, canvasW, canvasH int) (ImageInfo, error) {
	if info.Width == 0 || info.Height == 0 {
		return info, corruptError(FormatWebP, errors.New("no image frame"))
	}
	if canvasW != 0 && (canvasW != info.Width || canvasH != info.Height) {
		return info, corruptError(FormatWebP, fmt.Errorf("canvas %dx%d but frame %dx%d",
			canvasW, canvasH, info.Width, info.Height))
	}
	return info, nil
}

// webpFrameSize reads the size from a VP8 (lossy) or VP8L (lossless) frame.
func webpFrameSize(fourCC string, body []byte) (int, int, error) {
	if fourCC == "VP8L" {
		if len(body) < 5 || body[0] != 0x2f {
			return 0, 0, corruptError(FormatWebP, errors.New("bad VP8L header"))
		}
		bits := le32(body[1:])
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
	}
	if len(body) < 10 || string(body[3:6]) != "\x9d\x01\x2a" {
		return 0, 0, corruptError(FormatWebP, errors.New("bad VP8 header"))
	}
	return le16(body[6:]) & 0x3fff, le16(body[8:]) & 0x3fff, nil
}
