package inference

import (
	"image"
	"image/color"
	"math"
	"testing"
)

// twoPixelImage is 2x1: an (10, 20, 30) pixel then a (40, 50, 60) one.
func twoPixelImage() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 255})
	img.SetNRGBA(1, 0, color.NRGBA{40, 50, 60, 255})
	return img
}

func TestPreprocessTensorLayoutAndColor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		layout string
		color  string
		want   []float32
	}{
		{"NCHW RGB puts each channel in its own plane", LayoutNCHW, ColorRGB,
			[]float32{10, 40, 20, 50, 30, 60}},
		{"NHWC RGB keeps each pixel's channels together", LayoutNHWC, ColorRGB,
			[]float32{10, 20, 30, 40, 50, 60}},
		{"NCHW BGR starts with the blue plane", LayoutNCHW, ColorBGR,
			[]float32{30, 60, 20, 50, 10, 40}},
		{"NHWC BGR reverses each pixel's channels", LayoutNHWC, ColorBGR,
			[]float32{30, 20, 10, 60, 50, 40}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := Preprocess{Width: 2, Height: 1, Layout: tc.layout, Color: tc.color}
			got := p.Tensor(twoPixelImage())
			if len(got) != len(tc.want) {
				t.Fatalf("tensor has %d values, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("tensor %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestPreprocessTensorNormalises(t *testing.T) {
	t.Parallel()
	p := Preprocess{Width: 2, Height: 1, Scale: 255,
		Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	got := p.Tensor(twoPixelImage())
	want := (40.0/255 - 0.485) / 0.229 // red of the second pixel
	if math.Abs(float64(got[1])-want) > 1e-6 {
		t.Fatalf("normalised red %v, want %v", got[1], want)
	}
	want = (60.0/255 - 0.406) / 0.225 // blue of the second pixel
	if math.Abs(float64(got[5])-want) > 1e-6 {
		t.Fatalf("normalised blue %v, want %v", got[5], want)
	}
}

func TestPreprocessResizedKeepsFlatColour(t *testing.T) {
	t.Parallel()
	src := image.NewNRGBA(image.Rect(0, 0, 301, 199))
	for i := 0; i < len(src.Pix); i += 4 {
		copy(src.Pix[i:], []byte{200, 100, 50, 255})
	}
	for _, filter := range []string{ResizeBilinear, ResizeNearest, ResizeBicubic, ResizeLanczos} {
		t.Run(filter+" keeps a flat image flat", func(t *testing.T) {
			t.Parallel()
			got := Preprocess{Width: 224, Height: 224, Resize: filter}.Resized(src)
			if got.Rect.Dx() != 224 || got.Rect.Dy() != 224 {
				t.Fatalf("size %v, want 224x224", got.Rect)
			}
			if c := got.NRGBAAt(111, 57); c != (color.NRGBA{200, 100, 50, 255}) {
				t.Fatalf("pixel %v, want {200 100 50 255}", c)
			}
		})
	}
}

func TestPreprocessValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		p     Preprocess
		valid bool
	}{
		{"the zero value is valid", Preprocess{}, true},
		{"NHWC BGR lanczos is valid", Preprocess{Layout: "NHWC", Color: "BGR", Resize: "lanczos"}, true},
		{"an unknown layout is refused", Preprocess{Layout: "CHW"}, false},
		{"an unknown colour order is refused", Preprocess{Color: "RGBA"}, false},
		{"an unknown filter is refused", Preprocess{Resize: "area"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.p.Validate(); (err == nil) != tc.valid {
				t.Fatalf("Validate() = %v, want valid %v", err, tc.valid)
			}
		})
	}
}
