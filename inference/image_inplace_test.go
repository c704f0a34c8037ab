package inference

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"
)

// TestInPlaceConversionEqualsTheCopy checks that converting a decoded RGBA
// or NRGBA image, 8 or 16 bits a channel, or a CMYK one, in place gives the
// pixels of the copying conversion, and really reuses the decoder's pixels.
func TestInPlaceConversionEqualsTheCopy(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	r := image.Rect(0, 0, 37, 23)

	straight := image.NewNRGBA(r)
	premultiplied := image.NewRGBA(r)
	for i := 0; i < len(straight.Pix); i += 4 {
		a := uint8(rng.IntN(256))
		if i%12 == 0 {
			a = 0xff
		}
		straight.Pix[i+3], premultiplied.Pix[i+3] = a, a
		for c := range 3 {
			straight.Pix[i+c] = uint8(rng.IntN(256))
			premultiplied.Pix[i+c] = uint8(rng.IntN(int(a) + 1))
		}
	}

	straight16 := image.NewNRGBA64(r)
	premultiplied16 := image.NewRGBA64(r)
	for i := 0; i < len(straight16.Pix); i += 8 {
		a := uint16(rng.IntN(0x10000))
		if i%24 == 0 {
			a = 0xffff
		}
		put16(straight16.Pix[i+6:], a)
		put16(premultiplied16.Pix[i+6:], a)
		for c := range 3 {
			put16(straight16.Pix[i+2*c:], uint16(rng.IntN(0x10000)))
			put16(premultiplied16.Pix[i+2*c:], uint16(rng.IntN(int(a)+1)))
		}
	}

	cmyk := image.NewCMYK(r)
	for i := range cmyk.Pix {
		cmyk.Pix[i] = uint8(rng.IntN(256))
	}

	for name, img := range map[string]image.Image{
		"nrgba": straight, "rgba": premultiplied,
		"nrgba64": straight16, "rgba64": premultiplied16, "cmyk": cmyk,
	} {
		want := genericToNRGBA(img)
		first := &pixelsOf(img)[0]
		got := decodedToNRGBA(img)
		if !bytes.Equal(got.Pix, want.Pix) || got.Rect != want.Rect {
			t.Fatalf("%s: in-place pixels differ from the copying conversion", name)
		}
		if &got.Pix[0] != first {
			t.Fatalf("%s: the conversion copied the pixels", name)
		}
	}
}

func pixelsOf(img image.Image) []byte {
	switch src := img.(type) {
	case *image.RGBA:
		return src.Pix
	case *image.NRGBA:
		return src.Pix
	case *image.RGBA64:
		return src.Pix
	case *image.NRGBA64:
		return src.Pix
	case *image.CMYK:
		return src.Pix
	}
	return nil
}

func put16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }
