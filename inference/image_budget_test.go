package inference

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// budgetCase is an encoded image and whether it fits the decode budget of
// a pixel limit equal to its size: those that cost little must, the costly
// ones must not, and those near the budget (fits "") may either way.
type budgetCase struct {
	name string
	data []byte
	fits string
	// words are in the refusal's message.
	words string
}

// budgetCases encodes a 300x200 pattern in the formats and depths whose
// decoding costs differ, and takes progressive and WebP files from
// jpegtran, PIL and the shared data when they are there.
func budgetCases(t *testing.T) []budgetCase {
	t.Helper()
	r := image.Rect(0, 0, 300, 200)
	rgba, rgba16, gray := image.NewNRGBA(r), image.NewNRGBA64(r), image.NewGray(r)
	gray16, pal := image.NewGray16(r), image.NewPaletted(r, color.Palette{color.White,
		color.Black, color.NRGBA{200, 30, 40, 255}})
	for y := range 200 {
		for x := range 300 {
			v := uint8(x*7 + y*3)
			rgba.SetNRGBA(x, y, color.NRGBA{v, uint8(x ^ y), uint8(y), uint8(x)})
			rgba16.SetNRGBA64(x, y, color.NRGBA64{uint16(v) * 257, 9, 700, 0xffff})
			gray.SetGray(x, y, color.Gray{v})
			gray16.SetGray16(x, y, color.Gray16{uint16(v) * 300})
			pal.SetColorIndex(x, y, uint8((x+y)%3))
		}
	}
	encode := func(img image.Image, enc func(*bytes.Buffer, image.Image) error) []byte {
		var buf bytes.Buffer
		if err := enc(&buf, img); err != nil {
			t.Fatalf("encoding: %v", err)
		}
		return buf.Bytes()
	}
	pngEnc := func(b *bytes.Buffer, img image.Image) error { return png.Encode(b, img) }
	jpegEnc := func(b *bytes.Buffer, img image.Image) error { return jpeg.Encode(b, img, nil) }
	gifEnc := func(b *bytes.Buffer, img image.Image) error { return gif.Encode(b, img, nil) }

	cases := []budgetCase{
		{"8-bit RGBA PNG", encode(rgba, pngEnc), "yes", ""},
		{"grey PNG", encode(gray, pngEnc), "", "PNG"},
		{"palette PNG", encode(pal, pngEnc), "", "PNG"},
		{"GIF", encode(pal, gifEnc), "", "GIF"},
		{"baseline JPEG", encode(rgba, jpegEnc), "yes", ""},
		{"grey JPEG", encode(gray, jpegEnc), "", "JPEG"},
		{"16-bit RGBA PNG", encode(rgba16, pngEnc), "no", "8 bits a channel"},
		{"16-bit grey PNG", encode(gray16, pngEnc), "no", "16-bit PNG"},
	}
	photo := filepath.Join(imageDataDir(t, "images"), "dermoscopy_isic_0000000_1022x767.jpg")
	if out, err := exec.Command("jpegtran", "-progressive", photo).Output(); err == nil {
		cases = append(cases, budgetCase{"progressive JPEG", out, "yes", ""})
	}
	grey := exec.Command("jpegtran", "-progressive", "-grayscale", photo)
	if out, err := grey.Output(); err == nil {
		cases = append(cases, budgetCase{"progressive grey JPEG", out, "no",
			"baseline (non-progressive) JPEG"})
	}
	grey8, grey16 := encode(gray, pngEnc), encode(gray16, pngEnc)
	cases = append(cases,
		budgetCase{"grey PNG with a transparent value", withPNGChunk(t, grey8, "tRNS",
			[]byte{0, 7}), "yes", ""},
		budgetCase{"16-bit grey PNG with a transparent value", withPNGChunk(t, grey16,
			"tRNS", []byte{0, 7}), "no", "16-bit PNG"})
	if out, err := exec.Command("sh", "-c", "djpeg -ppm \"$0\" | cjpeg -rgb",
		photo).Output(); err == nil {
		cases = append(cases, budgetCase{"RGB-coded JPEG", out, "no", "standard (YCbCr)"})
	}
	cases = append(cases, budgetCase{"WebP with alpha", readImageFile(t, filepath.Join(
		imageDataDir(t, "awkward"), "webp_lossy_with_alpha_vp8x.webp")), "no", "as a JPEG"})
	return append(cases, pilCases(t, photo)...)
}

