package inference

import (
	"errors"
	"strings"
	"testing"
)

func TestSniffFormat(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		data   string
		format string
		words  string
	}{
		{"a JPEG is recognised", "\xff\xd8\xff\xe0rest", FormatJPEG, ""},
		{"a PNG is recognised", "\x89PNG\r\n\x1a\nrest", FormatPNG, ""},
		{"a GIF89a is recognised", "GIF89a rest", FormatGIF, ""},
		{"a WebP is recognised", "RIFF\x00\x00\x00\x00WEBPVP8 ", FormatWebP, ""},
		{"an empty file is refused", "", "", "empty"},
		{"a HEIC photo is named", "\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "", "HEIC"},
		{"a mif1 HEIF is called HEIC", "\x00\x00\x00\x10ftypmif1\x00\x00\x00\x00", "", "HEIC"},
		{"an AVIF is named", "\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "", "AVIF"},
		{"an AVIF behind mif1 is named", "\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00avif", "", "AVIF"},
		{"a video is named", "\x00\x00\x00\x14ftypisom\x00\x00\x00\x00isom", "", "video"},
		{"a BMP is named", "BM\x36\x00\x00\x00", "", "BMP"},
		{"a big-endian TIFF is named", "MM\x00*\x00\x00\x00\x08", "", "TIFF"},
		{"a DICOM file is named", strings.Repeat("\x00", 128) + "DICM", "", "DICOM"},
		{"a PDF is named", "%PDF-1.7\n", "", "PDF"},
		{"plain text is called text", "hello, this is a note\n", "", "text"},
		{"random bytes are not an image", "\x01\x02\x03\x00\x05", "", "not an image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			format, err := sniffFormat([]byte(tc.data))
			if tc.words == "" {
				if err != nil || format != tc.format {
					t.Fatalf("got %q, %v; want %q", format, err, tc.format)
				}
				return
			}
			var inputErr *InputError
			if !errors.As(err, &inputErr) || !strings.Contains(inputErr.Message, tc.words) {
				t.Fatalf("got %q, %v; want an InputError mentioning %q", format, err, tc.words)
			}
		})
	}
}
