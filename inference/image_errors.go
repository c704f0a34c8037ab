package inference

import (
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"math"
	"strconv"
	"strings"
)

// Codes of the InputError values the image front end returns.
const (
	// CodeEmptyFile means the upload had no bytes.
	CodeEmptyFile = "empty_file"
	// CodeUnsupportedFormat means the bytes are not in a format DermQ decodes.
	CodeUnsupportedFormat = "unsupported_format"
	// CodeTooManyPixels means the image is larger than the pixel limit.
	CodeTooManyPixels = "too_many_pixels"
	// CodeCorruptImage means the bytes claim a supported format but do not
	// decode.
	CodeCorruptImage = "corrupt_image"
)

// errTruncated is the message for data that ends early or does not parse.
const errTruncated = "the image data is truncated or corrupt"

func emptyFileError() *InputError {
	return &InputError{Code: CodeEmptyFile, Message: "the file is empty"}
}

func unsupportedFormatError(format string) *InputError {
	return &InputError{
		Code:    CodeUnsupportedFormat,
		Message: fmt.Sprintf("unsupported image format %s: convert to JPEG or PNG", format),
	}
}

func unsupportedFeatureError(format, feature, advice string) *InputError {
	return &InputError{
		Code:    CodeUnsupportedFormat,
		Message: fmt.Sprintf("unsupported %s: %s: %s", format, feature, advice),
	}
}

// tooManyPixelsError refuses an image over the pixel limit. Its size in
// megapixels is cut to a tenth, or to a hundredth when that would read as
// the limit itself.
func tooManyPixelsError(width, height, maxPixels int) *InputError {
	megapixels := float64(width) * float64(height) / 1e6
	if cut := math.Floor(megapixels*10) / 10; cut > float64(maxPixels)/1e6 {
		megapixels = cut
	} else {
		megapixels = math.Ceil(megapixels*100) / 100
	}
	return &InputError{
		Code: CodeTooManyPixels,
		Message: fmt.Sprintf("image is %dx%d (%s megapixels), more than the %s megapixel limit",
			width, height, formatMegapixels(megapixels), formatMegapixels(float64(maxPixels)/1e6)),
	}
}

// decodeMemoryError says that an image needs more memory to decode than the
// budget, and what to do about it.
func decodeMemoryError(info ImageInfo, cost decodeCost, budget int64) *InputError {
	return &InputError{
		Code: CodeTooManyPixels,
		Message: fmt.Sprintf("this %s (%dx%d) needs about %.0f MB to decode, "+
			"more than the %.0f MB allowed for one image; %s", cost.what, info.Width,
			info.Height, math.Ceil(float64(cost.bytes)/1e6), float64(budget)/1e6, cost.advice),
	}
}

// formatMegapixels prints large numbers to a hundredth at most, without
// trailing zeros, and small ones with three significant digits, so a
// message reads "2500 megapixels", "50.4 megapixels" or "1.5 megapixels".
func formatMegapixels(mp float64) string {
	if mp >= 10 {
		return strconv.FormatFloat(math.Round(mp*100)/100, 'f', -1, 64)
	}
	return strconv.FormatFloat(mp, 'g', 3, 64)
}

func corruptError(format string, err error) *InputError {
	msg := errTruncated
	if format != "" {
		msg = fmt.Sprintf("the %s image data is truncated or corrupt", strings.ToUpper(format))
	}
	return &InputError{Code: CodeCorruptImage, Message: msg, Err: err}
}

// decodeError turns an error from a standard decoder into an InputError.
func decodeError(format string, err error) *InputError {
	var inputErr *InputError
	if errors.As(err, &inputErr) {
		return inputErr
	}
	if feature, ok := unsupportedFeature(err); ok {
		name := strings.ToUpper(format)
		e := unsupportedFeatureError(name, feature, "re-save as a standard "+name)
		e.Err = err
		return e
	}
	return corruptError(format, err)
}

// unsupportedFeature names the feature a decoder said it does not support.
func unsupportedFeature(err error) (string, bool) {
	var jpegErr jpeg.UnsupportedError
	if errors.As(err, &jpegErr) {
		return string(jpegErr), true
	}
	var pngErr png.UnsupportedError
	if errors.As(err, &pngErr) {
		return string(pngErr), true
	}
	return "", false
}
