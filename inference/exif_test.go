package inference

import (
	"encoding/binary"
	"testing"
)

func TestEXIFOrientation(t *testing.T) {
	t.Parallel()
	valid := exifWithOrientation(binary.LittleEndian, 7)
	wrongType := exifWithOrientation(binary.BigEndian, 6)
	wrongType[6+13] = 4 // the entry's type becomes LONG
	cases := []struct {
		name string
		data []byte
		want int
	}{
		{"big-endian orientation 6 is read", exifWithOrientation(binary.BigEndian, 6), 6},
		{"little-endian orientation 7 is read", valid, 7},
		{"a payload without the Exif prefix is read", valid[6:], 7},
		{"an out of range value means upright", exifWithOrientation(binary.BigEndian, 9), 1},
		{"a non-SHORT entry means upright", wrongType, 1},
		{"a cut IFD means upright", valid[:len(valid)-10], 1},
		{"a bad byte order means upright", []byte("Exif\x00\x00XX*\x00\x00\x00\x00\x08"), 1},
		{"nothing means upright", nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := exifOrientation(tc.data); got != tc.want {
				t.Fatalf("orientation %d, want %d", got, tc.want)
			}
		})
	}
}
