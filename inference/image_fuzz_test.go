package inference

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// fuzzMaxPixels keeps fuzzed images small so each run stays fast.
const fuzzMaxPixels = 1 << 20

// FuzzDecodeImage feeds DecodeImage arbitrary bytes: it must return an image
// whose size matches Inspect's, or an *InputError with a message; never
// panic. decodeInputs, which Predict calls, must agree with it.
func FuzzDecodeImage(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
		f.Add(seed[:len(seed)/2])
		f.Add(seed[:min(len(seed), 40)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, info, err := DecodeImage(data, fuzzMaxPixels)
		checkFuzzedInputs(t, data, info, err)
		if err != nil {
			var inputErr *InputError
			if !errors.As(err, &inputErr) || inputErr.Message == "" || inputErr.Code == "" {
				t.Fatalf("error %v (%T), want an *InputError with a code and message", err, err)
			}
			return
		}
		b := img.Bounds()
		if b.Dx() != info.Width || b.Dy() != info.Height {
			t.Fatalf("image %v, info %dx%d", b, info.Width, info.Height)
		}
		inspected, err := Inspect(data, fuzzMaxPixels)
		if err != nil || inspected != info {
			t.Fatalf("Inspect gives %+v, %v; DecodeImage gave %+v", inspected, err, info)
		}
	})
}

// checkFuzzedInputs expects decodeInputs to fail where DecodeImage failed
// and otherwise to make a whole tensor and a display copy of the right size:
// with the default input size, and with one so small that a progressive
// JPEG of 48 pixels or more a side is decoded scaled down.
func checkFuzzedInputs(t *testing.T, data []byte, info ImageInfo, decodeErr error) {
	for _, c := range []struct {
		prep Preprocess
		side int
	}{{Preprocess{}, 64}, {Preprocess{Width: 16, Height: 16}, 8}} {
		tensor, photo, _, err := decodeInputs(data, c.prep, fuzzMaxPixels, c.side)
		if (err == nil) != (decodeErr == nil) {
			t.Fatalf("decodeInputs gives error %v, DecodeImage %v", err, decodeErr)
		}
		if err != nil {
			return
		}
		p := c.prep.withDefaults()
		want := displaySize(image.Pt(info.Width, info.Height), c.side)
		if len(tensor) != 3*p.Width*p.Height || photo.Rect.Size() != want {
			t.Fatalf("tensor of %d values, display copy %v, want %v", len(tensor),
				photo.Rect, want)
		}
	}
}

// fuzzSeeds makes small images in every supported format, with and without
// EXIF, and takes the WebP samples from the shared test data.
func fuzzSeeds(f *testing.F) [][]byte {
	small := image.NewNRGBA(image.Rect(0, 0, 19, 13))
	for i := range small.Pix {
		small.Pix[i] = byte(i * 7)
	}
	var jpg, pngData, gifData bytes.Buffer
	if err := jpeg.Encode(&jpg, small, nil); err != nil {
		f.Fatalf("encoding JPEG: %v", err)
	}
	if err := png.Encode(&pngData, small); err != nil {
		f.Fatalf("encoding PNG: %v", err)
	}
	pal := image.NewPaletted(small.Rect, color.Palette{color.White, color.Black})
	if err := gif.Encode(&gifData, pal, nil); err != nil {
		f.Fatalf("encoding GIF: %v", err)
	}
	seeds := [][]byte{jpg.Bytes(), pngData.Bytes(), gifData.Bytes(),
		spliceEXIF(jpg.Bytes(), exifWithOrientation(binary.BigEndian, 6))}
	seeds = append(seeds, progressiveSeeds(f)...)
	seeds = append(seeds, readImageFile(f, filepath.Join(imageDataDir(f, "images"),
		"clinical_common_mole_baseline_428x285.jpg")))
	for _, name := range []string{"webp_lossy_with_alpha_vp8x.webp",
		"png_palette_with_trns_64x64.png", "jpeg_grayscale_1component_300x200.jpg"} {
		seeds = append(seeds, readImageFile(f, filepath.Join(imageDataDir(f, "awkward"), name)))
	}
	return seeds
}

// progressiveSeeds rewrites a 64x48 JPEG as progressive JPEGs, plain, with
// restart markers and with every kind of scan (scanScript), when jpegtran
// is there (CI installs it).
func progressiveSeeds(f *testing.F) [][]byte {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = byte(i*i/5 + i/64)
	}
	var base bytes.Buffer
	if err := jpeg.Encode(&base, img, &jpeg.Options{Quality: 90}); err != nil {
		f.Fatalf("encoding JPEG: %v", err)
	}
	script := filepath.Join(f.TempDir(), "scans.txt")
	if err := os.WriteFile(script, []byte(scanScript), 0o600); err != nil {
		f.Fatalf("writing the scan script: %v", err)
	}
	var seeds [][]byte
	for _, args := range [][]string{{"-progressive"}, {"-progressive", "-restart", "2B"},
		{"-scans", script}} {
		cmd := exec.Command("jpegtran", args...)
		cmd.Stdin = bytes.NewReader(base.Bytes())
		if out, err := cmd.Output(); err == nil {
			seeds = append(seeds, out)
		}
	}
	return seeds
}
