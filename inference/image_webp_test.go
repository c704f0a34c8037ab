package inference

import (
	"image"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestWebPMatchesLibwebp has PIL (libwebp) encode a photo as lossy and
// lossless WebP, then expects DecodeImage to give libwebp's pixels exactly.
func TestWebPMatchesLibwebp(t *testing.T) {
	t.Parallel()
	requirePIL(t)
	photo := filepath.Join(imageDataDir(t, "images"), "dermoscopy_isic_0000000_thumbnail_256x192.jpg")
	dir := t.TempDir()
	cases := []struct{ name, file, size, options string }{
		{"lossy WebP equals libwebp", "lossy.webp", "256, 192", "quality=80"},
		{"lossy WebP of odd size equals libwebp", "odd.webp", "251, 187", "quality=80"},
		{"lossless WebP equals libwebp", "lossless.webp", "256, 192", "lossless=True"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, tc.file)
			script := "import sys\nfrom PIL import Image\n" +
				"Image.open(sys.argv[1]).crop((0, 0, " + tc.size + ")).save(sys.argv[2], 'WEBP', " +
				tc.options + ")"
			out, err := exec.Command(pilPython, "-c", script, photo, path).CombinedOutput()
			if err != nil {
				t.Fatalf("encoding WebP with PIL: %v: %s", err, out)
			}
			img, info, err := DecodeImage(readImageFile(t, path), 0)
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if info.Format != FormatWebP {
				t.Fatalf("format %q, want webp", info.Format)
			}
			want := pilReference(t, path, 0, 0, ResizeBilinear)
			if maxDiff, _ := compareRGB(want, img.(*image.NRGBA)); maxDiff != 0 {
				t.Fatalf("differs from libwebp by up to %d levels", maxDiff)
			}
		})
	}
}
