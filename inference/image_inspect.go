package inference

// DefaultMaxPixels is the pixel limit Inspect and DecodeImage apply when they
// are given zero or less: 50 megapixels.
const DefaultMaxPixels = 50_000_000

// ImageInfo describes an image from its header.
type ImageInfo struct {
	// Format is "jpeg", "png", "gif" or "webp".
	Format string
	// Width and Height are the size after the EXIF orientation is applied.
	Width, Height int
	// Orientation is the EXIF orientation, 1 (upright) to 8.
	Orientation int
}

// Inspect reads only the header of an encoded image: its format, its size
// and its EXIF orientation. It never allocates the pixels, so it is cheap
// enough to vet an upload before storing it. Images with more than maxPixels
// pixels are refused (DefaultMaxPixels when maxPixels <= 0), and so is an
// image whose decoding would take more memory than 6 bytes for each of
// those pixels (estimateDecode): a 16-bit PNG, a lossless WebP or a
// progressive JPEG left to Go's decoder, say, of a size an 8-bit photo may
// have. Every problem with the data is an *InputError.
func Inspect(data []byte, maxPixels int) (ImageInfo, error) {
	h, err := readHeader(data, maxPixels)
	return h.info, err
}

// header is an image's ImageInfo plus what the decoders and the memory
// estimate need: for JPEG the markers, for WebP the frame's kind.
type header struct {
	info ImageInfo
	jpeg jpegHeader
	webp webpFrame
}

// readHeader sniffs the format, reads the header and applies the pixel limit.
func readHeader(data []byte, maxPixels int) (header, error) {
	var h header
	format, err := sniffFormat(data)
	if err != nil {
		return h, err
	}

	switch format {
	case FormatJPEG:
		h.jpeg, err = readJPEGHeader(data)
		if err == nil {
			err = checkJPEGFrame(data)
		}
		if err == nil {
			err = h.jpeg.checkColourModel()
		}
		h.info = ImageInfo{Format: FormatJPEG, Width: h.jpeg.width, Height: h.jpeg.height,
			Orientation: h.jpeg.orientation}
	case FormatPNG:
		h.info, err = pngHeader(data)
	case FormatGIF:
		h.info, err = gifHeader(data)
	case FormatWebP:
		h.info, h.webp, err = webpHeader(data)
	}
	if err != nil {
		return h, err
	}

	if h.info.Orientation >= 5 {
		h.info.Width, h.info.Height = h.info.Height, h.info.Width
	}
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if int64(h.info.Width)*int64(h.info.Height) > int64(maxPixels) {
		return h, tooManyPixelsError(h.info.Width, h.info.Height, maxPixels)
	}
	if cost := estimateDecode(h, data); cost.bytes > decodeBudget(maxPixels) {
		return h, decodeMemoryError(h.info, cost, decodeBudget(maxPixels))
	}
	return h, nil
}
