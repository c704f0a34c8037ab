package inference

import (
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"testing"
)

func TestDecodeErrorExplainsDecoderErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		format  string
		err     error
		code    string
		message string
	}{
		{"an unsupported JPEG feature is named", FormatJPEG,
			jpeg.UnsupportedError("luma/chroma subsampling ratio"), CodeUnsupportedFormat,
			"unsupported JPEG: luma/chroma subsampling ratio: re-save as a standard JPEG"},
		{"an unsupported PNG feature is named", FormatPNG,
			fmt.Errorf("reading: %w", png.UnsupportedError("compression method")),
			CodeUnsupportedFormat,
			"unsupported PNG: compression method: re-save as a standard PNG"},
		{"data that ends early is truncated", FormatJPEG, io.ErrUnexpectedEOF,
			CodeCorruptImage, "the JPEG image data is truncated or corrupt"},
		{"a format error is corrupt", FormatGIF,
			errors.New("gif: frame bounds larger than image bounds"), CodeCorruptImage,
			"the GIF image data is truncated or corrupt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := decodeError(tc.format, tc.err)
			if got.Code != tc.code || got.Message != tc.message {
				t.Fatalf("got %q %q, want %q %q", got.Code, got.Message, tc.code, tc.message)
			}
			if !errors.Is(got, tc.err) {
				t.Fatalf("the InputError does not wrap the decoder's error")
			}
		})
	}
}

func TestTooManyPixelsMessage(t *testing.T) {
	t.Parallel()
	got := tooManyPixelsError(50000, 50000, DefaultMaxPixels).Message
	want := "image is 50000x50000 (2500 megapixels), more than the 50 megapixel limit"
	if got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	got = tooManyPixelsError(1500, 1000, 1_200_000).Message
	want = "image is 1500x1000 (1.5 megapixels), more than the 1.2 megapixel limit"
	if got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	got = tooManyPixelsError(7100, 7100, DefaultMaxPixels).Message
	want = "image is 7100x7100 (50.4 megapixels), more than the 50 megapixel limit"
	if got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	got = tooManyPixelsError(7072, 7071, DefaultMaxPixels).Message
	want = "image is 7072x7071 (50.01 megapixels), more than the 50 megapixel limit"
	if got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}
