package inference

import "image"

// decodeInputs decodes a photo and makes from it the model's input tensor
// and the display copy (see fitDisplay), and returns its upright size. Both
// are made before the model runs, so the decoded pixels are garbage by
// then. A JPEG that can be cut into strips is decoded a strip at a time as
// the two resizes read it (stripInputs); any other image is decoded whole.
//
// Known shortcoming: a 12 MP JPEG without restart markers holds 18 MB of
// planes, and a progressive one 37 MB of coefficients.
func decodeInputs(data []byte, p Preprocess, maxPixels, displaySide int) ([]float32,
	*image.NRGBA, image.Point, error) {
	small, photo, size, tried, ok := stripInputs(data, p, maxPixels, displaySide)
	if !ok {
		// A strip decoder that failed on the data would fail the same way.
		img, _, err := decodeImage(data, maxPixels, !tried)
		if err != nil {
			return nil, nil, image.Point{}, err
		}
		small, photo = resizeInputs(img, img.Bounds().Size(), p, displaySide)
		size = img.Bounds().Size()
	}
	return p.tensorOf(small), photo, size, nil
}

// resizeInputs resizes img, a photo of upright size full perhaps decoded
// smaller, to the model's input size and to the display size of full. A
// view of stored pixels (a JPEG's planes, an image not stored upright)
// larger than the display size is read once for both; at display size,
// converting it whole is faster than a pass that keeps its size.
func resizeInputs(img image.Image, full image.Point, p Preprocess, displaySide int) (small,
	photo *image.NRGBA) {
	p = p.withDefaults()
	filter, convolves := p.convolution()
	show := displaySize(full, displaySide)
	v, isView := img.(*uprightView)
	if !isView || !convolves || show == img.Bounds().Size() {
		return p.Resized(img), fitDisplay(img, displaySide)
	}

	out := resampleStored(v.src, v.orientation, resizeSpec{p.Width, p.Height, filter},
		resizeSpec{show.X, show.Y, bilinearFilter})
	return out[0], out[1]
}

// stripInputs does what decodeInputs does for a JPEG with restart markers
// or a progressive one, decoding a strip of rows at a time as resizeInputs
// reads them: a 12 MP photo then holds under 3 MB of decoded pixels per CPU
// instead of 18 MB. The pixels are those DecodeImage and the resizers give,
// except that a large progressive photo is decoded scaled down when it is
// larger than both sizes by far (inputsMinSize). ok is false for any other
// file, for the "nearest" filter, and when a strip fails to decode; the
// file is then decoded whole, which reports any problem with it. tried says
// that the strip decoders had the file: the whole decode need not try them.
func stripInputs(data []byte, p Preprocess, maxPixels, displaySide int) (small,
	photo *image.NRGBA, size image.Point, tried, ok bool) {
	_, convolves := p.withDefaults().convolution()
	h, err := readHeader(data, maxPixels)
	if err != nil || h.info.Format != FormatJPEG || !convolves {
		return nil, nil, size, false, false
	}
	full := image.Pt(h.info.Width, h.info.Height)
	strips, ok := newJPEGStrips(data, h.jpeg, inputsMinSize(full, h.info.Orientation, p,
		displaySide))
	if !ok {
		return nil, nil, size, true, false
	}

	defer func() {
		if r := recover(); r != nil {
			if _, failed := r.(errStripFailed); !failed {
				panic(r)
			}
			small, photo, ok = nil, nil, false
		}
	}()
	small, photo = resizeInputs(newUpright(strips, h.info.Orientation), full, p, displaySide)
	return small, photo, full, true, true
}

// inputsMinSize is the smallest stored size a photo of upright size full
// is decoded to for the model's input and the display copy: 1.5 times the
// larger of the two in each direction, turned as the photo is stored. The
// resize that follows then still averages 1.5 or more pixels into one,
// which smooths the block edges of a decode that drops high frequencies.
func inputsMinSize(full image.Point, orientation int, p Preprocess,
	displaySide int) image.Point {
	p = p.withDefaults()
	show := displaySize(full, displaySide)
	need := image.Pt(max(show.X, p.Width)*3/2, max(show.Y, p.Height)*3/2)
	if knownOrientation(orientation) >= 5 {
		need.X, need.Y = need.Y, need.X
	}
	return need
}
