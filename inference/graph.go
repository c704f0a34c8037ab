package inference

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// graphInfo is what DermQ can tell about a model from its graph alone.
type graphInfo struct {
	// input is the image input; initializers listed as inputs are skipped.
	input onnxValueInfo
	// layout is LayoutNCHW, LayoutNHWC, or "" when the shape cannot tell.
	layout string
	// width, height and channels come from the input shape; 0 when dynamic.
	width, height, channels int
	// output is the output holding the class scores.
	output onnxValueInfo
	// outputNames lists every graph output.
	outputNames []string
	// softmax is the input of a Softmax that produces output, or "".
	softmax string
	// sigmoid is the input of a Sigmoid that produces output, or "": the
	// model gives each class an independent probability.
	sigmoid string
	// pool is the last global average pooling, or nil.
	pool *globalPool
	// quantized names an operator or initializer that shows the model is
	// quantized, or is "".
	quantized string
}

// globalPool is a node that averages a 4-D activation over its two spatial
// axes: GlobalAveragePool, or ReduceMean over the spatial axes.
type globalPool struct {
	// node is the index of the pooling node in the graph.
	node int
	// input is the 4-D activation; output is the pooled tensor.
	input, output string
	// channelAxis is the axis of input holding the channels (1 or 3).
	channelAxis int
	// keepDims is false when the pooling drops the spatial axes.
	keepDims bool
}

// inspectGraph reads the input, output, final Softmax and last global
// pooling of a model. output names the output to read; "" picks the first.
func inspectGraph(m *onnxModel, output string) (*graphInfo, error) {
	g := &m.graph
	info := &graphInfo{}

	input, err := g.imageInput()
	if err != nil {
		return nil, err
	}
	info.input = input
	if err := checkInputType(input); err != nil {
		return nil, err
	}
	info.readInputShape()

	if len(g.outputs) == 0 {
		return nil, errors.New("the graph has no outputs")
	}
	info.output = g.outputs[0]
	for _, o := range g.outputs {
		info.outputNames = append(info.outputNames, o.name)
	}
	if output != "" {
		i := slices.IndexFunc(g.outputs, func(o onnxValueInfo) bool { return o.name == output })
		if i < 0 {
			return nil, manifestError("output.name", "the graph has no output %q", output)
		}
		info.output = g.outputs[i]
	}
	switch op, in := g.finalActivation(info.output.name); op {
	case opSoftmax:
		info.softmax = in
	case opSigmoid:
		info.sigmoid = in
	}
	info.pool = g.lastGlobalPool(m.opset)
	info.quantized = g.quantizedMark()
	return info, nil
}

// imageInput returns the one graph input that is not an initializer.
func (g *onnxGraph) imageInput() (onnxValueInfo, error) {
	var inputs []onnxValueInfo
	for _, in := range g.inputs {
		if _, ok := g.initializers[in.name]; !ok {
			inputs = append(inputs, in)
		}
	}
	if len(inputs) != 1 {
		names := make([]string, len(inputs))
		for i, in := range inputs {
			names[i] = in.name
		}
		return onnxValueInfo{}, fmt.Errorf(
			"the graph has %d inputs (%s): DermQ needs exactly one image input",
			len(inputs), strings.Join(names, ", "))
	}
	return inputs[0], nil
}

// checkInputType refuses inputs DermQ cannot feed: other element types than
// float32, and a fixed batch larger than one.
func checkInputType(in onnxValueInfo) error {
	if in.elemType != 0 && in.elemType != onnxFloat {
		return fmt.Errorf("the model input %q has ONNX element type %d; DermQ feeds "+
			"float32 (type 1): export the model in float32", in.name, in.elemType)
	}
	if len(in.shape) > 0 && in.shape[0] > 1 {
		return fmt.Errorf("the model input %q has a fixed batch of %d; DermQ feeds one "+
			"image: export with batch 1 or a dynamic batch", in.name, in.shape[0])
	}
	return nil
}

// readInputShape guesses layout, size and channels from a 4-D input shape.
// A channel axis is one of size 1 or 3 where the other candidate is not.
func (info *graphInfo) readInputShape() {
	s := info.input.shape
	if len(s) != 4 {
		return
	}
	isChannels := func(d int64) bool { return d == 1 || d == 3 }

	switch {
	case isChannels(s[1]) && !isChannels(s[3]):
		info.layout = LayoutNCHW
		info.channels, info.height, info.width = int(s[1]), dimSize(s[2]), dimSize(s[3])
	case isChannels(s[3]) && !isChannels(s[1]):
		info.layout = LayoutNHWC
		info.height, info.width, info.channels = dimSize(s[1]), dimSize(s[2]), int(s[3])
	}
}

// dimSize turns an unknown (-1) dimension into 0.
func dimSize(d int64) int {
	if d < 0 {
		return 0
	}
	return int(d)
}

// producer returns the index of the node that outputs name, or -1. The
// first call indexes every node output; the graph is not changed after it
// is read, and is only used by one goroutine.
func (g *onnxGraph) producer(name string) int {
	if g.producers == nil {
		g.producers = make(map[string]int, len(g.nodes))
		for i, n := range g.nodes {
			for _, out := range n.outputs {
				g.producers[out] = i
			}
		}
	}
	if i, ok := g.producers[name]; ok {
		return i
	}
	return -1
}

// Final activations DermQ recognises on a model's output.
const (
	opSoftmax = "Softmax"
	opSigmoid = "Sigmoid"
)

