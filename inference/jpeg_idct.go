package inference

import "math"

// unzigzag maps a coefficient's zigzag index to its position in the 8x8
// block, row by row: the zigzag order walks the anti-diagonals, turning at
// the block's edges.
var unzigzag = newUnzigzag()

func newUnzigzag() [64]int {
	var order [64]int
	k := 0
	for diag := range 15 {
		for i := range 8 {
			// Even diagonals run up and to the right, odd ones down and left.
			row := diag - i
			if diag%2 == 1 {
				row = i
			}
			col := diag - row
			if row < 0 || row > 7 || col < 0 || col > 7 {
				continue
			}
			order[k] = row*8 + col
			k++
		}
	}
	return order
}

// idctTerms holds the factors of the 8-point inverse DCT, split as usual
// into an even part (inputs 0, 2, 4, 6) and an odd part (inputs 1, 3, 5, 7).
type idctTerms struct {
	c4, c2, c6 float32
	// odd[n][j] is cos((2n+1)(2j+1)pi/16) / 2.
	odd [4][4]float32
}

var idct = newIDCTTerms()

func newIDCTTerms() idctTerms {
	cos := func(k int) float32 { return float32(math.Cos(float64(k) * math.Pi / 16)) }
	t := idctTerms{c4: cos(4) / 2, c2: cos(2) / 2, c6: cos(6) / 2}
	for n := range 4 {
		for j := range 4 {
			t.odd[n][j] = cos((2*n+1)*(2*j+1)) / 2
		}
	}
	return t
}

// line transforms 8 values spaced step apart in v, in place: out[n] is the
// sum over k of C(k)/2 * in[k] * cos((2n+1)k pi/16), C(0) = 1/sqrt(2).
func (t *idctTerms) line(v []float32, step int) {
	x0, x1, x2, x3 := v[0], v[step], v[2*step], v[3*step]
	x4, x5, x6, x7 := v[4*step], v[5*step], v[6*step], v[7*step]

	p, q := t.c4*(x0+x4), t.c4*(x0-x4)
	r, s := t.c2*x2+t.c6*x6, t.c6*x2-t.c2*x6
	even := [4]float32{p + r, q + s, q - s, p - r}
	for n := range 4 {
		o := &t.odd[n]
		odd := o[0]*x1 + o[1]*x3 + o[2]*x5 + o[3]*x7
		v[n*step], v[(7-n)*step] = even[n]+odd, even[n]-odd
	}
}

// idctCorner dequantises the kept n*n corner of a block's coefficients
// (row by row, quant likewise), transforms it and writes n*n samples,
// level-shifted and clamped, to dst with the given stride. For n below 8
// each sample is the mean over one of n*n equal cells of the block of its
// inverse DCT without the higher frequencies: the block scaled down by
// 8/n, as libjpeg scales, but from fewer coefficients.
func idctCorner(vals []int16, quant []float32, n int, dst []byte, stride int) {
	if n == 8 {
		idctBlock(vals, quant, dst, stride)
		return
	}
	var v [16]float32
	for i, c := range vals[:n*n] {
		v[i] = float32(c) * quant[i]
	}
	terms := &scaledIDCT[n]
	var rows [16]float32
	for r := range n {
		for x := range n {
			sum := float32(0)
			for u := range n {
				sum += terms[x][u] * v[r*n+u]
			}
			rows[r*n+x] = sum
		}
	}
	for y := range n {
		out := dst[y*stride : y*stride+n : y*stride+n]
		for x := range out {
			sum := float32(0)
			for r := range n {
				sum += terms[y][r] * rows[r*n+x]
			}
			out[x] = clampSample(sum)
		}
	}
}

// scaledIDCT[n][x][k] is the 8-point inverse DCT's factor for frequency k,
// C(k)/2 * cos((2m+1)k pi/16), averaged over the pixels m of cell x of n
// (n = 1, 2, 4). The mean of the cosines over a cell is the cosine at its
// centre, cos((2x+1)k pi/(2n)), times the mean of cos((2j+1-c)k pi/16) over
// its c = 8/n pixels j.
var scaledIDCT = newScaledIDCT()

func newScaledIDCT() [5][4][4]float32 {
	var t [5][4][4]float32
	for _, n := range []int{1, 2, 4} {
		cell := 8 / n
		for k := range n {
			spread := 0.0
			for j := range cell {
				spread += math.Cos(float64((2*j+1-cell)*k) * math.Pi / 16)
			}
			spread /= float64(cell)
			for x := range n {
				f := math.Cos(float64((2*x+1)*k)*math.Pi/float64(2*n)) * spread
				if k == 0 {
					f /= math.Sqrt2
				}
				t[n][x][k] = float32(f / 2)
			}
		}
	}
	return t
}

// idctBlock dequantises a block's 64 coefficients (row by row, quant
// likewise), transforms them and writes the 8x8 samples, level-shifted and
// clamped, to dst with the given stride.
func idctBlock(coef []int16, quant []float32, dst []byte, stride int) {
	var v [64]float32
	for i, c := range coef[:64] {
		if c != 0 {
			v[i] = float32(c) * quant[i]
		}
	}
	for row := range 8 {
		r := v[row*8 : row*8+8 : row*8+8]
		if r[1] == 0 && r[2] == 0 && r[3] == 0 && r[4] == 0 &&
			r[5] == 0 && r[6] == 0 && r[7] == 0 {
			dc := r[0] * idct.c4
			for i := range r {
				r[i] = dc
			}
			continue
		}
		idct.line(r, 1)
	}
	for col := range 8 {
		idct.line(v[col:], 8)
	}

	for y := range 8 {
		out := dst[y*stride : y*stride+8 : y*stride+8]
		for x := range out {
			out[x] = clampSample(v[y*8+x])
		}
	}
}

// clampSample rounds a transformed value, adds the level shift and clamps
// it to a byte.
func clampSample(f float32) byte {
	f += 128.5
	switch {
	case f <= 0:
		return 0
	case f >= 255:
		return 255
	}
	return byte(f)
}
