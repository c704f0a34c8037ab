package inference

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// solidImage returns a width x height NRGBA image filled with c.
func solidImage(width, height int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, width, height))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// spikeMap returns a rows x cols map that is zero except for 1 at (row, col).
func spikeMap(rows, cols, row, col int) [][]float32 {
	cam := make([][]float32, rows)
	for i := range cam {
		cam[i] = make([]float32, cols)
	}
	cam[row][col] = 1
	return cam
}

func decodePNG(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding heatmap png: %v", err)
	}
	return img
}

func TestRenderHeatmapSize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		width, height int
		maxSide       int
		wantW, wantH  int
	}{
		{"a large landscape photo is capped at the longest side", 3000, 2000, 1024, 1024, 682},
		{"a large portrait photo is capped at the longest side", 600, 1800, 900, 300, 900},
		{"a small photo keeps its own size", 300, 200, 1024, 300, 200},
		{"no cap means 1024", 2048, 1024, 0, 1024, 512},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := solidImage(tc.width, tc.height, color.NRGBA{90, 60, 40, 255})
			data, err := RenderHeatmap(img, spikeMap(7, 7, 3, 3), tc.maxSide)
			if err != nil {
				t.Fatalf("RenderHeatmap: %v", err)
			}

			got := decodePNG(t, data).Bounds().Size()
			if got.X != tc.wantW || got.Y != tc.wantH {
				t.Fatalf("heatmap is %dx%d, want %dx%d", got.X, got.Y, tc.wantW, tc.wantH)
			}
		})
	}
}

func TestRenderHeatmapPeak(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		row, col int
	}{
		{"a peak near the top right lands there", 1, 12},
		{"a peak near the bottom left lands there", 5, 0},
		{"a peak in the middle lands there", 3, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// On black, the overlay's brightness rises with the map value.
			img := solidImage(700, 350, color.NRGBA{0, 0, 0, 255})
			data, err := RenderHeatmap(img, spikeMap(7, 14, tc.row, tc.col), 1024)
			if err != nil {
				t.Fatalf("RenderHeatmap: %v", err)
			}

			x, y := brightest(decodePNG(t, data))
			wantX, wantY := tc.col*50+25, tc.row*50+25
			if absInt(x-wantX) > 25 || absInt(y-wantY) > 25 { // half a cell
				t.Fatalf("brightest pixel at (%d,%d), want near (%d,%d)", x, y, wantX, wantY)
			}
		})
	}
}

// brightest returns the position of img's pixel with the largest R+G+B.
func brightest(img image.Image) (int, int) {
	bx, by, best := 0, 0, -1
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if v := int(r + g + bl); v > best {
				bx, by, best = x, y, v
			}
		}
	}
	return bx, by
}

func absInt(v int) int { return max(v, -v) }

func TestRenderHeatmapRejectsBadMaps(t *testing.T) {
	t.Parallel()
	img := solidImage(10, 10, color.NRGBA{255, 255, 255, 255})
	cases := []struct {
		name string
		cam  [][]float32
	}{
		{"a nil map is refused", nil},
		{"a map with an empty row is refused", [][]float32{{}}},
		{"a ragged map is refused", [][]float32{{1, 2}, {3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := RenderHeatmap(img, tc.cam, 64); err == nil {
				t.Fatalf("RenderHeatmap accepted %v", tc.cam)
			}
		})
	}
}

func TestUpsampleCAMKeepsAFlatMapFlat(t *testing.T) {
	t.Parallel()
	cam := [][]float32{{0.5, 0.5}, {0.5, 0.5}}
	for i, v := range upsampleCAM(cam, 9, 5) {
		if v != 0.5 {
			t.Fatalf("value %d is %v, want 0.5", i, v)
		}
	}
}

func TestDisplayJPEG(t *testing.T) {
	t.Parallel()
	img := solidImage(4000, 3000, color.NRGBA{200, 150, 120, 255})
	data, err := DisplayJPEG(img, 800)
	if err != nil {
		t.Fatalf("DisplayJPEG: %v", err)
	}

	got, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding display jpeg: %v", err)
	}
	if size := got.Bounds().Size(); size.X != 800 || size.Y != 600 {
		t.Fatalf("display is %dx%d, want 800x600", size.X, size.Y)
	}
}