// pilCases has PIL save a photo as lossy and lossless WebP and as CMYK
// JPEGs, baseline and progressive.
func pilCases(t *testing.T, photo string) []budgetCase {
	t.Helper()
	requirePIL(t)
	var cases []budgetCase
	for _, c := range []struct {
		save string
		want budgetCase
	}{
		{"save(out, 'WEBP', quality=80)", budgetCase{name: "lossy WebP", words: "WebP"}},
		{"save(out, 'WEBP', lossless=True)", budgetCase{name: "lossless WebP", fits: "no",
			words: "lossless WebP"}},
		{"convert('CMYK').save(out, 'JPEG')", budgetCase{name: "CMYK JPEG", fits: "no",
			words: "RGB colours"}},
		{"convert('CMYK').save(out, 'JPEG', progressive=True)", budgetCase{
			name: "progressive CMYK JPEG", fits: "no", words: "RGB colours"}},
	} {
		out := filepath.Join(t.TempDir(), "p")
		script := fmt.Sprintf("import sys, PIL.Image\n"+
			"out = sys.argv[2]\nPIL.Image.open(sys.argv[1]).%s", c.save)
		msg, err := exec.Command(pilPython, "-c", script, photo, out).CombinedOutput()
		if err != nil {
			t.Fatalf("making a %s: %v: %s", c.want.name, err, msg)
		}
		c.want.data = readImageFile(t, out)
		cases = append(cases, c.want)
	}
	return cases
}

// TestImagesAreRefusedPastTheDecodeBudget gives each image a pixel limit
// equal to its size: those whose estimate passes decodeBudgetPerPixel bytes
// a pixel are refused from the header with a message that says what to do,
// the others decode. 8-bit PNGs and baseline and progressive JPEG photos
// fit; 16-bit PNGs, lossless WebP, WebP with alpha and progressive JPEGs
// left to Go's decoder do not.
func TestImagesAreRefusedPastTheDecodeBudget(t *testing.T) {
	t.Parallel()
	for _, c := range budgetCases(t) {
		h, err := readHeader(c.data, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		limit := h.info.Width * h.info.Height
		fits := estimateDecode(h, c.data).bytes <= decodeBudget(limit)
		if c.fits != "" && fits != (c.fits == "yes") {
			t.Errorf("%s: fits the budget %v, want %s", c.name, fits, c.fits)
		}
		_, err = Inspect(c.data, limit)
		if fits {
			if err != nil {
				t.Errorf("%s refused at its own size: %v", c.name, err)
			}
			continue
		}
		checkInputError(t, err, CodeTooManyPixels, c.words)
		if _, _, err := DecodeImage(c.data, limit); err == nil {
			t.Errorf("%s: DecodeImage decoded what Inspect refused", c.name)
		}
	}
}

// TestDecodeEstimatesCoverTheDecoders decodes each image and compares the
// bytes the decode allocated, garbage included, with the estimate: the
// estimate must cover them and not be more than three times as much.
func TestDecodeEstimatesCoverTheDecoders(t *testing.T) {
	for _, c := range budgetCases(t) {
		h, err := readHeader(c.data, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		estimate := estimateDecode(h, c.data).bytes

		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		img, _, err := DecodeImage(c.data, 0)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		runtime.KeepAlive(img)
		alloc := int64(after.TotalAlloc - before.TotalAlloc)
		t.Logf("%s: allocated %d, estimate %d (%.2f)", c.name, alloc, estimate,
			float64(estimate)/float64(alloc))
		if alloc > estimate || estimate > 3*alloc {
			t.Errorf("%s: decoding allocated %d bytes, estimate %d", c.name, alloc, estimate)
		}
	}
}

// withPNGChunk inserts a chunk right after a PNG's IHDR chunk.
func withPNGChunk(t *testing.T, data []byte, name string, body []byte) []byte {
	t.Helper()
	const afterIHDR = 8 + 12 + 13
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	chunk = append(append(chunk, name...), body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte{}, data[:afterIHDR]...)
	return append(append(out, chunk...), data[afterIHDR:]...)
}
