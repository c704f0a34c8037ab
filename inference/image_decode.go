package inference

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"
)

// DecodeImage decodes a JPEG, PNG, GIF (first frame) or WebP image and
// returns it upright (EXIF orientation applied), opaque, 8-bit, with its
// origin at (0, 0): transparency is composited on white. JPEG colour
// matches libjpeg-turbo's, which trained models saw. A YCbCr JPEG stays in
// its planes and any image not stored upright is turned only when read:
// the result is then a view, which Preprocess.Tensor and the display resize
// read a few rows at a time, with the same pixels as converting and turning
// it first. Any other image is an *image.NRGBA.
// The header is checked first, as Inspect does, so an image over maxPixels
// (DefaultMaxPixels when maxPixels <= 0) is refused before its pixels are
// allocated. Every problem with the data is an *InputError; a decoder panic
// is recovered and reported as corrupt data.
func DecodeImage(data []byte, maxPixels int) (image.Image, ImageInfo, error) {
	return decodeImage(data, maxPixels, true)
}

// decodeImage is DecodeImage; withStrips false skips DermQ's strip decoders
// for a JPEG they already failed on.
func decodeImage(data []byte, maxPixels int, withStrips bool) (image.Image, ImageInfo,
	error) {
	h, err := readHeader(data, maxPixels)
	if err != nil {
		return nil, h.info, err
	}

	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	px, err := decodePixels(data, h, decodeBudget(maxPixels), withStrips)
	if err != nil {
		return nil, h.info, err
	}
	return newUpright(px, h.info.Orientation), h.info, nil
}

// decodePixels runs the format's decoder and returns its pixels as stored,
// not yet turned upright: a YCbCr JPEG's planes as they are, any other
// image converted to NRGBA. A progressive JPEG that DermQ's decoder finds
// corrupt goes to Go's decoder only when that fits in budget bytes (Go's
// holds twice and a half as much). A panic becomes an InputError.
func decodePixels(data []byte, h header, budget int64, withStrips bool) (px storedPixels,
	err error) {
	defer func() {
		if r := recover(); r != nil {
			px, err = nil, corruptError(h.info.Format, fmt.Errorf("decoder panic: %v", r))
		}
	}()

	if h.info.Format == FormatJPEG {
		if withStrips {
			if planes, ok := decodeStrips(data, h.jpeg); ok {
				return planes, nil
			}
		}
		if h.jpeg.ownProgressive() && h.jpeg.goDecodeBytes() > budget {
			return nil, corruptError(FormatJPEG, fmt.Errorf("progressive scans do not decode"))
		}
	}
	decoded, err := decodeFormat(data, h)
	if err != nil {
		return nil, decodeError(h.info.Format, err)
	}
	if h.info.Format == FormatWebP {
		return nrgbaPixels{webpToNRGBA(decoded)}, nil
	}
	if ycc, ok := decoded.(*image.YCbCr); ok {
		if planes, ok := planesOf(ycc); ok {
			return planes, nil
		}
	}
	return nrgbaPixels{decodedToNRGBA(decoded)}, nil
}

// decodeStrips decodes a JPEG whole with DermQ's strip decoders, or says
// they do not take it.
func decodeStrips(data []byte, h jpegHeader) (ycbcrPlanes, bool) {
	strips, ok := newJPEGStrips(data, h, image.Point{})
	if !ok {
		return ycbcrPlanes{}, false
	}
	return strips.decodeAll()
}

func decodeFormat(data []byte, h header) (image.Image, error) {
	r := bytes.NewReader(data)
	switch h.info.Format {
	case FormatJPEG:
		return jpeg.Decode(r)
	case FormatPNG:
		return png.Decode(r)
	case FormatGIF:
		return decodeGIF(r, h.info)
	case FormatWebP:
		return webp.Decode(r)
	}
	return nil, unsupportedFormatError(h.info.Format)
}

// decodeGIF decodes the first frame and places it on the logical screen, on
// white, when the frame covers only part of it.
func decodeGIF(r *bytes.Reader, info ImageInfo) (image.Image, error) {
	frame, err := gif.Decode(r)
	if err != nil {
		return nil, err
	}
	screen := image.Rect(0, 0, info.Width, info.Height)
	if frame.Bounds() == screen {
		return frame, nil
	}
	canvas := image.NewNRGBA(screen)
	draw.Draw(canvas, screen, image.White, image.Point{}, draw.Src)
	draw.Draw(canvas, frame.Bounds(), frame, frame.Bounds().Min, draw.Over)
	return canvas, nil
}
