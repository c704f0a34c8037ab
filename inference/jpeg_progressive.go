package inference

import (
	"bytes"
	"image"
)

// Go's image/jpeg keeps every DCT coefficient of a progressive JPEG as 4
// bytes until its last scan, then holds the planes too: 90 MB for a 12 MP
// photo. DermQ decodes a progressive YCbCr JPEG's scans itself into 2-byte
// coefficients and transforms them to planes a strip of rows at a time,
// which puts the same photo under 40 MB. When the photo is only to be
// scaled down (Predict's inputs), it keeps only each block's low
// frequencies and decodes it at half size or less: a quarter of the
// coefficients for half the size, 11 MB for the same photo. Anything it
// does not expect (another colour model, an unusual sampling, corrupt data)
// is left to Go's decoder, which decodes it or reports the problem.

// progComponent is one colour component of a progressive frame.
type progComponent struct {
	id    byte
	h, v  int
	quant int
	// across and down count blocks in the grid padded to whole MCUs; wide
	// and tall count those that hold pixels.
	across, down int
	wide, tall   int
	// coef holds the kept coefficients, keep*keep a block, and nonZero a
	// word a block for those not kept (see coefBlock), by rows of blocks
	// across.
	coef    []int16
	nonZero []uint64
}

// progressiveDecoder holds a progressive JPEG's tables and coefficients
// while its scans are decoded.
type progressiveDecoder struct {
	width, height int
	comps         []progComponent
	hMax, vMax    int
	mxx, myy      int
	quant         [4]*[64]uint16
	dc, ac        [4]*huffTable
	restart       int
	eobrun        int
	// keep is the side of the corner of low frequencies kept of each
	// block (8: all of them), and so the side of the block's samples in
	// the planes; slot maps a zigzag index to its place in the corner,
	// row by row, or -1.
	keep int
	slot [64]int
	// discard stands in for a block's nonZero word when all are kept; it
	// is never written then.
	discard uint64
	// ratio is the frame's chroma subsampling.
	ratio image.YCbCrSubsampleRatio
}

// newProgressiveStrips decodes every scan of a progressive JPEG that
// jpegHeader.ownProgressive accepts and returns strips made from the
// coefficients, or ok false for a file to leave to Go's decoder. The
// strips are the photo scaled down by 2, 4 or 8 when it stays at least
// minSize that way (a zero minSize keeps the full size).
func newProgressiveStrips(data []byte, h jpegHeader, minSize image.Point) (s *jpegStrips,
	ok bool) {
	if !h.ownProgressive() {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			s, ok = nil, false
		}
	}()

	d := &progressiveDecoder{}
	d.ratio, _ = h.ownSubsampling()
	d.setKeep(h.width, h.height, minSize)
	if err := d.decodeFile(data); err != nil {
		return nil, false
	}
	return d.strips()
}

// setKeep picks the smallest corner of frequencies that decodes the photo
// to at least minSize, and fills slot for it.
func (d *progressiveDecoder) setKeep(width, height int, minSize image.Point) {
	d.keep = 8
	for minSize.X > 0 && d.keep > 1 {
		half := d.keep / 2
		if scaledSide(width, half) < minSize.X || scaledSide(height, half) < minSize.Y {
			break
		}
		d.keep = half
	}
	for k, pos := range unzigzag {
		d.slot[k] = -1
		if row, col := pos/8, pos%8; row < d.keep && col < d.keep {
			d.slot[k] = row*d.keep + col
		}
	}
}

// scaledSide is a side of n pixels decoded with keep*keep coefficients a
// block.
func scaledSide(n, keep int) int { return (n*keep + 7) / 8 }

// block returns where block i of component c keeps its coefficients.
func (d *progressiveDecoder) block(c *progComponent, i int) coefBlock {
	n := d.keep * d.keep
	b := coefBlock{vals: c.coef[i*n : (i+1)*n : (i+1)*n], nonZero: &d.discard}
	if c.nonZero != nil {
		b.nonZero = &c.nonZero[i]
	}
	return b
}

// decodeFile walks the segments from SOI to EOI, keeping tables and
// decoding each scan.
func (d *progressiveDecoder) decodeFile(data []byte) error {
	pos := 2
	for {
		for pos+1 < len(data) && data[pos] == 0xff && data[pos+1] == 0xff {
			pos++
		}
		if pos+1 < len(data) && data[pos] == 0xff && data[pos+1] == markerEOI {
			return d.checkComplete()
		}
		marker, _, payload, next, err := nextJPEGSegment(data, pos)
		if err != nil {
			return err
		}
		pos = next
		if err := d.segment(marker, payload); err != nil {
			return err
		}
		if marker == markerSOS {
			end := scanEnd(data, pos)
			if err := d.startScan(payload, data[pos:end]); err != nil {
				return err
			}
			pos = end
		}
	}
}

