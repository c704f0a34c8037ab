package inference

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnzigzagIsTheZigzagOrder(t *testing.T) {
	t.Parallel()
	want := []int{0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5}
	for k, pos := range want {
		if unzigzag[k] != pos {
			t.Fatalf("unzigzag[%d] = %d, want %d", k, unzigzag[k], pos)
		}
	}
	seen := map[int]bool{}
	for _, pos := range unzigzag {
		seen[pos] = true
	}
	if len(seen) != 64 || unzigzag[63] != 63 {
		t.Fatalf("unzigzag is not a permutation ending at 63: %v", unzigzag)
	}
}

// TestIDCTCornerMatchesTheDefinition compares the fast transforms with the
// inverse DCT's formula (T.81 A.3.3) in float64 on random blocks, dense and
// sparse, at full size and scaled down by 2, 4 and 8.
func TestIDCTCornerMatchesTheDefinition(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{8, 4, 2, 1} {
		quant := make([]float32, n*n)
		for i := range quant {
			quant[i] = float32(1 + rng.IntN(4))
		}
		for trial := range 1000 {
			coef := make([]int16, n*n)
			for i := range coef {
				if trial%2 == 0 || rng.IntN(8) == 0 {
					coef[i] = int16(rng.IntN(161) - 80)
				}
			}
			coef[0] = int16(rng.IntN(512) - 256)
			got := make([]byte, n*n)
			idctCorner(coef, quant, n, got, n)

			want := idctByDefinition(coef, quant, n)
			for i := range got {
				if d := math.Abs(float64(got[i]) - want[i]); d > 0.51 {
					t.Fatalf("n %d trial %d sample %d: %d, want %.3f", n, trial, i, got[i],
						want[i])
				}
			}
		}
	}
}

// idctByDefinition is the inverse DCT of an n*n corner of coefficients (row
// by row) on the 8x8 block, averaged over n*n equal cells, with level shift
// and clamping, unrounded.
func idctByDefinition(coef []int16, quant []float32, n int) []float64 {
	scale := func(u int) float64 {
		if u == 0 {
			return 1 / math.Sqrt2
		}
		return 1
	}
	var full [64]float64
	for y := range 8 {
		for x := range 8 {
			for v := range n {
				for u := range n {
					f := float64(coef[v*n+u]) * float64(quant[v*n+u])
					full[y*8+x] += scale(u) * scale(v) * f / 4 *
						math.Cos(float64((2*x+1)*u)*math.Pi/16) *
						math.Cos(float64((2*y+1)*v)*math.Pi/16)
				}
			}
		}
	}
	cell := 8 / n
	out := make([]float64, n*n)
	for i := range full {
		y, x := i/8/cell, i%8/cell
		out[y*n+x] += full[i] / float64(cell*cell)
	}
	for i := range out {
		out[i] = min(max(out[i]+128, 0), 255)
	}
	return out
}

// requireJPEGTools skips the test when libjpeg-turbo's jpegtran and djpeg
// are missing, or fails it in CI, which installs them.
func requireJPEGTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"jpegtran", "djpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is needed (Debian package libjpeg-turbo-progs): %v", tool, err)
			}
			t.Skipf("%s is missing; install libjpeg-turbo-progs to run this test", tool)
		}
	}
}

// scanScript is a jpegtran scan script that has every kind of progressive
// scan: DC alone and interleaved, first passes and refinements of DC and of
// AC bands.
const scanScript = `0: 0-0, 0, 1;
1 2: 0-0, 0, 0;
0: 1-5, 0, 2;
2: 1-63, 0, 0;
1: 1-63, 0, 1;
0: 6-63, 0, 2;
0: 1-63, 2, 1;
1: 1-63, 1, 0;
0: 0-0, 1, 0;
0: 1-63, 1, 0;
`

