package inference

import (
	"bytes"
	"unicode/utf8"
)

// Names of the formats DecodeImage supports, as ImageInfo.Format reports them.
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
	FormatGIF  = "gif"
	FormatWebP = "webp"
)

// magic pairs a file signature at a fixed offset with the format it marks.
type magic struct {
	offset int
	prefix string
	format string
}

// knownMagics lists supported formats (lowercase names) and unsupported ones
// (display names) that uploads are likely to be, so the error can name them.
var knownMagics = []magic{
	{0, "\xff\xd8\xff", FormatJPEG},
	{0, "\x89PNG\r\n\x1a\n", FormatPNG},
	{0, "GIF87a", FormatGIF},
	{0, "GIF89a", FormatGIF},
	{0, "BM", "BMP"},
	{0, "II*\x00", "TIFF"},
	{0, "MM\x00*", "TIFF"},
	{0, "II+\x00", "TIFF"},
	{0, "MM\x00+", "TIFF"},
	{0, "\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"},
	{0, "\xff\x4f\xff\x51", "JPEG 2000"},
	{0, "\xff\x0a", "JPEG XL"},
	{0, "\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"},
	{0, "8BPS", "PSD"},
	{0, "%PDF", "PDF"},
	{0, "\x00\x00\x01\x00", "ICO"},
	{0, "qoif", "QOI"},
	{0, "PK\x03\x04", "ZIP"},
	{128, "DICM", "DICOM"},
}

// sniffFormat names the format of data from its leading bytes. It returns a
// supported format name, or an InputError that names the unsupported one.
func sniffFormat(data []byte) (string, error) {
	if len(data) == 0 {
		return "", emptyFileError()
	}
	if isWebP(data) {
		return FormatWebP, nil
	}
	if brand := isoBrandFormat(data); brand != "" {
		return "", unsupportedFormatError(brand)
	}
	for _, m := range knownMagics {
		if hasPrefixAt(data, m.offset, m.prefix) {
			return supportedOrError(m.format)
		}
	}
	if looksLikeText(data) {
		return "", &InputError{
			Code:    CodeUnsupportedFormat,
			Message: "the file is text, not an image: upload a JPEG or PNG photo",
		}
	}
	return "", &InputError{
		Code:    CodeUnsupportedFormat,
		Message: "the file is not an image in a supported format (JPEG, PNG, GIF, WebP)",
	}
}

func supportedOrError(format string) (string, error) {
	switch format {
	case FormatJPEG, FormatPNG, FormatGIF:
		return format, nil
	}
	return "", unsupportedFormatError(format)
}

func hasPrefixAt(data []byte, offset int, prefix string) bool {
	return len(data) >= offset+len(prefix) && string(data[offset:offset+len(prefix)]) == prefix
}

func isWebP(data []byte) bool {
	return hasPrefixAt(data, 0, "RIFF") && hasPrefixAt(data, 8, "WEBP")
}

// isoBrandFormat reads the brands of an ISO media "ftyp" box (HEIC, AVIF,
// video) and names the format, or returns "" when data has no such box.
func isoBrandFormat(data []byte) string {
	if !hasPrefixAt(data, 4, "ftyp") || len(data) < 12 {
		return ""
	}
	boxSize := int(be32(data[0:4]))
	if boxSize < 16 || boxSize > len(data) {
		boxSize = min(len(data), 64)
	}
	brands := [][]byte{data[8:12]}
	for i := 16; i+4 <= boxSize; i += 4 {
		brands = append(brands, data[i:i+4])
	}
	return formatOfBrands(brands)
}

func formatOfBrands(brands [][]byte) string {
	for _, b := range brands {
		switch string(b) {
		case "avif", "avis":
			return "AVIF"
		}
	}
	for _, b := range brands {
		switch string(b) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1":
			return "HEIC"
		}
	}
	return "MP4/MOV video"
}

// looksLikeText reports whether the first bytes are printable UTF-8, as in a
// text, HTML, SVG or JSON file.
func looksLikeText(data []byte) bool {
	head := data[:min(len(data), 512)]
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	for len(head) > 0 {
		r, size := utf8.DecodeRune(head)
		if r == utf8.RuneError && size == 1 && len(head) > 3 {
			return false
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' {
			return false
		}
		head = head[size:]
	}
	return true
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func be16(b []byte) int { return int(b[0])<<8 | int(b[1]) }

func le16(b []byte) int { return int(b[0]) | int(b[1])<<8 }

func le24(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 }

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
