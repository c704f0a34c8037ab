package inference

import (
	"image/color"
	"math"
	"testing"
)

// lightness returns the OKLab lightness of an 8-bit sRGB colour.
func lightness(c color.NRGBA) float64 {
	r, g, b := srgbToLinear(c.R), srgbToLinear(c.G), srgbToLinear(c.B)
	l := math.Cbrt(0.4122214708*r + 0.5363325363*g + 0.0514459929*b)
	m := math.Cbrt(0.2119034982*r + 0.6806995451*g + 0.1073969566*b)
	s := math.Cbrt(0.0883024619*r + 0.2817188376*g + 0.6299787005*b)
	return 0.2104542553*l + 0.7936177850*m - 0.0040720468*s
}

// srgbToLinear undoes the sRGB transfer curve.
func srgbToLinear(v uint8) float64 {
	x := float64(v) / 255
	if x <= 0.04045 {
		return x / 12.92
	}
	return math.Pow((x+0.055)/1.055, 2.4)
}

func TestColormap(t *testing.T) {
	t.Parallel()
	table := heatColors()

	t.Run("lightness rises from one entry to the next", func(t *testing.T) {
		for i := 1; i < len(table); i++ {
			prev, cur := lightness(table[i-1]), lightness(table[i])
			if cur < prev-0.002 {
				t.Fatalf("lightness falls at %d: %.4f after %.4f", i, cur, prev)
			}
		}
	})

	t.Run("lightness spans dark to bright", func(t *testing.T) {
		lo, hi := lightness(table[0]), lightness(table[255])
		if lo > 0.35 || hi < 0.9 {
			t.Fatalf("lightness runs %.3f..%.3f, want below 0.35 to above 0.9", lo, hi)
		}
	})

	t.Run("anchors stay inside the sRGB gamut", func(t *testing.T) {
		for _, a := range heatAnchors {
			c := a.nrgba()
			if got := lightness(c); math.Abs(got-a.L) > 0.01 {
				t.Fatalf("anchor %+v comes back with lightness %.3f: clipped", a, got)
			}
		}
	})
}
