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
	dst = dst[:width*4]
	y, cb, cr = y[:width], cb[:width], cr[:width]
	for x := range width {
		yy := int32(y[x])
		b, r := cb[x], cr[x]
		d := dst[x*4 : x*4+4 : x*4+4]
		d[0] = clampByte(yy + t.crR[r])
		d[1] = clampByte(yy + (t.cbG[b]+t.crG[r])>>16)
		d[2] = clampByte(yy + t.cbB[b])
		d[3] = 0xff
	}
}

func clampByte(v int32) byte {
	if uint32(v) <= 255 {
		return byte(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// convertH2 writes an RGBA row whose chroma is subsampled 2x across, with
// libjpeg's triangle filter. Each chroma column's value is first summed
// down, 3*near + far (near and far rows are the same row for no vertical
// subsampling); each output then takes 3 parts of its column's sum and 1
// part of the neighbour column's on its side, plus biasLeft or biasRight,
// over 16. Edge columns are their own neighbours.
func (t *yccTables) convertH2(dst, y, nearB, farB, nearR, farR []byte,
	biasLeft, biasRight int32) {
	width := len(y)
	cw := (width + 1) / 2
	nearB, farB, nearR, farR = nearB[:cw], farB[:cw], nearR[:cw], farR[:cw]

	lastB := 3*int32(nearB[0]) + int32(farB[0])
	lastR := 3*int32(nearR[0]) + int32(farR[0])
	thisB, thisR := lastB, lastR
	for cx := range cw {
		nextB, nextR := thisB, thisR
		if cx+1 < cw {
			nextB = 3*int32(nearB[cx+1]) + int32(farB[cx+1])
			nextR = 3*int32(nearR[cx+1]) + int32(farR[cx+1])
		}
		x := 2 * cx
		t.pixel(dst[x*4:x*4+4], y[x], (3*thisB+lastB+biasLeft)>>4, (3*thisR+lastR+biasLeft)>>4)
		if x+1 < width {
			t.pixel(dst[x*4+4:x*4+8], y[x+1],
				(3*thisB+nextB+biasRight)>>4, (3*thisR+nextR+biasRight)>>4)
		}
		lastB, lastR, thisB, thisR = thisB, thisR, nextB, nextR
	}
}

// pixel converts one YCbCr sample to RGBA; it is small enough to inline.
func (t *yccTables) pixel(d []byte, y byte, cb, cr int32) {
	yy := int32(y)
	d = d[:4]
	d[0] = rangeLimit[(yy+t.crR[cr&0xff])&1023]
	d[1] = rangeLimit[(yy+(t.cbG[cb&0xff]+t.crG[cr&0xff])>>16)&1023]
	d[2] = rangeLimit[(yy+t.cbB[cb&0xff])&1023]
	d[3] = 0xff
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
