package inference

import "bytes"

// exifOrientationTag is the TIFF tag that holds the EXIF orientation.
const exifOrientationTag = 0x0112

// exifHeader starts the EXIF payload of a JPEG APP1 segment, and sometimes
// the EXIF chunk of a WebP file.
var exifHeader = []byte("Exif\x00\x00")

// exifOrientation reads the orientation (1..8) from EXIF data: a TIFF
// structure, optionally preceded by "Exif\0\0". Missing, malformed or out of
// range values give 1, the upright default.
func exifOrientation(data []byte) int {
	data = bytes.TrimPrefix(data, exifHeader)
	if len(data) < 8 {
		return 1
	}
	var u16 func([]byte) int
	var u32 func([]byte) uint32
	switch string(data[:4]) {
	case "II*\x00":
		u16, u32 = le16, le32
	case "MM\x00*":
		u16, u32 = be16, be32
	default:
		return 1
	}

	ifd := int64(u32(data[4:8]))
	if ifd < 8 || ifd+2 > int64(len(data)) {
		return 1
	}
	count := u16(data[ifd:])
	for i := range count {
		entry := ifd + 2 + int64(i)*12
		if entry+12 > int64(len(data)) {
			return 1
		}
		e := data[entry : entry+12]
		if u16(e[0:2]) != exifOrientationTag {
			continue
		}
		return orientationValue(u16(e[2:4]), u16(e[8:10]))
	}
	return 1
}

// orientationValue checks the type of the orientation entry (SHORT) and its
// range.
func orientationValue(typ, value int) int {
	const tiffShort = 3
	if typ != tiffShort || value < 1 || value > 8 {
		return 1
	}
	return value
}
