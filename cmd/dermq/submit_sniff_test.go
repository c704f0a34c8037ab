package main

import (
	"path/filepath"
	"testing"
)

func TestSniffImage(t *testing.T) {
	t.Parallel()

	data := filepath.Join(repoRoot(t), "..", "shared", "data")
	cases := []struct {
		name, file, want string
	}{
		{"a JPEG photo is a JPEG", "images/dermoscopy_isic_0000000_1022x767.jpg", "jpeg"},
		{"an upper-case extension changes nothing",
			"images/dermoscopy_isic_0016082_2304x1536_uppercase_ext.JPG", "jpeg"},
		{"PNG bytes named .jpg are a PNG", "awkward/png_bytes_with_jpg_extension.jpg", "png"},
		{"a zero-byte .jpg is not an image", "awkward/empty_zero_bytes.jpg", ""},
		{"a GIF is a GIF", "awkward/gif_animated_245x245.gif", "gif"},
		{"a WebP is a WebP", "awkward/webp_lossy_with_alpha_vp8x.webp", "webp"},
		{"a TIFF is a TIFF", "awkward/tiff_16bit_gray_64x64.tif", "tiff"},
		{"a BMP is a BMP", "awkward/bmp_4bpp_palette.bmp", "bmp"},
		{"a HEIC is a HEIF", "awkward/heic_iphone7plus_exif6_4032x3024.heic", "heif"},
		{"an AVIF is an AVIF", "awkward/avif_declares_17000x17000.avif", "avif"},
		{"an MPO is a JPEG", "awkward/mpo_multipicture_stereo_640x480.mpo", "jpeg"},
		{"the data manifest is not an image", "MANIFEST.md", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			head, err := readHead(filepath.Join(data, tc.file))
			if err != nil {
				t.Fatalf("reading %s: %v", tc.file, err)
			}
			if got := sniffImage(head); got != tc.want {
				t.Fatalf("sniffImage(%s) = %q, want %q", tc.file, got, tc.want)
			}
		})
	}

	t.Run("a text file starting with BM is not a BMP", func(t *testing.T) {
		t.Parallel()

		if got := sniffImage([]byte("BMW owners' club newsletter, spring issue")); got != "" {
			t.Fatalf("sniffImage(text) = %q, want none", got)
		}
	})
}
