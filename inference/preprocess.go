package inference

import (
	"fmt"
	"image"

	"github.com/disintegration/imaging"
)

// Preprocess says how an image becomes the model's input tensor. The zero
// value of each field is replaced by its default (see the field comments)
// when the tensor is made.
type Preprocess struct {
	// Width and Height are the model's input size in pixels. Default: 224.
	Width, Height int
	// Layout is "NCHW" (channels first) or "NHWC". Default: "NCHW".
	Layout string
	// Color is the channel order, "RGB" or "BGR". Default: "RGB".
	Color string
	// Scale divides each 0..255 pixel value first. Default: 1.
	Scale float32
	// Mean is subtracted from each scaled channel, indexed in the tensor's
	// channel order (so Mean[0] is blue's for BGR). Default: 0.
	Mean [3]float32
	// Std divides each centred channel, in the same order as Mean; a zero
	// entry means 1. Default: 1.
	Std [3]float32
	// Resize is the filter: "bilinear", "nearest", "bicubic" or "lanczos".
	// Default: "bilinear", PIL's antialiased triangle filter.
	Resize string
}

// defaultInputSize is the model input side used when none is given.
const defaultInputSize = 224

// Values of Preprocess.Layout, Preprocess.Color and Preprocess.Resize.
const (
	LayoutNCHW     = "NCHW"
	LayoutNHWC     = "NHWC"
	ColorRGB       = "RGB"
	ColorBGR       = "BGR"
	ResizeBilinear = "bilinear"
	ResizeNearest  = "nearest"
	ResizeBicubic  = "bicubic"
	ResizeLanczos  = "lanczos"
)

// withDefaults fills the zero fields; it is the one place defaults live.
func (p Preprocess) withDefaults() Preprocess {
	if p.Width <= 0 {
		p.Width = defaultInputSize
	}
	if p.Height <= 0 {
		p.Height = defaultInputSize
	}
	if p.Layout == "" {
		p.Layout = LayoutNCHW
	}
	if p.Color == "" {
		p.Color = ColorRGB
	}
	if p.Scale == 0 {
		p.Scale = 1
	}
	for c := range p.Std {
		if p.Std[c] == 0 {
			p.Std[c] = 1
		}
	}
	if p.Resize == "" {
		p.Resize = ResizeBilinear
	}
	return p
}

// Validate reports the first field that holds a value Preprocess does not
// know, naming the field.
func (p Preprocess) Validate() error {
	p = p.withDefaults()
	switch {
	case p.Layout != LayoutNCHW && p.Layout != LayoutNHWC:
		return fmt.Errorf("layout %q: want NCHW or NHWC", p.Layout)
	case p.Color != ColorRGB && p.Color != ColorBGR:
		return fmt.Errorf("color %q: want RGB or BGR", p.Color)
	}
	if _, ok := resizeFilters[p.Resize]; !ok {
		return fmt.Errorf("resize %q: want bilinear, nearest, bicubic or lanczos", p.Resize)
	}
	return nil
}

// resizeFilters maps the manifest's filter names to PIL's convolution
// filters; "nearest" is not a convolution and goes to imaging.
var resizeFilters = map[string]resampleFilter{
	ResizeBilinear: bilinearFilter,
	ResizeBicubic:  bicubicFilter,
	ResizeLanczos:  lanczosFilter,
	ResizeNearest:  {},
}

// Resized returns img resized to Width x Height with the Resize filter, as
// PIL's Image.resize makes it (antialiased when shrinking). An unknown
// filter name resizes bilinearly. Transparency is composited on white
// first; DecodeImage's images are already opaque.
func (p Preprocess) Resized(img image.Image) *image.NRGBA {
	p = p.withDefaults()
	filter, ok := p.convolution()
	if !ok {
		if v, ok := img.(*uprightView); ok {
			img = v.upright()
		}
		return imaging.Resize(img, p.Width, p.Height, imaging.NearestNeighbor)
	}
	return resizeImage(img, p.Width, p.Height, filter)
}

// convolution returns the filter Resize names, bilinear for an unknown name,
// and ok false for "nearest", which is not a convolution.
func (p Preprocess) convolution() (f resampleFilter, ok bool) {
	if p.Resize == ResizeNearest {
		return resampleFilter{}, false
	}
	if f, ok := resizeFilters[p.Resize]; ok {
		return f, true
	}
	return bilinearFilter, true
}

// Tensor resizes img and returns the batch-1 input tensor: for each channel
// c, (pixel/Scale - Mean[c]) / Std[c], channels in Color order, laid out as
// Layout says (1x3xHxW for NCHW, 1xHxWx3 for NHWC).
func (p Preprocess) Tensor(img image.Image) []float32 {
	return p.tensorOf(p.Resized(img))
}

// tensorOf makes the tensor from an image already resized to Width x
// Height.
func (p Preprocess) tensorOf(small *image.NRGBA) []float32 {
	p = p.withDefaults()
	order := [3]int{0, 1, 2}
	if p.Color == ColorBGR {
		order = [3]int{2, 1, 0}
	}
	var lut [3][256]float32
	for c := range 3 {
		for v := range 256 {
			lut[c][v] = (float32(v)/p.Scale - p.Mean[c]) / p.Std[c]
		}
	}

	plane := p.Width * p.Height
	out := make([]float32, 3*plane)
	for y := range p.Height {
		row := small.Pix[y*small.Stride:]
		for x := range p.Width {
			px := row[x*4 : x*4+3 : x*4+3]
			i := y*p.Width + x
			for c := range 3 {
				v := lut[c][px[order[c]]]
				if p.Layout == LayoutNHWC {
					out[i*3+c] = v
				} else {
					out[c*plane+i] = v
				}
			}
		}
	}
	return out
}
