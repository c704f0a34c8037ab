package inference

// scan is one progressive scan: its components (indexes into the frame's),
// its band of coefficients in zigzag order [ss, se], and the bit position
// al it codes (ah is the one it refines, 0 for a first pass).
type scan struct {
	comps          []int
	dc, ac         []*huffTable
	ss, se, ah, al int
}

// coefBlock is where one block's coefficients are kept: vals holds those
// the decoder keeps (see progressiveDecoder.slot), and bit k of nonZero
// says whether the coefficient at zigzag index k, not kept, is non-zero,
// which refinement scans need to know.
type coefBlock struct {
	vals    []int16
	nonZero *uint64
}

// blockCoder decodes one block's part of a scan; pred is the component's DC
// predictor.
type blockCoder func(r *bitReader, s *scan, b coefBlock, pred *int32, dc, ac *huffTable) error

// coder picks the block decoder for the scan's kind (T.81 G.1.2).
func (d *progressiveDecoder) coder(s *scan) blockCoder {
	switch {
	case s.ss == 0 && s.ah == 0:
		return decodeDCFirst
	case s.ss == 0:
		return decodeDCRefine
	case s.ah == 0:
		return d.decodeACFirst
	}
	return d.decodeACRefine
}

// decodeScan decodes the scan's entropy-coded data into the coefficients.
// An interleaved scan (DC only) visits MCUs of the padded grid; a scan of
// one component visits that component's blocks that hold pixels, each its
// own MCU.
func (d *progressiveDecoder) decodeScan(s *scan, data []byte) error {
	r := &bitReader{data: data}
	code := d.coder(s)
	d.eobrun = 0
	var preds [4]int32

	visit := func(i, bx, by int) error {
		c := &d.comps[s.comps[i]]
		return code(r, s, d.block(c, by*c.across+bx), &preds[i], s.dc[i], s.ac[i])
	}
	mcus, across := d.mxx*d.myy, d.mxx
	if len(s.comps) == 1 {
		c := d.comps[s.comps[0]]
		mcus, across = c.wide*c.tall, c.wide
	}

	for m := range mcus {
		if d.restart > 0 && m > 0 && m%d.restart == 0 {
			if err := r.restart(); err != nil {
				return err
			}
			preds, d.eobrun = [4]int32{}, 0
		}
		mx, my := m%across, m/across
		if len(s.comps) == 1 {
			if err := visit(0, mx, my); err != nil {
				return err
			}
			continue
		}
		for i, ci := range s.comps {
			c := d.comps[ci]
			for j := range c.h * c.v {
				if err := visit(i, mx*c.h+j%c.h, my*c.v+j/c.h); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// decodeDCFirst reads a DC difference and stores the DC value's high bits.
// The DC coefficient is always kept, in slot 0.
func decodeDCFirst(r *bitReader, s *scan, b coefBlock, pred *int32, dc, _ *huffTable) error {
	t, err := dc.decode(r)
	if err != nil || t > 15 {
		return errEntropy
	}
	diff, err := r.signed(uint(t))
	if err != nil {
		return err
	}
	*pred += diff
	v, err := coefficient(*pred << s.al)
	b.vals[0] = v
	return err
}

// coefficient narrows a decoded coefficient to the 16 bits DermQ keeps. A
// valid 8-bit JPEG's coefficients fit in 12; one that does not fit in 16
// comes from corrupt data, which is left to Go's decoder.
func coefficient(v int32) (int16, error) {
	if v < -1<<15 || v >= 1<<15 {
		return 0, errEntropy
	}
	return int16(v), nil
}

// decodeDCRefine reads one more bit of the DC value.
func decodeDCRefine(r *bitReader, s *scan, b coefBlock, _ *int32, _, _ *huffTable) error {
	bit, err := r.bits(1)
	if bit != 0 {
		b.vals[0] |= 1 << s.al
	}
	return err
}

// set stores v as the coefficient at zigzag index k, or only that it is
// non-zero when the decoder does not keep it.
func (d *progressiveDecoder) set(b coefBlock, k int, v int16) {
	if i := d.slot[k]; i >= 0 {
		b.vals[i] = v
	} else if v != 0 {
		*b.nonZero |= 1 << k
	}
}

// decodeACFirst reads the high bits of the band's AC coefficients, or
// counts down an end-of-band run.
func (d *progressiveDecoder) decodeACFirst(r *bitReader, s *scan, b coefBlock, _ *int32,
	_, ac *huffTable) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	for k := s.ss; k <= s.se; k++ {
		rs, err := ac.decode(r)
		if err != nil {
			return err
		}
		run, size := int(rs>>4), uint(rs&15)
		if size == 0 {
			if run < 15 {
				return d.readEOBRun(r, run, 1)
			}
			k += 15
			continue
		}
		k += run
		if k > s.se {
			return errEntropy
		}
		v, err := r.signed(size)
		if err != nil {
			return err
		}
		c, err := coefficient(v << s.al)
		if err != nil {
			return err
		}
		d.set(b, k, c)
	}
	return nil
}

// readEOBRun reads the length of an end-of-band run of 2^run + extra
// blocks, this one included, and keeps the count still to skip after
// subtracting done.
func (d *progressiveDecoder) readEOBRun(r *bitReader, run, done int) error {
	extra, err := r.bits(uint(run))
	d.eobrun = 1<<run + int(extra) - done
	return err
}

// decodeACRefine reads one more bit of the band's AC coefficients: a
// correction bit for each coefficient already non-zero and the sign of each
// that becomes non-zero (T.81 G.1.2.3).
func (d *progressiveDecoder) decodeACRefine(r *bitReader, s *scan, b coefBlock, _ *int32,
	_, ac *huffTable) error {
	k := s.ss
	if d.eobrun == 0 {
		for ; k <= s.se; k++ {
			rs, err := ac.decode(r)
			if err != nil {
				return err
			}
			run, size := int(rs>>4), rs&15
			var set int16
			switch {
			case size == 1:
				bit, err := r.bits(1)
				if err != nil {
					return err
				}
				set = int16(1) << s.al
				if bit == 0 {
					set = -set
				}
			case size != 0:
				return errEntropy
			case run < 15:
				if err := d.readEOBRun(r, run, 0); err != nil {
					return err
				}
			}
			if d.eobrun > 0 {
				break
			}
			if k, err = d.refineUntil(r, s, b, k, run); err != nil {
				return err
			}
			if k > s.se {
				return errEntropy
			}
			d.set(b, k, set)
		}
	}
	if d.eobrun > 0 {
		if _, err := d.refineUntil(r, s, b, k, -1); err != nil {
			return err
		}
		d.eobrun--
	}
	return nil
}

// refineUntil reads the correction bits of the non-zero coefficients from
// zigzag index k on, passing over zeros until it reaches the one after
// zeros more, and returns that index. With zeros -1 it goes to the band's
// end. The bits of coefficients not kept are read and dropped.
func (d *progressiveDecoder) refineUntil(r *bitReader, s *scan, b coefBlock, k,
	zeros int) (int, error) {
	for ; k <= s.se; k++ {
		i := d.slot[k]
		var c int16
		if i >= 0 {
			c = b.vals[i]
		} else if *b.nonZero&(1<<k) != 0 {
			c = 1
		}
		if c == 0 {
			if zeros == 0 {
				return k, nil
			}
			zeros--
			continue
		}
		bit, err := r.bits(1)
		if err != nil {
			return k, err
		}
		if i >= 0 && bit != 0 && c&(1<<s.al) == 0 {
			step := int32(1) << s.al
			if c < 0 {
				step = -step
			}
			if b.vals[i], err = coefficient(int32(c) + step); err != nil {
				return k, err
			}
		}
	}
	return k, nil
}
