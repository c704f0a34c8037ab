package inference

import (
	"fmt"
	"math"
)

// gemm makes op a Gemm: alpha * A' * B' + beta * C, where A' and B' are A
// and B, transposed when transA or transB is set. A transposed B (the
// PyTorch Linear layout) is read in place, never copied.
func (op *headOp) gemm(n *onnxNode) error {
	transA, transB := attrInt(n, "transA", 0) != 0, attrInt(n, "transB", 0) != 0
	alpha, beta := attrFloat(n, "alpha", 1), attrFloat(n, "beta", 1)
	op.inputs = n.inputs
	if len(op.inputs) > 2 && op.inputs[2] == "" {
		op.inputs = op.inputs[:2]
	}

	op.forward = func(in []*tensor) (*tensor, error) {
		m, k, nn, err := gemmDims(in[0], in[1], transA, transB)
		if err != nil {
			return nil, err
		}
		a := rowMajor(in[0], transA)
		out := &tensor{shape: []int{m, nn}, data: matmulB(a, in[1].data, m, k, nn, transB)}
		return addScaledBias(out, alpha, beta, in[2:])
	}
	op.backward = func(in []*tensor, out, grad *tensor, need []bool) []*tensor {
		m, k, nn, _ := gemmDims(in[0], in[1], transA, transB)
		grads := make([]*tensor, len(in))
		if need[0] {
			da := matmulB(grad.data, in[1].data, m, nn, k, !transB)
			scale(da, alpha)
			grads[0] = fromMaybeTransposed(da, m, k, transA)
		}
		if need[1] {
			a := rowMajor(in[0], transA)
			db := matmul(transpose2D(a, m, k), grad.data, k, m, nn)
			scale(db, alpha)
			grads[1] = fromMaybeTransposed(db, k, nn, transB)
		}
		if len(in) > 2 && need[2] {
			dc := &tensor{shape: grad.shape, data: append([]float64(nil), grad.data...)}
			scale(dc.data, beta)
			grads[2] = unbroadcast(dc, in[2].shape)
		}
		return grads
	}
	return nil
}

// gemmDims checks the operands of a Gemm and returns its m, k and n.
func gemmDims(a, b *tensor, transA, transB bool) (m, k, n int, err error) {
	if len(a.shape) != 2 || len(b.shape) != 2 {
		return 0, 0, 0, fmt.Errorf("gemm of shapes %v and %v", a.shape, b.shape)
	}
	m, k = a.shape[0], a.shape[1]
	if transA {
		m, k = k, m
	}
	kb, n := b.shape[0], b.shape[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		return 0, 0, 0, fmt.Errorf("gemm of shapes %v and %v", a.shape, b.shape)
	}
	return m, k, n, checkHeadSize([]int{m, n})
}

// rowMajor returns a matrix's data, transposed when asked.
func rowMajor(t *tensor, trans bool) []float64 {
	if !trans {
		return t.data
	}
	return transpose2D(t.data, t.shape[0], t.shape[1])
}

// fromMaybeTransposed turns the gradient of a (rows x cols) product operand
// back into the layout of the stored matrix.
func fromMaybeTransposed(d []float64, rows, cols int, trans bool) *tensor {
	if !trans {
		return &tensor{shape: []int{rows, cols}, data: d}
	}
	return &tensor{shape: []int{cols, rows}, data: transpose2D(d, rows, cols)}
}

// matmulB multiplies a (m x k) by a k x n matrix stored in b, or, when
// bTransposed is set, by the transpose of an n x k matrix stored in b. The
// transposed case is a dot product of rows, read in place.
func matmulB(a, b []float64, m, k, n int, bTransposed bool) []float64 {
	if !bTransposed {
		return matmul(a, b, m, k, n)
	}
	out := make([]float64, m*n)
	for i := range m {
		row := a[i*k : (i+1)*k]
		for j := range n {
			col := b[j*k : (j+1)*k]
			sum := 0.0
			for p, v := range row {
				sum += v * col[p]
			}
			out[i*n+j] = sum
		}
	}
	return out
}

// addScaledBias returns alpha*out + beta*bias, the bias broadcast.
func addScaledBias(out *tensor, alpha, beta float64, bias []*tensor) (*tensor, error) {
	scale(out.data, alpha)
	if len(bias) == 0 {
		return out, nil
	}
	if _, err := broadcastShape(out.shape, bias[0].shape); err != nil {
		return nil, err
	}
	index := broadcastIndex(bias[0].shape, out.shape)
	for i := range out.data {
		out.data[i] += beta * bias[0].data[index[i]]
	}
	return out, nil
}

