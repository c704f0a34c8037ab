package inference

import (
	"cmp"
	"image"
	"slices"
)

// resampleStored resizes stored pixels, seen upright for orientation o
// (1..8), to width x height with the bytes PIL gives for the upright image:
// the upright horizontal pass first, each pass rounded to 8 bits. Each pass
// runs along the stored axis its upright axis comes from, its weights put
// in stored order (axisWeights), and the integer sums are those of the
// upright passes.
//
// Stored rows are read in order and only a vertical window of them is held
// at a time (see streamDown). For orientations 1 to 4 upright rows are
// stored rows: each is resampled across as it is read. For 5 to 8 upright
// rows are stored columns: the first pass sums windows of stored rows, and
// its row i, upright column i, is resampled and turned at the end.
func resampleStored(src storedPixels, o, width, height int, f resampleFilter) *image.NRGBA {
	sw, sh := src.size()
	if o < 5 {
		across := axisWeights(sw, width, f, o == 2 || o == 3)
		down := axisWeights(sh, height, f, o == 3 || o == 4)
		dst := image.NewNRGBA(image.Rect(0, 0, width, height))
		prepare := func(in, slot []byte) []byte {
			acrossRow(slot, in, across)
			return slot
		}
		streamDown(src, down, 4*width, prepare, func(i int, row []byte) {
			copy(dst.Pix[i*dst.Stride:], row)
		})
		return dst
	}

	across := axisWeights(sh, width, f, o == 6 || o == 7)
	down := axisWeights(sw, height, f, o == 7 || o == 8)
	turned := image.NewNRGBA(image.Rect(0, 0, height, width))
	streamDown(src, across, 4*sw, nil, func(i int, row []byte) {
		acrossRow(turned.Pix[i*turned.Stride:][:4*height], row, down)
	})
	return orient(turned, 5)
}

// streamDown runs a vertical pass over src's rows as they are read: output
// row i is the weighted sum of rows rw.first[i] onwards. prepare, when not
// nil, turns each stored row into the pass's input row of n bytes, written
// into slot; otherwise stored rows are the input. emit receives each output
// row (n bytes), valid only during the call. Output rows are split among
// goroutines, and each reads the stored rows that its windows span, so a
// few rows where the spans meet are read twice.
func streamDown(src storedPixels, rw resampleWeights, n int,
	prepare func(in, slot []byte) []byte, emit func(i int, row []byte)) {
	sw, _ := src.size()
	forStrips(len(rw.first), func(i0, i1 int) {
		read := src.reader()
		order, lo, hi, span := windowOrder(rw, i0, i1)
		slots := make([][]byte, span)
		for k := range slots {
			slots[k] = make([]byte, n)
		}
		var scratch []byte
		if prepare != nil {
			scratch = make([]byte, 4*sw)
		}
		ring := make([][]byte, span)
		rows := make([][]byte, 0, span)
		sums := make([]int32, min(n, 4*downSpan))
		out := make([]byte, n)

		next := 0
		for y := lo; y < hi; y++ {
			k := y % span
			if prepare == nil {
				ring[k] = read(y, slots[k])
			} else {
				ring[k] = prepare(read(y, scratch), slots[k])
			}
			for ; next < len(order) && windowEnd(rw, order[next]) <= y; next++ {
				i := order[next]
				rows = rows[:0]
				for j := range rw.weights[i] {
					rows = append(rows, ring[(rw.first[i]+j)%span])
				}
				sumRows(out, rows, rw.weights[i], sums)
				emit(i, out)
			}
		}
	})
}

// windowOrder returns output rows [i0, i1) in the order their windows end,
// the input rows [lo, hi) the windows cover, and the longest window.
func windowOrder(rw resampleWeights, i0, i1 int) (order []int, lo, hi, span int) {
	lo, hi, span = rw.first[i0], 0, 1
	for i := i0; i < i1; i++ {
		order = append(order, i)
		lo = min(lo, rw.first[i])
		hi = max(hi, windowEnd(rw, i)+1)
		span = max(span, len(rw.weights[i]))
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Compare(windowEnd(rw, a), windowEnd(rw, b))
	})
	return order, lo, hi, span
}

// windowEnd is the last input row output row i reads.
func windowEnd(rw resampleWeights, i int) int {
	return rw.first[i] + len(rw.weights[i]) - 1
}
