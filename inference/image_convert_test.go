package inference

import (
	"image"
	"image/color"
	"testing"
)

func TestToNRGBACompositesOnWhite(t *testing.T) {
	t.Parallel()
	rect := image.Rect(0, 0, 2, 1)
	nrgba := image.NewNRGBA(rect)
	nrgba.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 255})
	nrgba.SetNRGBA(1, 0, color.NRGBA{0, 0, 0, 0})
	half := image.NewNRGBA(rect)
	half.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 255})
	half.SetNRGBA(1, 0, color.NRGBA{0, 0, 0, 128})
	pal := image.NewPaletted(rect, color.Palette{color.NRGBA{200, 100, 50, 255},
		color.NRGBA{9, 9, 9, 0}})
	pal.SetColorIndex(1, 0, 1)
	gray := image.NewGray(rect)
	gray.SetGray(0, 0, color.Gray{200})
	gray.SetGray(1, 0, color.Gray{255})
	gray16 := image.NewGray16(rect)
	gray16.SetGray16(0, 0, color.Gray16{200*256 + 255})
	gray16.SetGray16(1, 0, color.Gray16{0xffff})
	deep := image.NewRGBA64(rect)
	deep.SetRGBA64(0, 0, color.RGBA64{200 * 257, 100 * 257, 50 * 257, 0xffff})
	nycc := image.NewNYCbCrA(image.Rect(0, 0, 4, 2), image.YCbCrSubsampleRatio444)
	for i := range nycc.Y {
		nycc.Y[i], nycc.Cb[i], nycc.Cr[i], nycc.A[i] = 0, 128, 128, 255
	}
	nycc.A[nycc.AOffset(3, 1)] = 0
	cases := []struct {
		name          string
		img           image.Image
		first, second color.NRGBA
	}{
		{"transparent NRGBA becomes white", nrgba,
			color.NRGBA{200, 100, 50, 255}, color.NRGBA{255, 255, 255, 255}},
		{"half transparent black becomes mid grey", half,
			color.NRGBA{200, 100, 50, 255}, color.NRGBA{127, 127, 127, 255}},
		{"a transparent palette entry becomes white", pal,
			color.NRGBA{200, 100, 50, 255}, color.NRGBA{255, 255, 255, 255}},
		{"grey is spread to three channels", gray,
			color.NRGBA{200, 200, 200, 255}, color.NRGBA{255, 255, 255, 255}},
		{"16-bit grey keeps its high bytes", gray16,
			color.NRGBA{200, 200, 200, 255}, color.NRGBA{255, 255, 255, 255}},
		{"16-bit RGBA keeps its high bytes and transparent becomes white", deep,
			color.NRGBA{200, 100, 50, 255}, color.NRGBA{255, 255, 255, 255}},
		{"a sub-image of YCbCr with alpha reads its own alpha",
			nycc.SubImage(image.Rect(2, 1, 4, 2)),
			color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := toNRGBA(tc.img)
			if got.Rect != rect {
				t.Fatalf("bounds %v, want %v", got.Rect, rect)
			}
			if c := got.NRGBAAt(0, 0); c != tc.first {
				t.Fatalf("first pixel %v, want %v", c, tc.first)
			}
			if c := got.NRGBAAt(1, 0); c != tc.second {
				t.Fatalf("second pixel %v, want %v", c, tc.second)
			}
		})
	}
}

func TestForStripsRaisesPanicsInTheCaller(t *testing.T) {
	t.Parallel()
	recovered := func() (r any) {
		defer func() { r = recover() }()
		forStrips(1024, func(y0, y1 int) {
			if y1 == 1024 {
				panic("last strip failed")
			}
		})
		return nil
	}()
	if recovered != "last strip failed" {
		t.Fatalf("recovered %v, want the strip's panic", recovered)
	}
}
