package inference

// decodeBudgetPerPixel is how much memory one image may take to decode, in
// bytes for each pixel the limit allows: 300 MB at the default 50
// megapixels. An 8-bit PNG at the limit fits (it takes 4.9 bytes a pixel),
// and a worker with EfficientNetV2-S loaded (about 100 MB) stays near its
// 400 MB soft limit and under the 480 MB hard one.
const decodeBudgetPerPixel = 6

// decodeBudget is the most memory an image may take to decode.
func decodeBudget(maxPixels int) int64 { return decodeBudgetPerPixel * int64(maxPixels) }

// decodeSlack is what the Go heap adds to the buffers a decode holds, in
// bytes a pixel: garbage not yet collected while they grow (measured 0.9 to
// 1.6 with DermQ's decoding of 16 and 49 megapixel images). A JPEG
// decoder allocates its planes once, and adds less (jpegSlack).
const (
	decodeSlack = 1.5
	jpegSlack   = 1
)

// decodeCost is the memory decoding an image takes, estimated from its
// header, with what makes the image costly and what to do about it, for the
// message that refuses it.
type decodeCost struct {
	bytes        int64
	what, advice string
}

// estimateDecode estimates what decoding the image and converting it to
// RGBA takes at its peak. The figures are the decoders' buffers: Go's
// image/jpeg and image/png, DermQ's progressive JPEG decoder, and for WebP
// (whose decoder keeps buffers of its own) the peaks measured on 16 and 49
// megapixel files, 4 December 2026.
func estimateDecode(h header, data []byte) decodeCost {
	pixels := float64(h.info.Width) * float64(h.info.Height)
	perPixel, what, advice := 0.0, "", "save it at a smaller size"
	switch h.info.Format {
	case FormatJPEG:
		return jpegDecodeCost(h.jpeg, pixels)
	case FormatPNG:
		perPixel, what, advice = pngDecodeCost(data)
	case FormatGIF:
		perPixel, what = 1+4, "GIF"
	case FormatWebP:
		perPixel, what = 1.5+4, "WebP"
		switch {
		case h.webp.lossless:
			perPixel, what = 12.5, "lossless WebP"
		case h.webp.alpha:
			perPixel, what = 10.5, "WebP with transparency"
		}
		advice = "save it as a JPEG or at a smaller size"
	}
	return decodeCost{bytes: int64(pixels * (perPixel + decodeSlack)), what: what, advice: advice}
}

// jpegDecodeCost is the decoder's estimate (jpegHeader.decodeBytes) plus,
// for a grayscale, CMYK or RGB-coded image, the RGBA or CMYK image Go's
// decoder makes from its planes (CMYK and RGBA are then converted in
// place, grey into a new RGBA image of the same size).
func jpegDecodeCost(h jpegHeader, pixels float64) decodeCost {
	c := decodeCost{what: "JPEG", advice: "save it at a smaller size"}
	rgb := h.components == 3 && h.isRGB()
	switch {
	case h.components == 4:
		c.what, c.advice = "CMYK JPEG", "save it in RGB colours or at a smaller size"
	case rgb:
		c.what = "RGB-coded JPEG"
		c.advice = "save it as a standard (YCbCr) JPEG or at a smaller size"
	case h.progressive:
		c.what = "progressive JPEG"
		c.advice = "save it as a baseline (non-progressive) JPEG or at a smaller size"
	}
	perPixel := float64(jpegSlack)
	if h.components != 3 || rgb {
		perPixel += 4
	}
	c.bytes = h.decodeBytes() + int64(pixels*perPixel)
	return c
}

// pngDecodeCost reads the IHDR chunk (pngHeader checked that it is there)
// and looks for a tRNS one: Go's decoder holds 1 to 8 bytes a pixel by
// colour type, bit depth and transparency, an interlaced image twice (its
// passes, then the whole), and grey or palette pixels are then converted
// into 4 bytes a pixel more (RGBA ones in place).
func pngDecodeCost(data []byte) (perPixel float64, what, advice string) {
	depth, colorType, interlaced := data[24], data[25], data[28] == 1
	what, advice = "PNG", "save it at a smaller size"
	converted := false
	switch {
	case colorType == 3:
		perPixel, converted = 1, true
	case colorType == 0 && !pngTransparent(data):
		perPixel, converted = 1, true
	default:
		// Grey with a transparent value becomes RGBA too.
		perPixel = 4
	}
	if depth == 16 {
		perPixel *= 2
		what, advice = "16-bit PNG", "save it with 8 bits a channel or at a smaller size"
	}
	if interlaced {
		perPixel *= 2
		what, advice = "interlaced "+what, "save it without interlacing or at a smaller size"
	}
	if converted {
		perPixel += 4
	}
	return perPixel, what, advice
}

// pngTransparent reports whether a tRNS chunk comes before the image data.
func pngTransparent(data []byte) bool {
	found := false
	eachPNGChunk(data, func(name string, _ []byte) bool {
		found = name == "tRNS"
		return !found && name != "IDAT"
	})
	return found
}