// progressiveVariants rewrites a baseline or progressive JPEG losslessly
// as progressive JPEGs with jpegtran: libjpeg's default scans, restart
// markers every MCU row and every 5 MCUs, and scanScript.
func progressiveVariants(t *testing.T, path string) map[string][]byte {
	t.Helper()
	script := filepath.Join(t.TempDir(), "scans.txt")
	if err := os.WriteFile(script, []byte(scanScript), 0o600); err != nil {
		t.Fatalf("writing the scan script: %v", err)
	}
	variants := map[string][]string{
		"default scans": {"-progressive"},
		"restart rows":  {"-progressive", "-restart", "1"},
		"restart 5":     {"-progressive", "-restart", "5B"},
		"scan script":   {"-scans", script},
	}
	out := map[string][]byte{}
	for name, args := range variants {
		args = append([]string{"-copy", "none"}, append(args, path)...)
		data, err := exec.Command("jpegtran", args...).Output()
		if err != nil {
			t.Fatalf("jpegtran %s: %v", strings.Join(args, " "), err)
		}
		out[name] = data
	}
	return out
}

// TestProgressiveStripsMatchReferenceDecoders decodes progressive versions
// of every shared photo in strips and compares them with libjpeg-turbo's
// djpeg and, where it decodes the file, Go's decoder.
func TestProgressiveStripsMatchReferenceDecoders(t *testing.T) {
	t.Parallel()
	requireJPEGTools(t)
	tested := 0
	for _, path := range imageDataFiles(t, "images") {
		h, err := readHeader(readImageFile(t, path), 0)
		if err != nil || h.info.Format != FormatJPEG {
			continue
		}
		tested++
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			variants := progressiveVariants(t, path)
			if h.info.Width*h.info.Height > 4_000_000 {
				// One variant of the large photos is enough, and Go's
				// decoder cannot read this one.
				variants = map[string][]byte{"restart rows": variants["restart rows"]}
			}
			for name, data := range variants {
				checkProgressiveStrips(t, name, data)
			}
		})
	}
	if tested == 0 {
		t.Fatalf("no JPEG in the test data")
	}
}

// TestProgressiveStripsSubsamplings checks PIL's progressive JPEGs of an odd
// size (not whole MCUs) with 4:4:4, 4:2:2 and 4:2:0 chroma, at full size
// and scaled down. The photo is blurred first, so that dropping its high
// frequencies changes little and the scaled decodes can be held to
// libjpeg's.
func TestProgressiveStripsSubsamplings(t *testing.T) {
	t.Parallel()
	requirePIL(t)
	requireJPEGTools(t)
	photo := filepath.Join(imageDataDir(t, "images"), "dermoscopy_isic_0000020_1504x1129.jpg")
	for sub, name := range []string{"4:4:4", "4:2:2", "4:2:0"} {
		out := filepath.Join(t.TempDir(), "p.jpg")
		script := fmt.Sprintf(`import sys, PIL.Image, PIL.ImageFilter
PIL.Image.open(sys.argv[1]).crop((5, 3, 338, 260)).filter(PIL.ImageFilter.GaussianBlur(3)).save(
    sys.argv[2], quality=92, progressive=True, subsampling=%d)`, sub)
		msg, err := exec.Command(pilPython, "-c", script, photo, out).CombinedOutput()
		if err != nil {
			t.Fatalf("making a %s JPEG: %v: %s", name, err, msg)
		}
		checkProgressiveStrips(t, name, readImageFile(t, out))
		checkScaledStrips(t, name, readImageFile(t, out))
	}
}

// checkScaledStrips decodes data in strips scaled down by 2, 4 and 8 and
// compares the pixels with those of djpeg's scaled decoding, which averages
// the whole decode's pixels: 99% of them within parityTolerance.
func checkScaledStrips(t *testing.T, name string, data []byte) {
	t.Helper()
	h, err := readHeader(data, 0)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, scale := range []int{2, 4, 8} {
		want := image.Pt(scaledSide(h.jpeg.width, 8/scale), scaledSide(h.jpeg.height, 8/scale))
		strips, ok := newJPEGStrips(data, h.jpeg, want)
		if !ok {
			t.Fatalf("%s: progressive strips refused the file", name)
		}
		if got := image.Pt(strips.size()); got != want {
			t.Fatalf("%s, 1/%d: decoded at %v, want %v", name, scale, got, want)
		}
		planes, ok := strips.decodeAll()
		if !ok {
			t.Fatalf("%s, 1/%d: a strip failed", name, scale)
		}
		ref := djpegPixels(t, data, "-scale", fmt.Sprintf("1/%d", scale))
		worst, share := compareRGB(ref, planes.toRGBA())
		compareRows(t, strips, planes)
		if share < 0.99 {
			t.Errorf("%s, 1/%d: differs from djpeg by up to %d, %.3f%% within %d", name,
				scale, worst, 100*share, parityTolerance)
		}
	}
}