// finalActivation returns the Softmax or Sigmoid that makes output and its
// input, looking through Identity nodes, or two empty strings when output
// is made by anything else.
func (g *onnxGraph) finalActivation(output string) (op, input string) {
	name := output
	for {
		i := g.producer(name)
		if i < 0 {
			return "", ""
		}
		n := &g.nodes[i]
		if len(n.inputs) == 0 {
			return "", ""
		}
		switch n.opType {
		case "Identity":
			name = n.inputs[0]
		case opSoftmax, opSigmoid:
			return n.opType, n.inputs[0]
		default:
			return "", ""
		}
	}
}

// classScores returns the tensor Grad-CAM explains, the input of a final
// Softmax or Sigmoid or else the output itself, and that final activation
// ("" for none).
func (info *graphInfo) classScores() (scores, final string) {
	switch {
	case info.softmax != "":
		return info.softmax, opSoftmax
	case info.sigmoid != "":
		return info.sigmoid, opSigmoid
	}
	return info.output.name, ""
}

// lastGlobalPool finds the last node, in graph order, that averages a 4-D
// activation over its spatial axes.
func (g *onnxGraph) lastGlobalPool(opset int64) *globalPool {
	for i := len(g.nodes) - 1; i >= 0; i-- {
		if p := g.asGlobalPool(i, opset); p != nil {
			return p
		}
	}
	return nil
}

// asGlobalPool describes node i as a global pooling, or returns nil.
func (g *onnxGraph) asGlobalPool(i int, opset int64) *globalPool {
	n := &g.nodes[i]
	if n.domain != "" && n.domain != "ai.onnx" || len(n.inputs) == 0 || len(n.outputs) == 0 {
		return nil
	}
	switch n.opType {
	case "GlobalAveragePool":
		return &globalPool{node: i, input: n.inputs[0], output: n.outputs[0],
			channelAxis: 1, keepDims: true}
	case "ReduceMean":
		axes := g.reduceAxes(n, opset)
		channel, ok := spatialPair(axes)
		if !ok {
			return nil
		}
		keep := true
		if a, ok := n.attrs["keepdims"]; ok {
			keep = a.i != 0
		}
		return &globalPool{node: i, input: n.inputs[0], output: n.outputs[0],
			channelAxis: channel, keepDims: keep}
	}
	return nil
}

// reduceAxes returns the axes of a ReduceMean: an attribute before opset 18,
// a constant second input from opset 18.
func (g *onnxGraph) reduceAxes(n *onnxNode, opset int64) []int64 {
	if a, ok := n.attrs["axes"]; ok {
		return a.ints
	}
	if opset < 18 || len(n.inputs) < 2 {
		return nil
	}
	t := g.constant(n.inputs[1])
	if t == nil {
		return nil
	}
	axes, err := t.ints()
	if err != nil {
		return nil
	}
	return axes
}

// spatialPair reports whether axes are two spatial axes of a rank-4 tensor
// whose batch axis is 0, and returns the remaining (channel) axis.
func spatialPair(axes []int64) (int, bool) {
	if len(axes) != 2 {
		return 0, false
	}
	seen := [4]bool{}
	for _, a := range axes {
		if a < 0 {
			a += 4
		}
		if a < 1 || a > 3 {
			return 0, false
		}
		seen[a] = true
	}
	switch {
	case seen[2] && seen[3]:
		return 1, true
	case seen[1] && seen[2]:
		return 3, true
	}
	return 0, false
}

// constant returns the tensor of an initializer or Constant node, or nil.
func (g *onnxGraph) constant(name string) *onnxTensor {
	if t, ok := g.initializers[name]; ok {
		return t
	}
	i := g.producer(name)
	if i < 0 || g.nodes[i].opType != "Constant" {
		return nil
	}
	if a, ok := g.nodes[i].attrs["value"]; ok && a.t != nil {
		return a.t
	}
	return constantFromScalars(g.nodes[i].attrs, name)
}

// constantFromScalars builds the tensor of a Constant node that uses a
// value_float(s) or value_int(s) attribute.
func constantFromScalars(attrs map[string]onnxAttr, name string) *onnxTensor {
	if a, ok := attrs["value_float"]; ok {
		return &onnxTensor{name: name, dataType: onnxFloat, floatData: []float32{a.f}}
	}
	if a, ok := attrs["value_floats"]; ok {
		return &onnxTensor{name: name, dataType: onnxFloat, floatData: a.floats,
			dims: []int64{int64(len(a.floats))}}
	}
	if a, ok := attrs["value_int"]; ok {
		return &onnxTensor{name: name, dataType: onnxInt64, int64Data: []int64{a.i}}
	}
	if a, ok := attrs["value_ints"]; ok {
		return &onnxTensor{name: name, dataType: onnxInt64, int64Data: a.ints,
			dims: []int64{int64(len(a.ints))}}
	}
	return nil
}

// quantizedOps are operators that only appear in quantized graphs.
var quantizedOps = []string{
	"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
	"MatMulInteger", "ConvInteger",
}

// quantizedMark names the first operator or initializer that shows the
// model is quantized, or returns "".
func (g *onnxGraph) quantizedMark() string {
	for _, n := range g.nodes {
		if strings.HasPrefix(n.opType, "QLinear") || slices.Contains(quantizedOps, n.opType) {
			return "operator " + n.opType
		}
	}
	for _, name := range slices.Sorted(maps.Keys(g.initializers)) {
		if t := g.initializers[name]; t.dataType == onnxInt8 || t.dataType == onnxUint8 {
			return "8-bit initializer " + name
		}
	}
	return ""
}