// segment reads the segments that matter before and between scans.
func (d *progressiveDecoder) segment(marker byte, payload []byte) error {
	switch {
	case marker == markerSOF2:
		return d.readFrame(payload)
	case isSOFMarker(marker) || marker == markerSOI ||
		(marker >= markerRST0 && marker <= markerRST7):
		return errEntropy
	case marker == markerDHT:
		return d.readHuffman(payload)
	case marker == markerDQT:
		return d.readQuant(payload)
	case marker == markerDRI:
		if len(payload) < 2 {
			return errEntropy
		}
		d.restart = be16(payload)
	}
	return nil
}

// readFrame reads the SOF2 segment: the size and each component's sampling
// and quantisation table.
func (d *progressiveDecoder) readFrame(p []byte) error {
	if d.comps != nil || len(p) < 6 || p[0] != 8 || p[5] != 3 || len(p) < 6+3*3 {
		return errEntropy
	}
	d.height, d.width = be16(p[1:]), be16(p[3:])
	d.hMax, d.vMax = 1, 1
	for i := range 3 {
		c := p[6+3*i:]
		comp := progComponent{id: c[0], h: int(c[1] >> 4), v: int(c[1] & 15), quant: int(c[2])}
		if comp.h < 1 || comp.h > 4 || comp.v < 1 || comp.v > 4 || comp.quant > 3 {
			return errEntropy
		}
		d.hMax, d.vMax = max(d.hMax, comp.h), max(d.vMax, comp.v)
		d.comps = append(d.comps, comp)
	}

	d.mxx = (d.width + 8*d.hMax - 1) / (8 * d.hMax)
	d.myy = (d.height + 8*d.vMax - 1) / (8 * d.vMax)
	for i := range d.comps {
		c := &d.comps[i]
		c.across, c.down = d.mxx*c.h, d.myy*c.v
		c.wide = ((d.width*c.h+d.hMax-1)/d.hMax + 7) / 8
		c.tall = ((d.height*c.v+d.vMax-1)/d.vMax + 7) / 8
		c.coef = make([]int16, c.across*c.down*d.keep*d.keep)
		if d.keep < 8 {
			c.nonZero = make([]uint64, c.across*c.down)
		}
	}
	return nil
}

// readHuffman reads the tables of a DHT segment.
func (d *progressiveDecoder) readHuffman(p []byte) error {
	for len(p) > 0 {
		if len(p) < 17 || p[0]>>4 > 1 || p[0]&15 > 3 {
			return errEntropy
		}
		var counts [16]int
		total := 0
		for i := range counts {
			counts[i] = int(p[1+i])
			total += counts[i]
		}
		if total == 0 || total > 256 || len(p) < 17+total {
			return errEntropy
		}
		t, err := newHuffTable(counts, bytes.Clone(p[17:17+total]))
		if err != nil {
			return err
		}
		if p[0]>>4 == 0 {
			d.dc[p[0]&15] = t
		} else {
			d.ac[p[0]&15] = t
		}
		p = p[17+total:]
	}
	return nil
}

// readQuant reads the tables of a DQT segment, in zigzag order.
func (d *progressiveDecoder) readQuant(p []byte) error {
	for len(p) > 0 {
		wide, id := p[0]>>4, p[0]&15
		size := 64 * (1 + int(wide))
		if wide > 1 || id > 3 || len(p) < 1+size {
			return errEntropy
		}
		q := new([64]uint16)
		for k := range q {
			if wide == 1 {
				q[k] = uint16(be16(p[1+2*k:]))
			} else {
				q[k] = uint16(p[1+k])
			}
		}
		d.quant[id] = q
		p = p[1+size:]
	}
	return nil
}

// startScan reads an SOS segment's header, checks it against T.81's rules
// for progressive scans and decodes the scan.
func (d *progressiveDecoder) startScan(p []byte, data []byte) error {
	if d.comps == nil || len(p) < 1 {
		return errEntropy
	}
	n := int(p[0])
	if n < 1 || n > len(d.comps) || len(p) != 4+2*n {
		return errEntropy
	}
	band := p[1+2*n:]
	s := &scan{ss: int(band[0]), se: int(band[1]), ah: int(band[2] >> 4), al: int(band[2] & 15)}
	dcScan := s.ss == 0
	if s.se > 63 || s.ss > s.se || (dcScan && s.se != 0) || (!dcScan && n != 1) ||
		s.al > 13 || (s.ah != 0 && s.ah != s.al+1) {
		return errEntropy
	}
	for i := range n {
		ci := d.component(p[1+2*i])
		if ci < 0 {
			return errEntropy
		}
		td, ta := p[2+2*i]>>4, p[2+2*i]&15
		if td > 3 || ta > 3 {
			return errEntropy
		}
		dc, ac := d.dc[td], d.ac[ta]
		if (dcScan && s.ah == 0 && dc == nil) || (!dcScan && ac == nil) {
			return errEntropy
		}
		s.comps, s.dc, s.ac = append(s.comps, ci), append(s.dc, dc), append(s.ac, ac)
	}
	return d.decodeScan(s, data)
}

