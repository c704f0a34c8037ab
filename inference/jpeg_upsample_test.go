package inference

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestJPEGUpsamplingMatchesLibjpeg has PIL (libjpeg-turbo) encode a photo
// with each chroma subsampling it offers, at even and odd sizes, and
// compares the full-size decode. Only the IDCTs' rounding may differ (Go's
// decoder and libjpeg's are different integer IDCTs); a chroma upsampler
// unlike libjpeg's is 10 or more levels off on colour edges.
func TestJPEGUpsamplingMatchesLibjpeg(t *testing.T) {
	t.Parallel()
	requirePIL(t)
	photo := filepath.Join(imageDataDir(t, "images"), "dermoscopy_isic_0000000_thumbnail_256x192.jpg")
	dir := t.TempDir()
	for _, sub := range []string{"4:4:4", "4:2:2", "4:2:0"} {
		for _, size := range []string{"256, 192", "251, 187"} {
			name := fmt.Sprintf("%s at %s matches libjpeg", sub, size)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(dir, fmt.Sprintf("%s_%s.jpg", sub[2:3]+sub[4:], size[:3]))
				script := "import sys\nfrom PIL import Image\n" +
					"Image.open(sys.argv[1]).crop((0, 0, " + size + ")).save(sys.argv[2], " +
					"quality=90, subsampling='" + sub + "')"
				out, err := exec.Command(pilPython, "-c", script, photo, path).CombinedOutput()
				if err != nil {
					t.Fatalf("encoding with PIL: %v: %s", err, out)
				}
				img, _, err := DecodeImage(readImageFile(t, path), 0)
				if err != nil {
					t.Fatalf("decoding: %v", err)
				}
				want := pilReference(t, path, 0, 0, ResizeBilinear)
				maxDiff, share := compareRGB(want, toNRGBA(img))
				if maxDiff > 4 || share < parityShare {
					t.Fatalf("max difference %d levels, %.3f%% within %d", maxDiff, 100*share,
						parityTolerance)
				}
			})
		}
	}
}
