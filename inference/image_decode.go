package inference

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"

	"golang.org/x/image/webp"
)

// DecodeImage decodes a JPEG, PNG, GIF (first frame) or WebP image and
// returns it upright (EXIF orientation applied), opaque, 8-bit, with its
// origin at (0, 0): transparency is composited on white. JPEG colour
// matches libjpeg-turbo's, which trained models saw. An image stored
// upright is an *image.NRGBA; any other is a view that reads the stored
// pixels upright, so that Preprocess.Tensor and the display resize shrink
// it before turning it, with the same pixels as turning it first.
// The header is checked first, as Inspect does, so an image over maxPixels
// (DefaultMaxPixels when maxPixels <= 0) is refused before its pixels are
// allocated. Every problem with the data is an *InputError; a decoder panic
// is recovered and reported as corrupt data.
//
// Known shortcoming: the whole photo is held decoded (48 MB for 12 MP) while
// the tensor and the display copy are made, which sets a worker's peak.
func DecodeImage(data []byte, maxPixels int) (image.Image, ImageInfo, error) {
	h, err := readHeader(data, maxPixels)
	if err != nil {
		return nil, h.info, err
	}

	img, err := decodePixels(data, h)
	if err != nil {
		return nil, h.info, err
	}
	return newUpright(img, h.info.Orientation), h.info, nil
}

// decodePixels runs the format's decoder and converts its result to NRGBA
// as stored, not yet turned upright, turning a panic into an InputError.
func decodePixels(data []byte, h header) (img *image.NRGBA, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, corruptError(h.info.Format, fmt.Errorf("decoder panic: %v", r))
		}
	}()

	if h.info.Format == FormatJPEG {
		if planes, ok := decodeJPEGStrips(data, h.jpeg, runtime.GOMAXPROCS(0)); ok {
			return planes.toRGBA(), nil
		}
	}
	decoded, err := decodeFormat(data, h)
	if err != nil {
		return nil, decodeError(h.info.Format, err)
	}
	if h.info.Format == FormatWebP {
		return webpToNRGBA(decoded), nil
	}
	return decodedToNRGBA(decoded), nil
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
