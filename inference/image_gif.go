package inference

import (
	"errors"
)

// Bytes of a GIF stream that introduce its blocks.
const (
	gifExtension  = 0x21
	gifDescriptor = 0x2c
)

// checkGIFFirstFrame walks the blocks before the first image descriptor and
// refuses a first frame that does not fit on the logical screen, as the
// decoder would. A stream cut before the descriptor is left to the decoder.
func checkGIFFirstFrame(data []byte, screenW, screenH int) error {
	pos := 13
	if flags := data[10]; flags&0x80 != 0 {
		pos += 3 << (1 + flags&7)
	}

	for pos < len(data) && data[pos] == gifExtension {
		pos += 2
		for pos < len(data) && data[pos] != 0 {
			pos += 1 + int(data[pos])
		}
		pos++
	}
	if pos+9 > len(data) || data[pos] != gifDescriptor {
		return nil
	}

	left, top := le16(data[pos+1:]), le16(data[pos+3:])
	width, height := le16(data[pos+5:]), le16(data[pos+7:])
	if left+width > screenW || top+height > screenH {
		return corruptError(FormatGIF, errors.New("first frame larger than the screen"))
	}
	return nil
}
