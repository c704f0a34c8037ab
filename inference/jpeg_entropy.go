package inference

import "errors"

// The entropy decoding of a progressive JPEG's scans (ITU T.81, annex G):
// a reader of the scan's bits and canonical Huffman tables.

// errEntropy is returned for scan data that does not decode; the caller
// then leaves the file to Go's decoder, which reports the problem.
var errEntropy = errors.New("jpeg: corrupt entropy-coded data")

// bitReader reads the entropy-coded bytes of one scan, markers included,
// removing the zero byte stuffed after each 0xff. At a marker (or the end)
// it supplies zero bits and counts them, so that reading past the data is
// an error while looking ahead past it is not.
type bitReader struct {
	data []byte
	pos  int
	acc  uint64 // bits not yet read, the next one highest
	n    uint   // how many bits acc holds
	pad  uint   // how many of them are padding
}

// fill tops acc up to at least 57 bits.
func (r *bitReader) fill() {
	for r.n <= 56 {
		b := byte(0)
		switch {
		case r.pos >= len(r.data):
			r.pad += 8
		case r.data[r.pos] != 0xff:
			b = r.data[r.pos]
			r.pos++
		case r.pos+1 < len(r.data) && r.data[r.pos+1] == 0x00:
			b = 0xff
			r.pos += 2
		default:
			r.pad += 8
		}
		r.acc |= uint64(b) << (56 - r.n)
		r.n += 8
	}
}

// peek returns the next k bits (k <= 16) without reading them.
func (r *bitReader) peek(k uint) uint32 {
	if r.n < k {
		r.fill()
	}
	return uint32(r.acc >> (64 - k))
}

// skip reads k bits already looked at with peek; reading padding is an
// error.
func (r *bitReader) skip(k uint) error {
	r.acc <<= k
	r.n -= k
	if r.n < r.pad {
		return errEntropy
	}
	return nil
}

// bits reads k bits (k <= 16) as an unsigned number.
func (r *bitReader) bits(k uint) (int32, error) {
	if k == 0 {
		return 0, nil
	}
	v := r.peek(k)
	return int32(v), r.skip(k)
}

// signed reads the k magnitude bits that follow a Huffman symbol and
// returns the value they code (T.81 F.2.2.1, EXTEND).
func (r *bitReader) signed(k uint) (int32, error) {
	v, err := r.bits(k)
	if k > 0 && v < 1<<(k-1) {
		v += -1<<k + 1
	}
	return v, err
}

// restart drops the bits left in the current interval and reads the RST
// marker that must come next.
func (r *bitReader) restart() error {
	r.acc, r.n, r.pad = 0, 0, 0
	if r.pos+1 >= len(r.data) || r.data[r.pos] != 0xff ||
		r.data[r.pos+1] < markerRST0 || r.data[r.pos+1] > markerRST7 {
		return errEntropy
	}
	r.pos += 2
	return nil
}

// fastBits is how many bits the lookup table of a Huffman table covers.
const fastBits = 9

// huffTable is a canonical Huffman table from a DHT segment.
type huffTable struct {
	// fast maps the next fastBits bits to length<<8 | symbol for codes
	// that short; 0 means a longer code.
	fast [1 << fastBits]uint16
	// maxCode[l] is the largest code of length l (-1 if none) and
	// first[l] the index in symbols of the first code of that length
	// minus that code.
	maxCode [17]int32
	first   [17]int32
	symbols []byte
}

// newHuffTable builds a table from the counts of codes of each length (1
// to 16) and the symbols in code order.
func newHuffTable(counts [16]int, symbols []byte) (*huffTable, error) {
	t := &huffTable{symbols: symbols}
	code, k := int32(0), 0
	for l := 1; l <= 16; l++ {
		n := counts[l-1]
		t.maxCode[l] = -1
		if n > 0 {
			t.first[l] = int32(k) - code
			t.maxCode[l] = code + int32(n) - 1
		}
		for range n {
			if l <= fastBits {
				shift := fastBits - l
				for i := code << shift; i < (code+1)<<shift; i++ {
					t.fast[i] = uint16(l)<<8 | uint16(symbols[k])
				}
			}
			code++
			k++
		}
		if code > 1<<l {
			return nil, errEntropy
		}
		code <<= 1
	}
	return t, nil
}

// decode reads one Huffman-coded symbol.
func (t *huffTable) decode(r *bitReader) (byte, error) {
	if v := t.fast[r.peek(fastBits)]; v != 0 {
		return byte(v), r.skip(uint(v >> 8))
	}
	bits := r.peek(16)
	for l := fastBits + 1; l <= 16; l++ {
		code := int32(bits >> (16 - l))
		if code <= t.maxCode[l] {
			return t.symbols[t.first[l]+code], r.skip(uint(l))
		}
	}
	return 0, errEntropy
}
