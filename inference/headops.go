package inference

import (
	"fmt"
	"math"
	"slices"
)

// headOp is one node of the Grad-CAM head, compiled for replay in Go.
type headOp struct {
	// label names the node in errors: its op type and name.
	label string
	// inputs are the float tensors the op reads when it runs.
	inputs []string
	output string
	// forward computes the output from the inputs.
	forward func(in []*tensor) (*tensor, error)
	// backward returns the gradient of each input from the gradient of the
	// output. need says which inputs want one; an op may leave the others
	// nil, which saves the costly gradient of a large weight matrix.
	backward func(in []*tensor, out, grad *tensor, need []bool) []*tensor
}

// unsupportedOpError reports a head operator DermQ cannot replay.
type unsupportedOpError struct{ op string }

func (e *unsupportedOpError) Error() string {
	return fmt.Sprintf("operator %s after the global pooling is not supported", e.op)
}

// compileOp turns one node of the head into a headOp.
func compileOp(g *onnxGraph, n *onnxNode, opset int64) (*headOp, error) {
	if n.domain != "" && n.domain != "ai.onnx" {
		return nil, &unsupportedOpError{op: n.domain + "." + n.opType}
	}
	if len(n.inputs) < minInputs(n.opType) || len(n.outputs) == 0 {
		return nil, fmt.Errorf("node %s %q has %d inputs and %d outputs", n.opType, n.name,
			len(n.inputs), len(n.outputs))
	}
	op := &headOp{label: n.opType + " " + n.name, inputs: n.inputs[:1], output: n.outputs[0]}
	if f, ok := unaryFuncs(n); ok {
		op.elementwise(f)
		return op, nil
	}

	var err error
	switch n.opType {
	case "Add", "Sub", "Mul", "Div":
		op.inputs = n.inputs
		op.binary(n.opType)
	case "Gemm":
		err = op.gemm(n)
	case "MatMul":
		op.inputs = n.inputs
		op.forward, op.backward = matmulForward, matmulBackward
	case "Clip":
		err = op.clip(g, n, opset)
	case "BatchNormalization":
		err = op.batchNorm(g, n)
	case "Softmax":
		op.softmax(n, opset)
	case "Transpose":
		op.transpose(n)
	case "Flatten", "Reshape", "Squeeze", "Unsqueeze":
		err = op.reshape(g, n, opset)
	default:
		return nil, &unsupportedOpError{op: n.opType}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", op.label, err)
	}
	return op, nil
}

// minInputs is the number of inputs an operator cannot do without.
func minInputs(opType string) int {
	switch opType {
	case "Add", "Sub", "Mul", "Div", "Gemm", "MatMul", "Reshape":
		return 2
	case "BatchNormalization":
		return 5
	}
	return 1
}

// elementwise makes op apply f to every element.
func (op *headOp) elementwise(f unaryFunc) {
	op.forward = func(in []*tensor) (*tensor, error) {
		out := newTensor(in[0].shape)
		for i, x := range in[0].data {
			out.data[i] = f.f(x)
		}
		return out, nil
	}
	op.backward = func(in []*tensor, out, grad *tensor, _ []bool) []*tensor {
		dx := newTensor(in[0].shape)
		for i, x := range in[0].data {
			dx.data[i] = grad.data[i] * f.df(x, out.data[i])
		}
		return []*tensor{dx}
	}
}

// binary makes op one of the broadcasting Add, Sub, Mul and Div.
func (op *headOp) binary(kind string) {
	op.forward = func(in []*tensor) (*tensor, error) {
		shape, err := broadcastShape(in[0].shape, in[1].shape)
		if err != nil {
			return nil, err
		}
		a, b := broadcastIndex(in[0].shape, shape), broadcastIndex(in[1].shape, shape)
		out := newTensor(shape)
		for i := range out.data {
			out.data[i] = applyBinary(kind, in[0].data[a[i]], in[1].data[b[i]])
		}
		return out, nil
	}
	op.backward = func(in []*tensor, out, grad *tensor, _ []bool) []*tensor {
		a, b := broadcastIndex(in[0].shape, out.shape), broadcastIndex(in[1].shape, out.shape)
		da, db := newTensor(out.shape), newTensor(out.shape)
		for i, g := range grad.data {
			x, y := in[0].data[a[i]], in[1].data[b[i]]
			da.data[i], db.data[i] = binaryGrads(kind, x, y, g)
		}
		return []*tensor{unbroadcast(da, in[0].shape), unbroadcast(db, in[1].shape)}
	}
}