// component returns the index of the frame component with the id, or -1.
func (d *progressiveDecoder) component(id byte) int {
	for i, c := range d.comps {
		if c.id == id {
			return i
		}
	}
	return -1
}

// checkComplete checks, at EOI, that the frame had scans and tables.
func (d *progressiveDecoder) checkComplete() error {
	if d.comps == nil {
		return errEntropy
	}
	for _, c := range d.comps {
		if d.quant[c.quant] == nil {
			return errEntropy
		}
	}
	return nil
}

// scanEnd returns the offset of the marker that ends the entropy-coded data
// starting at pos: the first 0xff followed by neither a stuffed zero, a
// restart marker nor another 0xff.
func scanEnd(data []byte, pos int) int {
	for i := pos; i+1 < len(data); i++ {
		if data[i] != 0xff {
			continue
		}
		if m := data[i+1]; m != 0x00 && m != 0xff && (m < markerRST0 || m > markerRST7) {
			return i
		}
	}
	return len(data)
}

// strips returns strips of whole MCU rows made from the coefficients.
func (d *progressiveDecoder) strips() (*jpegStrips, bool) {
	hf, vf, ok := subsampleFactors(d.ratio)
	if !ok {
		return nil, false
	}

	width, height := scaledSide(d.width, d.keep), scaledSide(d.height, d.keep)
	mcuH := d.keep * d.vMax
	per := max(1, stripRows/mcuH)
	s := &jpegStrips{width: width, height: height, ratio: d.ratio, hFactor: hf, vFactor: vf}
	for m := 0; m < d.myy; m += per {
		top := m * mcuH
		s.strips = append(s.strips, pixelStrip{top: top, height: min(top+per*mcuH, height) - top})
	}
	s.make = func(k int, spare *image.YCbCr) (img *image.YCbCr) {
		defer func() {
			if recover() != nil {
				img = nil
			}
		}()
		return d.strip(k*per, min(k*per+per, d.myy), s.strips[k], spare)
	}
	return s, true
}

// strip transforms the blocks of MCU rows [m0, m1) into planes, in spare's
// buffers when it has them (samples the strip does not cover are never
// read, so they need not be cleared).
func (d *progressiveDecoder) strip(m0, m1 int, rows pixelStrip, spare *image.YCbCr) *image.YCbCr {
	y, cb, n := d.comps[0], d.comps[1], d.keep
	img := &image.YCbCr{
		YStride: n * y.across, CStride: n * cb.across,
		Rect: image.Rect(0, 0, scaledSide(d.width, n), rows.height),
	}
	img.SubsampleRatio = d.ratio
	if spare == nil {
		spare = &image.YCbCr{}
	}
	img.Y = reuseBytes(spare.Y, img.YStride*n*y.v*(m1-m0))
	img.Cb = reuseBytes(spare.Cb, img.CStride*n*cb.v*(m1-m0))
	img.Cr = reuseBytes(spare.Cr, len(img.Cb))

	for i, plane := range [][]byte{img.Y, img.Cb, img.Cr} {
		c := &d.comps[i]
		stride, quant := n*c.across, d.cornerQuant(d.quant[c.quant])
		for by := m0 * c.v; by < min(m1*c.v, c.tall); by++ {
			row := plane[(by-m0*c.v)*n*stride:]
			for bx := range c.wide {
				b := (by*c.across + bx) * n * n
				idctCorner(c.coef[b:b+n*n], quant, n, row[bx*n:], stride)
			}
		}
	}
	return img
}

// reuseBytes returns buf resliced to n bytes when it can hold them, or a new
// slice.
func reuseBytes(buf []byte, n int) []byte {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]byte, n)
}

// cornerQuant returns a quantisation table (zigzag order) for the kept
// corner, row by row, as factors.
func (d *progressiveDecoder) cornerQuant(q *[64]uint16) []float32 {
	out := make([]float32, d.keep*d.keep)
	for k, i := range d.slot {
		if i >= 0 {
			out[i] = float32(q[k])
		}
	}
	return out
}
