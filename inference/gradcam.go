package inference

import (
	"fmt"
)

// activation is the Grad-CAM target tensor as ONNX Runtime returned it: a
// 4-D float tensor with batch 1.
type activation struct {
	shape []int64
	data  []float32
}

// camGeometry locates channels and the two spatial axes in an activation.
type camGeometry struct {
	channels, height, width int
	// strides of the channel, row and column axes in the flat data.
	cStride, hStride, wStride int
}

// geometry reads the layout of a, given the pooling's channel axis.
func (h *camHead) geometry(a activation) (camGeometry, error) {
	if len(a.shape) != 4 || a.shape[0] != 1 || len(a.data) != int(shapeSize64(a.shape)) ||
		len(a.data) == 0 {
		return camGeometry{}, fmt.Errorf("target %q has shape %v, want a 4-D batch of one",
			h.pool.input, a.shape)
	}
	dims := []int{int(a.shape[0]), int(a.shape[1]), int(a.shape[2]), int(a.shape[3])}
	strides := stridesOf(dims)

	spatial := []int{2, 3}
	if h.pool.channelAxis == 3 {
		spatial = []int{1, 2}
	}
	c, y, x := h.pool.channelAxis, spatial[0], spatial[1]
	return camGeometry{
		channels: dims[c], height: dims[y], width: dims[x],
		cStride: strides[c], hStride: strides[y], wStride: strides[x],
	}, nil
}

// shapeSize64 is the number of elements of an ONNX shape.
func shapeSize64(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// camResult is one Grad-CAM computation.
type camResult struct {
	// raw is the map before normalisation, rows of columns.
	raw [][]float64
	// scores are the class scores the head replay computed.
	scores []float64
}

// compute returns the Grad-CAM map of class. With p the spatial mean of A,
// d score/d A[k,y,x] = (d score/d p[k]) / (H*W) at every position, so the
// weight of channel k (the spatial mean of that gradient) is exactly
// (d score/d p[k]) / (H*W); the map is ReLU(sum over k of weight_k * A_k).
// A class below 0 means the highest score.
func (h *camHead) compute(a activation, class int) (*camResult, error) {
	geo, err := h.geometry(a)
	if err != nil {
		return nil, err
	}

	values, err := h.forward(h.pooled(a, geo))
	if err != nil {
		return nil, err
	}
	if values[h.scores] == nil {
		return nil, fmt.Errorf("the class scores %q do not depend on the pooling", h.scores)
	}
	scores := values[h.scores].data
	if class < 0 {
		class = argmax(scores)
	}
	if class >= len(scores) {
		return nil, fmt.Errorf("class %d is out of range: the head gives %d scores",
			class, len(scores))
	}

	grad := h.backward(values, class).data
	weights := make([]float64, geo.channels)
	for k := range weights {
		weights[k] = grad[k] / float64(geo.height*geo.width)
	}
	return &camResult{raw: weightedMap(a.data, geo, weights), scores: scores}, nil
}

// pooled returns the spatial mean of a in the shape the pooling node gives.
func (h *camHead) pooled(a activation, geo camGeometry) *tensor {
	shape := []int{1, geo.channels, 1, 1}
	switch {
	case !h.pool.keepDims:
		shape = []int{1, geo.channels}
	case h.pool.channelAxis == 3:
		shape = []int{1, 1, 1, geo.channels}
	}

	p := newTensor(shape)
	n := float64(geo.height * geo.width)
	for k := range geo.channels {
		sum := 0.0
		for y := range geo.height {
			for x := range geo.width {
				sum += float64(a.data[k*geo.cStride+y*geo.hStride+x*geo.wStride])
			}
		}
		p.data[k] = sum / n
	}
	return p
}

// weightedMap returns ReLU(sum over k of weights[k] * A_k).
func weightedMap(a []float32, geo camGeometry, weights []float64) [][]float64 {
	out := make([][]float64, geo.height)
	for y := range out {
		out[y] = make([]float64, geo.width)
		for x := range out[y] {
			sum := 0.0
			base := y*geo.hStride + x*geo.wStride
			for k, w := range weights {
				sum += w * float64(a[base+k*geo.cStride])
			}
			out[y][x] = max(0, sum)
		}
	}
	return out
}

// normalizeCAM scales a map to 0..1 by its minimum and maximum. A flat map
// becomes all zeros.
func normalizeCAM(raw [][]float64) [][]float32 {
	lo, hi := raw[0][0], raw[0][0]
	for _, row := range raw {
		for _, v := range row {
			lo, hi = min(lo, v), max(hi, v)
		}
	}

	out := make([][]float32, len(raw))
	for y, row := range raw {
		out[y] = make([]float32, len(row))
		if hi <= lo {
			continue
		}
		for x, v := range row {
			out[y][x] = float32((v - lo) / (hi - lo))
		}
	}
	return out
}

// argmax returns the index of the largest value.
func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
