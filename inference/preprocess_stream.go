package inference

import (
	"cmp"
	"image"
	"runtime"
	"slices"
)

// resizeSpec is a size to resize to and the filter to use.
type resizeSpec struct {
	width, height int
	filter        resampleFilter
}

// resampleStored resizes stored pixels, seen upright for orientation o
// (1..8), to each of the sizes in one read of the stored rows, with the
// bytes PIL gives for the upright image: the upright horizontal pass
// first, each pass rounded to 8 bits. Each pass runs along the stored axis
// its upright axis comes from, its weights put in stored order
// (axisWeights), and the integer sums are those of the upright passes.
//
// Stored rows are read in order and only a vertical window of them is held
// at a time (see streamDown). For orientations 1 to 4 upright rows are
// stored rows: each is resampled across as it is read. For 5 to 8 upright
// rows are stored columns: the first pass sums windows of stored rows, and
// its row i, upright column i, is resampled and turned at the end.
func resampleStored(src storedPixels, o int, specs ...resizeSpec) []*image.NRGBA {
	sw, sh := src.size()
	passes := make([]downPass, len(specs))
	out := make([]*image.NRGBA, len(specs))
	for k, s := range specs {
		passes[k], out[k] = planPasses(sw, sh, o, s)
	}

	streamDown(src, passes)
	if o >= 5 {
		for k := range out {
			out[k] = orient(out[k], 5)
		}
	}
	return out
}

// downPass is a vertical pass over stored rows: output row i is the
// weighted sum of input rows rw.first[i] onwards. prepare, when not nil,
// turns each stored row into the pass's input row of n bytes, written into
// slot; otherwise the stored rows are the input. emit receives each output
// row (n bytes), valid only during the call.
type downPass struct {
	rw      resampleWeights
	n       int
	prepare func(in, slot []byte)
	emit    func(i int, row []byte)
}

// planPasses returns the pass that resizes stored pixels of size sw x sh,
// seen upright for orientation o, to s, and the image it fills: the result
// itself for orientations 1 to 4, else the result turned by a transpose.
func planPasses(sw, sh, o int, s resizeSpec) (downPass, *image.NRGBA) {
	if o < 5 {
		across := axisWeights(sw, s.width, s.filter, o == 2 || o == 3)
		dst := image.NewNRGBA(image.Rect(0, 0, s.width, s.height))
		return downPass{
			rw:      axisWeights(sh, s.height, s.filter, o == 3 || o == 4),
			n:       4 * s.width,
			prepare: func(in, slot []byte) { acrossRow(slot, in, across) },
			emit:    func(i int, row []byte) { copy(dst.Pix[i*dst.Stride:], row) },
		}, dst
	}

	down := axisWeights(sw, s.height, s.filter, o == 7 || o == 8)
	turned := image.NewNRGBA(image.Rect(0, 0, s.height, s.width))
	return downPass{
		rw: axisWeights(sh, s.width, s.filter, o == 6 || o == 7),
		n:  4 * sw,
		emit: func(i int, row []byte) {
			acrossRow(turned.Pix[i*turned.Stride:][:4*s.height], row, down)
		},
	}, turned
}

// streamDown runs the passes over src's rows as they are read. Each pass's
// output rows are split among goroutines in the same proportions, and each
// goroutine reads, in order, the stored rows its share of windows spans, so
// a few rows where the spans meet are read twice.
func streamDown(src storedPixels, passes []downPass) {
	sw, _ := src.size()
	fewest := len(passes[0].rw.first)
	for _, p := range passes {
		fewest = min(fewest, len(p.rw.first))
	}
	g := min(runtime.GOMAXPROCS(0), max(1, fewest/32))

	inParallel(g, func(k int) {
		read := src.reader()
		states := make([]*passState, len(passes))
		lo, hi, raw := int(^uint(0)>>1), 0, newRing(1, 4*sw)
		for t, p := range passes {
			m := len(p.rw.first)
			states[t] = newPassState(p, m*k/g, m*(k+1)/g)
			lo, hi = min(lo, states[t].lo), max(hi, states[t].hi)
			if p.prepare == nil {
				raw = newRing(max(len(raw.slots), states[t].span), 4*sw)
			}
		}

		for y := lo; y < hi; y++ {
			in := raw.put(y, read(y, raw.slot(y)))
			for _, s := range states {
				s.push(y, in, raw)
			}
		}
	})
}

// ring holds the last rows a pass read, row y at y mod its length.
type ring struct {
	slots [][]byte // buffers the rows may be written into
	rows  [][]byte // the rows, in slots or held elsewhere
}

func newRing(n, size int) *ring {
	r := &ring{slots: make([][]byte, n), rows: make([][]byte, n)}
	for i := range r.slots {
		r.slots[i] = make([]byte, size)
	}
	return r
}

func (r *ring) slot(y int) []byte { return r.slots[y%len(r.slots)] }

func (r *ring) put(y int, row []byte) []byte {
	r.rows[y%len(r.rows)] = row
	return row
}

func (r *ring) row(y int) []byte { return r.rows[y%len(r.rows)] }

// passState is one goroutine's share of a pass: its output rows in the
// order their windows end, the input rows [lo, hi) those windows cover and
// the longest window, span.
type passState struct {
	downPass
	order        []int
	next         int
	lo, hi, span int
	own          *ring // prepared rows, when the pass prepares them
	rows         [][]byte
	sums         []int32
	out          []byte
}

func newPassState(p downPass, i0, i1 int) *passState {
	s := &passState{downPass: p, lo: int(^uint(0) >> 1), span: 1}
	for i := i0; i < i1; i++ {
		s.order = append(s.order, i)
		s.lo = min(s.lo, p.rw.first[i])
		s.hi = max(s.hi, windowEnd(p.rw, i)+1)
		s.span = max(s.span, len(p.rw.weights[i]))
	}
	slices.SortFunc(s.order, func(a, b int) int {
		return cmp.Compare(windowEnd(p.rw, a), windowEnd(p.rw, b))
	})
	if p.prepare != nil {
		s.own = newRing(s.span, p.n)
	}
	s.rows = make([][]byte, 0, s.span)
	s.sums = make([]int32, min(p.n, 4*downSpan))
	s.out = make([]byte, p.n)
	return s
}

// push takes stored row y, in, and emits every output row whose window
// ends there. raw holds the stored rows the pass reads unprepared.
func (s *passState) push(y int, in []byte, raw *ring) {
	if y < s.lo || y >= s.hi {
		return
	}
	rows := raw
	if s.own != nil {
		s.prepare(in, s.own.put(y, s.own.slot(y)))
		rows = s.own
	}

	for ; s.next < len(s.order) && windowEnd(s.rw, s.order[s.next]) <= y; s.next++ {
		i := s.order[s.next]
		s.rows = s.rows[:0]
		for j := range s.rw.weights[i] {
			s.rows = append(s.rows, rows.row(s.rw.first[i]+j))
		}
		sumRows(s.out, s.rows, s.rw.weights[i], s.sums)
		s.emit(i, s.out)
	}
}

// windowEnd is the last input row output row i reads.
func windowEnd(rw resampleWeights, i int) int {
	return rw.first[i] + len(rw.weights[i]) - 1
}