// checkProgressiveStrips decodes data in strips and compares the pixels
// with djpeg's (at most 4 levels apart, 99.9% within parityTolerance) and the planes with
// Go's decoder's (at most 1 apart). It also reads the strips row by row.
func checkProgressiveStrips(t *testing.T, name string, data []byte) {
	t.Helper()
	h, err := readHeader(data, 0)
	if err != nil || !h.jpeg.progressive {
		t.Fatalf("%s: header %+v, %v; want a progressive JPEG", name, h.jpeg, err)
	}
	strips, ok := newJPEGStrips(data, h.jpeg, image.Point{})
	if !ok {
		t.Fatalf("%s: progressive strips refused the file", name)
	}
	planes, ok := strips.decodeAll()
	if !ok {
		t.Fatalf("%s: a strip failed", name)
	}
	got := planes.toRGBA()

	worst, share := compareRGB(djpegPixels(t, data), got)
	if worst > 4 || share < 0.999 {
		t.Errorf("%s: differs from djpeg by up to %d, %.4f%% within %d", name, worst,
			100*share, parityTolerance)
	}
	if whole, err := jpeg.Decode(bytes.NewReader(data)); err == nil {
		want, _ := planesOf(whole.(*image.YCbCr))
		if worst := planesDistance(planes, want); worst > 1 {
			t.Errorf("%s: planes differ from Go's by up to %d", name, worst)
		}
	}
	compareRows(t, strips, planes)
}

// djpegPixels returns the RGB bytes djpeg decodes data to, with its
// options args.
func djpegPixels(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("djpeg", append([]string{"-ppm"}, args...)...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("djpeg: %v", err)
	}
	var width, height, maxVal int
	var magic string
	r := bytes.NewReader(out)
	if _, err := fmt.Fscan(r, &magic, &width, &height, &maxVal); err != nil || magic != "P6" {
		t.Fatalf("djpeg wrote no P6 image: %v", err)
	}
	return out[len(out)-3*width*height:]
}

// planesDistance returns the largest difference between two sets of
// planes' samples.
func planesDistance(a, b ycbcrPlanes) int {
	worst := 0
	rows := func(x, y []byte) {
		for i := range x {
			d := int(x[i]) - int(y[i])
			worst = max(worst, d, -d)
		}
	}
	for y := range a.height {
		rows(a.luma(y), b.luma(y))
	}
	for cy := range (a.height + a.vFactor - 1) / a.vFactor {
		acb, acr := a.chroma(cy)
		bcb, bcr := b.chroma(cy)
		rows(acb, bcb)
		rows(acr, bcr)
	}
	return worst
}

