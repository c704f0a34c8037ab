package inference

// yccTables holds libjpeg's fixed-point YCbCr to RGB conversion terms, so
// DermQ's pixels equal those of libjpeg-turbo (and so PIL and TensorFlow).
type yccTables struct {
	crR, cbB [256]int32
	crG, cbG [256]int32
}

// ycc is built once; it is read-only afterwards.
var ycc = newYCCTables()

func newYCCTables() *yccTables {
	const scaleBits = 16
	const oneHalf = 1 << (scaleBits - 1)
	fix := func(x float64) int64 { return int64(x*(1<<scaleBits) + 0.5) }
	t := &yccTables{}
	for i := range 256 {
		x := int64(i - 128)
		t.crR[i] = int32((fix(1.40200)*x + oneHalf) >> scaleBits)
		t.cbB[i] = int32((fix(1.77200)*x + oneHalf) >> scaleBits)
		t.crG[i] = int32(-fix(0.71414) * x)
		t.cbG[i] = int32(-fix(0.34414)*x + oneHalf)
	}
	return t
}

// convertRow writes width RGBA pixels (alpha 255) into dst from a luma row
// and full-width chroma rows, as libjpeg's ycc_rgb_convert does.
func (t *yccTables) convertRow(dst, y, cb, cr []byte, width int) {
	dst, y, cb, cr = dst[:width*4], y[:width], cb[:width], cr[:width]
	crR, cbB, crG, cbG, limit := &t.crR, &t.cbB, &t.crG, &t.cbG, rangeLimit
	for x := range width {
		yy, b, r := int32(y[x]), cb[x], cr[x]
		d := dst[x*4 : x*4+4 : x*4+4]
		d[0] = limit[(yy+crR[r])&1023]
		d[1] = limit[(yy+(cbG[b]+crG[r])>>16)&1023]
		d[2] = limit[(yy+cbB[b])&1023]
		d[3] = 0xff
	}
}

// upsampleH2 doubles a chroma row across with libjpeg's triangle filter.
// Each chroma column's value is first summed down, 3*near + far (the same
// row twice for no vertical subsampling); each output then takes 3 parts of
// its column's sum and 1 part of the neighbour column's on its side, plus
// biasLeft or biasRight, over 16. Edge columns are their own neighbours.
func upsampleH2(dst, near, far []byte, biasLeft, biasRight int32) {
	cw := len(near)
	far = far[:cw]
	dst = dst[:2*cw]
	this := 3*int32(near[0]) + int32(far[0])
	last := this
	for cx := range cw {
		next := this
		if cx+1 < cw {
			next = 3*int32(near[cx+1]) + int32(far[cx+1])
		}
		d := dst[2*cx : 2*cx+2 : 2*cx+2]
		d[0] = byte((3*this + last + biasLeft) >> 4)
		d[1] = byte((3*this + next + biasRight) >> 4)
		last, this = this, next
	}
}

// rangeLimit clamps v to 0..255 when indexed by v & 1023 for v in
// -256..767, as libjpeg's range-limit table does.
var rangeLimit = newRangeLimit()

func newRangeLimit() *[1024]byte {
	var t [1024]byte
	for i := range t {
		v := i
		if i >= 768 {
			v = i - 1024
		}
		t[i] = byte(min(max(v, 0), 255))
	}
	return &t
}
