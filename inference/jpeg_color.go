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