// TestProgressiveStripsLeaveOddFilesToGo checks that a grayscale, a cut and
// a spoiled progressive JPEG are left to the whole decode, which decodes the
// first and reports the others.
func TestProgressiveStripsLeaveOddFilesToGo(t *testing.T) {
	t.Parallel()
	requireJPEGTools(t)
	photo := filepath.Join(imageDataDir(t, "images"), "dermoscopy_isic_0000000_1022x767.jpg")
	gray, err := exec.Command("jpegtran", "-grayscale", "-progressive", photo).Output()
	if err != nil {
		t.Fatalf("jpegtran: %v", err)
	}
	data := progressiveVariants(t, photo)["default scans"]
	spoiled := bytes.Clone(data)
	for i := len(data) / 3; i < len(data)/3+40; i++ {
		spoiled[i] = 0xff
	}

	for _, tc := range []struct {
		name   string
		data   []byte
		decode bool
	}{
		{"grayscale", gray, true},
		{"cut", data[:len(data)*2/3], false},
		{"spoiled", spoiled, false},
	} {
		h, err := readHeader(tc.data, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, ok := newJPEGStrips(tc.data, h.jpeg, image.Point{}); ok {
			t.Errorf("%s: progressive strips accepted the file", tc.name)
		}
		if _, _, err := DecodeImage(tc.data, 0); (err == nil) != tc.decode {
			t.Errorf("%s: DecodeImage error %v, want decoded %v", tc.name, err, tc.decode)
		}
	}
}

// TestDecodeInputsScaleLargeProgressivePhotos checks that Predict's inputs
// of a progressive 10 or 12 MP photo come from a decode at half size, and
// that they are those of the whole decode: 99.9% of the model input's
// values and 99.5% of the display copy's within parityTolerance.
func TestDecodeInputsScaleLargeProgressivePhotos(t *testing.T) {
	t.Parallel()
	requireJPEGTools(t)
	for _, name := range []string{"clinical_smartphone_lesion_4032x3024_exif6_displayp3.jpeg",
		"dermoscopy_10mp_3872x2592_no_jfif.jpg"} {
		path := filepath.Join(imageDataDir(t, "images"), name)
		data, err := exec.Command("jpegtran", "-progressive", "-copy", "all", path).Output()
		if err != nil {
			t.Fatalf("jpegtran: %v", err)
		}
		h, err := readHeader(data, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		full := image.Pt(h.info.Width, h.info.Height)
		need := inputsMinSize(full, h.info.Orientation, Preprocess{}, 0)
		strips, ok := newJPEGStrips(data, h.jpeg, need)
		if w, ht := strips.size(); !ok || w != (h.jpeg.width+1)/2 || ht != (h.jpeg.height+1)/2 {
			t.Fatalf("%s: strips %v, ok %v; want half of %dx%d", name, image.Pt(w, ht), ok,
				h.jpeg.width, h.jpeg.height)
		}

		small, photo, size, _, ok := stripInputs(data, Preprocess{}, 0, 0)
		if !ok || size != full {
			t.Fatalf("%s: stripInputs ok %v, size %v; want %v", name, ok, size, full)
		}
		whole, _, err := DecodeImage(data, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantSmall, wantPhoto := resizeInputs(whole, full, Preprocess{}, 0)
		if photo.Rect != wantPhoto.Rect {
			t.Fatalf("%s: display copy %v, want %v", name, photo.Rect, wantPhoto.Rect)
		}
		for _, c := range []struct {
			what      string
			got, want *image.NRGBA
			share     float64
		}{{"model input", small, wantSmall, 0.999}, {"display copy", photo, wantPhoto, 0.995}} {
			worst, share := compareRGB(rgbBytes(c.want), c.got)
			if share < c.share {
				t.Errorf("%s: %s differs from the whole decode's by up to %d, %.3f%% within %d",
					name, c.what, worst, 100*share, parityTolerance)
			}
		}
	}
}

// rgbBytes returns an image's RGB channels, row by row.
func rgbBytes(img *image.NRGBA) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]byte, 0, 3*w*h)
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			out = append(out, row[4*x:4*x+3]...)
		}
	}
	return out
}

// FuzzProgressiveMatchesGo feeds progressive JPEGs to DermQ's decoder and
// to Go's: where both decode a file, their planes must be at most a level
// apart, and the scaled decodes of a file DermQ's decoder reads must make
// every strip.
func FuzzProgressiveMatchesGo(f *testing.F) {
	for _, seed := range progressiveSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := readHeader(data, fuzzMaxPixels)
		if err != nil || !h.jpeg.ownProgressive() {
			return
		}
		strips, ok := newJPEGStrips(data, h.jpeg, image.Point{})
		if !ok {
			return
		}
		planes, ok := strips.decodeAll()
		if !ok {
			t.Fatalf("the scans decoded but a strip failed")
		}
		if img, err := decodeWithGo(data); err == nil {
			if d := planesDistance(planes, img); d > 1 {
				t.Fatalf("planes differ from Go's by %d levels", d)
			}
		}
		for _, scale := range []int{2, 4, 8} {
			size := image.Pt(scaledSide(h.jpeg.width, 8/scale), scaledSide(h.jpeg.height, 8/scale))
			if s, ok := newJPEGStrips(data, h.jpeg, size); !ok {
				t.Fatalf("1/%d: refused what the full decode read", scale)
			} else if _, ok := s.decodeAll(); !ok {
				t.Fatalf("1/%d: a strip failed", scale)
			}
		}
	})
}

// decodeWithGo decodes with image/jpeg into planes, turning a panic into an
// error.
func decodeWithGo(data []byte) (p ycbcrPlanes, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return p, err
	}
	ycc, ok := img.(*image.YCbCr)
	if !ok {
		return p, fmt.Errorf("not YCbCr: %T", img)
	}
	if p, ok = planesOf(ycc); !ok {
		return p, fmt.Errorf("unsupported subsampling")
	}
	return p, nil
}