// applyBinary computes x (kind) y.
func applyBinary(kind string, x, y float64) float64 {
	switch kind {
	case "Add":
		return x + y
	case "Sub":
		return x - y
	case "Mul":
		return x * y
	}
	return x / y
}

// binaryGrads returns the gradients of x (kind) y for an output gradient g.
func binaryGrads(kind string, x, y, g float64) (float64, float64) {
	switch kind {
	case "Add":
		return g, g
	case "Sub":
		return g, -g
	case "Mul":
		return g * y, g * x
	}
	return g / y, -g * x / (y * y)
}

// clip makes op a Clip, with bounds from attributes (opset < 11) or
// constant inputs.
func (op *headOp) clip(g *onnxGraph, n *onnxNode, opset int64) error {
	lo, hi := math.Inf(-1), math.Inf(1)
	if opset < 11 {
		lo, hi = attrFloat(n, "min", lo), attrFloat(n, "max", hi)
	}
	for i, bound := range []*float64{&lo, &hi} {
		if len(n.inputs) <= i+1 || n.inputs[i+1] == "" {
			continue
		}
		v, err := constFloats(g, n.inputs[i+1])
		if err != nil {
			return err
		}
		*bound = v[0]
	}

	op.elementwise(unaryFunc{
		f: func(x float64) float64 { return min(hi, max(lo, x)) },
		df: func(x, _ float64) float64 {
			if x > lo && x < hi {
				return 1
			}
			return 0
		},
	})
	return nil
}

// constFloats reads a constant float tensor of the graph.
func constFloats(g *onnxGraph, name string) ([]float64, error) {
	t := g.constant(name)
	if t == nil {
		return nil, fmt.Errorf("input %q is not a constant", name)
	}
	return t.floats()
}

// constInts reads a constant integer tensor of the graph.
func constInts(g *onnxGraph, name string) ([]int64, error) {
	t := g.constant(name)
	if t == nil {
		return nil, fmt.Errorf("input %q is not a constant", name)
	}
	return t.ints()
}

// batchNorm makes op an inference-mode BatchNormalization over axis 1.
func (op *headOp) batchNorm(g *onnxGraph, n *onnxNode) error {
	var p [4][]float64
	for i := range p {
		v, err := constFloats(g, n.inputs[i+1])
		if err != nil {
			return err
		}
		p[i] = v
	}
	eps := attrFloat(n, "epsilon", 1e-5)
	scale := make([]float64, len(p[0]))
	shift := make([]float64, len(p[0]))
	for c := range scale {
		scale[c] = p[0][c] / math.Sqrt(p[3][c]+eps)
		shift[c] = p[1][c] - p[2][c]*scale[c]
	}

	channel := func(shape []int, i int) int {
		return i / shapeSize(shape[min(2, len(shape)):]) % shape[1]
	}
	op.forward = func(in []*tensor) (*tensor, error) {
		x := in[0]
		if len(x.shape) < 2 || x.shape[1] != len(scale) {
			return nil, fmt.Errorf("batch norm of %d channels on shape %v", len(scale), x.shape)
		}
		out := newTensor(x.shape)
		for i, v := range x.data {
			c := channel(x.shape, i)
			out.data[i] = v*scale[c] + shift[c]
		}
		return out, nil
	}
	op.backward = func(in []*tensor, out, grad *tensor, _ []bool) []*tensor {
		dx := newTensor(in[0].shape)
		for i, g := range grad.data {
			dx.data[i] = g * scale[channel(in[0].shape, i)]
		}
		return []*tensor{dx}
	}
	return nil
}

// transpose makes op a Transpose; without perm it reverses the axes.
func (op *headOp) transpose(n *onnxNode) {
	attr := n.attrs["perm"].ints
	perm := func(rank int) []int {
		p := make([]int, rank)
		for i := range p {
			p[i] = rank - 1 - i
		}
		if len(attr) == rank {
			for i, v := range attr {
				p[i] = int(v)
			}
		}
		return p
	}
	op.forward = func(in []*tensor) (*tensor, error) {
		p := perm(len(in[0].shape))
		if !isPermutation(p) {
			return nil, fmt.Errorf("perm %v is not a permutation", p)
		}
		return in[0].transposed(p), nil
	}
	op.backward = func(in []*tensor, out, grad *tensor, _ []bool) []*tensor {
		p := perm(len(in[0].shape))
		inverse := make([]int, len(p))
		for i, v := range p {
			inverse[v] = i
		}
		return []*tensor{grad.transposed(inverse)}
	}
}

