package inference

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestEXIFOrientationInEveryFormat has PIL write a photo with an EXIF
// orientation as JPEG (APP1), PNG (eXIf) and lossless WebP (EXIF chunk),
// then expects DecodeImage to turn it upright as PIL's exif_transpose does.
func TestEXIFOrientationInEveryFormat(t *testing.T) {
	t.Parallel()
	requirePIL(t)
	photo := filepath.Join(imageDataDir(t, "images"), "dermoscopy_isic_0000000_thumbnail_256x192.jpg")
	dir := t.TempDir()
	cases := []struct {
		format, ext, options string
		tolerance            int
	}{
		{FormatJPEG, "jpg", "quality=95", 4},
		{FormatPNG, "png", "", 0},
		{FormatWebP, "webp", "lossless=True", 0},
	}
	for _, tc := range cases {
		for _, orientation := range []int{5, 6} {
			name := fmt.Sprintf("%s with orientation %d is turned as PIL turns it",
				tc.format, orientation)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(dir, fmt.Sprintf("o%d.%s", orientation, tc.ext))
				script := fmt.Sprintf("import sys\nfrom PIL import Image\n"+
					"im = Image.open(sys.argv[1])\ne = Image.Exif()\ne[0x0112] = %d\n"+
					"im.save(sys.argv[2], exif=e.tobytes(), %s)", orientation, tc.options)
				out, err := exec.Command(pilPython, "-c", script, photo, path).CombinedOutput()
				if err != nil {
					t.Fatalf("writing with PIL: %v: %s", err, out)
				}
				data := readImageFile(t, path)
				info, err := Inspect(data, 0)
				if err != nil || info.Orientation != orientation || info.Width != 192 ||
					info.Height != 256 || info.Format != tc.format {
					t.Fatalf("Inspect gives %+v, %v; want %s, orientation %d, 192x256",
						info, err, tc.format, orientation)
				}
				img, _, err := DecodeImage(data, 0)
				if err != nil {
					t.Fatalf("decoding: %v", err)
				}
				want := pilReference(t, path, 0, 0, ResizeBilinear)
				if maxDiff, _ := compareRGB(want, toNRGBA(img)); maxDiff > tc.tolerance {
					t.Fatalf("differs from PIL by up to %d levels", maxDiff)
				}
			})
		}
	}
}
