package inference

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif" // GIF decoding for image.Decode
	"image/jpeg"
	_ "image/png" // PNG decoding for image.Decode

	"golang.org/x/image/draw"
)

// This file is the interim image front end, kept until the package's image
// decoder, preprocessing and heatmap renderer land; it uses the standard
// decoders and has no EXIF orientation, PIL-exact resizing or heatmap PNG.

// prepareImage decodes data and makes the model's input tensor.
func (e *Engine) prepareImage(data []byte) (image.Image, []float32, error) {
	if len(data) == 0 {
		return nil, nil, &InputError{Code: "empty_file", Message: "the file is empty"}
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, nil, &InputError{Code: "unsupported_format",
			Message: "unsupported or corrupt image: upload a JPEG, PNG or GIF", Err: err}
	}
	if cfg.Width*cfg.Height > e.opts.MaxPixels {
		return nil, nil, &InputError{Code: "too_many_pixels", Message: fmt.Sprintf(
			"the image has %dx%d pixels, more than %d", cfg.Width, cfg.Height, e.opts.MaxPixels)}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, nil, &InputError{Code: "corrupt_image",
			Message: "the image data is corrupt or truncated", Err: err}
	}
	return img, e.tensorOf(img), nil
}

// tensorOf resizes img to the input size and normalises it.
func (e *Engine) tensorOf(img image.Image) []float32 {
	in := e.manifest.Input
	w, h := in.Size[0], in.Size[1]
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)

	out := make([]float32, 3*w*h)
	for y := range h {
		for x := range w {
			px := dst.Pix[y*dst.Stride+4*x:]
			rgb := [3]uint8{px[0], px[1], px[2]}
			if in.Color == "BGR" {
				rgb[0], rgb[2] = rgb[2], rgb[0]
			}
			for c, v := range rgb {
				out[e.tensorIndex(c, y, x)] = normalise(v, c, in)
			}
		}
	}
	return out
}

// tensorIndex is the flat index of channel c at (y, x).
func (e *Engine) tensorIndex(c, y, x int) int {
	w, h := e.manifest.Input.Size[0], e.manifest.Input.Size[1]
	if e.manifest.Input.Layout == LayoutNHWC {
		return (y*w+x)*3 + c
	}
	return c*w*h + y*w + x
}

// normalise maps pixel value v of channel c to (v/scale - mean) / std.
func normalise(v uint8, c int, in InputManifest) float32 {
	mean, std := in.Mean[min(c, len(in.Mean)-1)], in.Std[min(c, len(in.Std)-1)]
	return float32((float64(v)/in.Scale - mean) / std)
}

// render fills the display image; the heatmap awaits the renderer.
func (e *Engine) render(img image.Image, res *Result) error {
	b := img.Bounds()
	scale := min(1, float64(e.opts.DisplaySize)/float64(max(b.Dx(), b.Dy())))
	w, h := max(1, int(float64(b.Dx())*scale)), max(1, int(float64(b.Dy())*scale))
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90}); err != nil {
		return fmt.Errorf("encoding the display image: %w", err)
	}
	res.Display = buf.Bytes()
	return nil
}