// isPermutation reports whether p holds each of 0..len(p)-1 once.
func isPermutation(p []int) bool {
	seen := make([]bool, len(p))
	for _, v := range p {
		if v < 0 || v >= len(p) || seen[v] {
			return false
		}
		seen[v] = true
	}
	return true
}

// reshapeBackward gives a reshaping op's input gradient.
func reshapeBackward(in []*tensor, out, grad *tensor, _ []bool) []*tensor {
	return []*tensor{grad.reshaped(in[0].shape)}
}

// reshape makes op one of the ops that only change the shape.
func (op *headOp) reshape(g *onnxGraph, n *onnxNode, opset int64) error {
	var target func(shape []int) ([]int, error)
	var err error
	switch n.opType {
	case "Flatten":
		target = flattenShape(int(attrInt(n, "axis", 1)))
	case "Reshape":
		target, err = reshapeShape(g, n)
	case "Squeeze", "Unsqueeze":
		target, err = squeezeShape(g, n, opset)
	}
	if err != nil {
		return err
	}

	op.forward = func(in []*tensor) (*tensor, error) {
		shape, err := target(in[0].shape)
		if err != nil {
			return nil, err
		}
		if shapeSize(shape) != len(in[0].data) {
			return nil, fmt.Errorf("cannot reshape %v to %v", in[0].shape, shape)
		}
		return in[0].reshaped(shape), nil
	}
	op.backward = reshapeBackward
	return nil
}

// flattenShape returns Flatten's output shape function.
func flattenShape(axis int) func([]int) ([]int, error) {
	return func(shape []int) ([]int, error) {
		a := axis
		if a < 0 {
			a += len(shape)
		}
		if a < 0 || a > len(shape) {
			return nil, fmt.Errorf("flatten axis %d of shape %v", axis, shape)
		}
		return []int{shapeSize(shape[:a]), shapeSize(shape[a:])}, nil
	}
}

// reshapeShape returns Reshape's output shape function; the target shape
// must be a constant.
func reshapeShape(g *onnxGraph, n *onnxNode) (func([]int) ([]int, error), error) {
	spec, err := constInts(g, n.inputs[1])
	if err != nil {
		return nil, err
	}
	return func(shape []int) ([]int, error) {
		out := make([]int, len(spec))
		infer := -1
		for i, d := range spec {
			switch {
			case d == 0 && i < len(shape):
				out[i] = shape[i]
			case d == -1:
				infer, out[i] = i, 1
			default:
				out[i] = int(d)
			}
		}
		if infer >= 0 {
			out[infer] = shapeSize(shape) / max(1, shapeSize(out))
		}
		return out, nil
	}, nil
}

// squeezeShape returns the output shape function of Squeeze or Unsqueeze,
// with axes from an attribute (opset < 13) or a constant input.
func squeezeShape(g *onnxGraph, n *onnxNode, opset int64) (func([]int) ([]int, error), error) {
	axes := n.attrs["axes"].ints
	if opset >= 13 && len(n.inputs) > 1 && n.inputs[1] != "" {
		var err error
		if axes, err = constInts(g, n.inputs[1]); err != nil {
			return nil, err
		}
	}
	if n.opType == "Unsqueeze" {
		return func(shape []int) ([]int, error) { return unsqueeze(shape, axes) }, nil
	}
	return func(shape []int) ([]int, error) { return squeeze(shape, axes), nil }, nil
}

// squeeze drops the given axes, or every axis of size 1 when axes is empty.
func squeeze(shape []int, axes []int64) []int {
	var out []int
	for i, d := range shape {
		drop := len(axes) == 0 && d == 1
		for _, a := range axes {
			if int(a) == i || int(a)+len(shape) == i {
				drop = true
			}
		}
		if !drop {
			out = append(out, d)
		}
	}
	return out
}

// unsqueeze inserts axes of size 1 at the given output positions.
func unsqueeze(shape []int, axes []int64) ([]int, error) {
	rank := len(shape) + len(axes)
	ones := make([]bool, rank)
	for _, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		if a < 0 || a >= int64(rank) || ones[a] {
			return nil, fmt.Errorf("unsqueeze axes %v of shape %v", axes, shape)
		}
		ones[a] = true
	}
	out := make([]int, 0, rank)
	rest := slices.Clone(shape)
	for i := range rank {
		if ones[i] {
			out = append(out, 1)
			continue
		}
		out = append(out, rest[0])
		rest = rest[1:]
	}
	return out, nil
}