// scale multiplies every value by s.
func scale(v []float64, s float64) {
	if s == 1 {
		return
	}
	for i := range v {
		v[i] *= s
	}
}

// matmulDims reads the shapes of a MatMul whose second operand is a matrix:
// A (..., k) times B (k, n) gives (..., n), computed as (m x k) (k x n).
func matmulDims(a, b []int) (m, k, n int, out []int, err error) {
	if len(a) < 1 || len(b) != 2 || a[len(a)-1] != b[0] {
		return 0, 0, 0, nil, fmt.Errorf("matmul of shapes %v and %v", a, b)
	}
	k, n = b[0], b[1]
	if k == 0 {
		return 0, 0, 0, nil, fmt.Errorf("matmul of shapes %v and %v", a, b)
	}
	out = append(append([]int(nil), a[:len(a)-1]...), n)
	return shapeSize(a) / k, k, n, out, checkHeadSize(out)
}

func matmulForward(in []*tensor) (*tensor, error) {
	m, k, n, shape, err := matmulDims(in[0].shape, in[1].shape)
	if err != nil {
		return nil, err
	}
	return &tensor{shape: shape, data: matmul(in[0].data, in[1].data, m, k, n)}, nil
}

func matmulBackward(in []*tensor, out, grad *tensor, need []bool) []*tensor {
	m, k, n, _, _ := matmulDims(in[0].shape, in[1].shape)
	grads := make([]*tensor, 2)
	if need[0] {
		da := matmulB(grad.data, in[1].data, m, n, k, true)
		grads[0] = &tensor{shape: in[0].shape, data: da}
	}
	if need[1] {
		db := matmul(transpose2D(in[0].data, m, k), grad.data, k, m, n)
		grads[1] = &tensor{shape: in[1].shape, data: db}
	}
	return grads
}

// softmax makes op a Softmax. Before opset 13 the input is seen as a matrix
// split at axis (default 1); from opset 13 it works along axis (default -1).
func (op *headOp) softmax(n *onnxNode, opset int64) {
	legacy := opset < 13
	def := int64(-1)
	if legacy {
		def = 1
	}
	axis := int(attrInt(n, "axis", def))

	groups := func(shape []int) (outer, size, inner int) {
		a := axis
		if a < 0 {
			a += len(shape)
		}
		if legacy {
			return shapeSize(shape[:a]), shapeSize(shape[a:]), 1
		}
		return shapeSize(shape[:a]), shape[a], shapeSize(shape[a+1:])
	}
	op.forward = func(in []*tensor) (*tensor, error) {
		out := newTensor(in[0].shape)
		outer, size, inner := groups(in[0].shape)
		for o := range outer {
			for j := range inner {
				softmaxGroup(in[0].data, out.data, o*size*inner+j, size, inner)
			}
		}
		return out, nil
	}
	op.backward = func(in []*tensor, out, grad *tensor, _ []bool) []*tensor {
		dx := newTensor(in[0].shape)
		outer, size, inner := groups(in[0].shape)
		for o := range outer {
			for j := range inner {
				softmaxGroupGrad(out.data, grad.data, dx.data, o*size*inner+j, size, inner)
			}
		}
		return []*tensor{dx}
	}
}

// softmaxGroup writes the softmax of size values, stride apart from start.
func softmaxGroup(x, y []float64, start, size, stride int) {
	peak := math.Inf(-1)
	for i := range size {
		peak = max(peak, x[start+i*stride])
	}
	sum := 0.0
	for i := range size {
		e := math.Exp(x[start+i*stride] - peak)
		y[start+i*stride] = e
		sum += e
	}
	for i := range size {
		y[start+i*stride] /= sum
	}
}

// softmaxGroupGrad writes dx = y * (g - sum(g*y)) for one softmax group.
func softmaxGroupGrad(y, g, dx []float64, start, size, stride int) {
	dot := 0.0
	for i := range size {
		dot += g[start+i*stride] * y[start+i*stride]
	}
	for i := range size {
		k := start + i*stride
		dx[k] = y[k] * (g[k] - dot)
	}
}
