package inference

import (
	"image/color"
	"math"
	"sync"
)

// oklab is a colour in the OKLab space: L is perceived lightness (0..1), a
// runs green to red and b blue to yellow.
type oklab struct{ L, a, b float64 }

// heatAnchors are the colours the heatmap passes through, from a cold deep
// indigo at 0 to a warm pale yellow at 1. Lightness rises at every step, so
// the map reads the same in greyscale and to colour-blind eyes.
var heatAnchors = []oklab{
	{0.27, 0.04, -0.14},
	{0.45, -0.03, -0.13},
	{0.62, -0.10, -0.02},
	{0.76, -0.09, 0.10},
	{0.88, -0.03, 0.15},
	{0.96, -0.01, 0.11},
}

// heatColors is the 256-entry lookup table built from heatAnchors.
var heatColors = sync.OnceValue(buildColormap)

// buildColormap interpolates heatAnchors linearly in OKLab at 256 evenly
// spaced points and converts each to 8-bit sRGB.
func buildColormap() [256]color.NRGBA {
	var table [256]color.NRGBA
	segments := float64(len(heatAnchors) - 1)
	for i := range table {
		pos := float64(i) / 255 * segments
		k := min(int(pos), len(heatAnchors)-2)
		t := pos - float64(k)
		lo, hi := heatAnchors[k], heatAnchors[k+1]
		c := oklab{
			L: lo.L + (hi.L-lo.L)*t,
			a: lo.a + (hi.a-lo.a)*t,
			b: lo.b + (hi.b-lo.b)*t,
		}
		table[i] = c.nrgba()
	}
	return table
}

// nrgba converts c to opaque 8-bit sRGB, clipping colours outside the gamut.
func (c oklab) nrgba() color.NRGBA {
	l := cubed(c.L + 0.3963377774*c.a + 0.2158037573*c.b)
	m := cubed(c.L - 0.1055613458*c.a - 0.0638541728*c.b)
	s := cubed(c.L - 0.0894841775*c.a - 1.2914855480*c.b)

	r := 4.0767416621*l - 3.3077115913*m + 0.2309699292*s
	g := -1.2684380046*l + 2.6097574011*m - 0.3413193965*s
	b := -0.0041960863*l - 0.7034186147*m + 1.7076147010*s
	return color.NRGBA{R: srgb8(r), G: srgb8(g), B: srgb8(b), A: 255}
}

func cubed(x float64) float64 { return x * x * x }

// srgb8 applies the sRGB transfer curve to a linear value and quantises it.
func srgb8(linear float64) uint8 {
	linear = min(max(linear, 0), 1)
	v := 12.92 * linear
	if linear > 0.0031308 {
		v = 1.055*math.Pow(linear, 1/2.4) - 0.055
	}
	return uint8(math.Round(v * 255))
}
