package inference

import "image"

// decodeInputs decodes a photo and makes from it the model's input tensor
// and the display copy (see fitDisplay), and returns its upright size. Both
// are made before the model runs, so the decoded pixels are garbage by
// then. A JPEG that can be cut into strips is decoded a strip at a time as
// the two resizes read it (stripInputs); any other image is decoded whole.
//
// Known shortcoming: a 12 MP JPEG without restart markers holds 18 MB of
// planes, and a progressive one also 72 MB of Go's coefficients.
func decodeInputs(data []byte, p Preprocess, maxPixels, displaySide int) ([]float32,
	*image.NRGBA, image.Point, error) {
	if small, photo, size, ok := stripInputs(data, p, maxPixels, displaySide); ok {
		return p.tensorOf(small), photo, size, nil
	}

	img, _, err := DecodeImage(data, maxPixels)
	if err != nil {
		return nil, nil, image.Point{}, err
	}
	return p.Tensor(img), fitDisplay(img, displaySide), img.Bounds().Size(), nil
}

// stripInputs resizes a JPEG with restart markers to the model's input size
// and to its display size in one read of its rows, decoding a strip of
// rows at a time: a 12 MP photo then holds under 3 MB of decoded pixels per
// CPU instead of 18 MB. The pixels are those DecodeImage and the resizers
// give. ok is false for any other file, for the "nearest" filter, and when
// a strip fails to decode; DecodeImage then decodes the file whole, and
// reports any problem with it.
func stripInputs(data []byte, p Preprocess, maxPixels, displaySide int) (small,
	photo *image.NRGBA, size image.Point, ok bool) {
	p = p.withDefaults()
	filter, convolves := p.convolution()
	h, err := readHeader(data, maxPixels)
	if err != nil || h.info.Format != FormatJPEG || !convolves {
		return nil, nil, size, false
	}
	strips, ok := newJPEGStrips(data, h.jpeg)
	if !ok {
		return nil, nil, size, false
	}

	defer func() {
		if r := recover(); r != nil {
			if _, failed := r.(errStripFailed); !failed {
				panic(r)
			}
			small, photo, ok = nil, nil, false
		}
	}()
	size = image.Pt(h.info.Width, h.info.Height)
	show := displaySize(size, displaySide)
	out := resampleStored(strips, knownOrientation(h.info.Orientation),
		resizeSpec{p.Width, p.Height, filter}, resizeSpec{show.X, show.Y, bilinearFilter})
	return out[0], out[1], size, true
}
