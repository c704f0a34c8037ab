package inference

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file reads the parts of an ONNX ModelProto that DermQ needs, by field
// number, straight from the wire format. The numbers come from onnx.proto.

// ONNX tensor element types DermQ names.
const (
	onnxFloat   = 1
	onnxUint8   = 2
	onnxInt8    = 3
	onnxInt32   = 6
	onnxInt64   = 7
	onnxFloat16 = 10
	onnxDouble  = 11
)

// onnxModel is the decoded outline of one ModelProto.
type onnxModel struct {
	// raw is the whole file; tensors and the graph point into it.
	raw []byte
	// opset is the version of the default ("ai.onnx") operator set.
	opset int64
	graph onnxGraph
}

// onnxGraph is the decoded outline of one GraphProto.
type onnxGraph struct {
	nodes        []onnxNode
	initializers map[string]*onnxTensor
	inputs       []onnxValueInfo
	outputs      []onnxValueInfo
	// producers maps a tensor name to the index of the node making it;
	// producer fills it on first use.
	producers map[string]int
}

// onnxNode is one NodeProto.
type onnxNode struct {
	opType  string
	domain  string
	name    string
	inputs  []string
	outputs []string
	attrs   map[string]onnxAttr
}

// onnxAttr is one AttributeProto; only the fields DermQ reads.
type onnxAttr struct {
	f      float32
	i      int64
	s      []byte
	t      *onnxTensor
	floats []float32
	ints   []int64
}

// onnxTensor is one TensorProto. Its data stays in the model bytes until
// it is decoded.
type onnxTensor struct {
	name      string
	dims      []int64
	dataType  int64
	raw       []byte
	floatData []float32
	int32Data []int64
	int64Data []int64
	doubles   []float64
	external  bool
}

// onnxValueInfo is one ValueInfoProto of a tensor: its name, element type and
// shape. A dimension is -1 when it is symbolic or unknown.
type onnxValueInfo struct {
	name     string
	elemType int64
	shape    []int64
	hasShape bool
}

// wireField is one field of a protobuf message: bytes fields in data,
// scalar fields in x.
type wireField struct {
	num  protowire.Number
	typ  protowire.Type
	data []byte
	x    uint64
	// raw is the whole field as encoded: tag and value.
	raw []byte
}

// errProtoTruncated reports protobuf data that ends in the middle of a field.
var errProtoTruncated = errors.New("truncated or malformed protobuf data")

// parseONNX decodes the outline of an ONNX model file.
func parseONNX(data []byte) (*onnxModel, error) {
	m := &onnxModel{raw: data}
	var graphBytes []byte
	err := eachField(data, func(f wireField) error {
		switch {
		case f.num == 7 && f.typ == protowire.BytesType:
			graphBytes = f.data
		case f.num == 8 && f.typ == protowire.BytesType:
			return m.readOpset(f.data)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading model: %w", err)
	}
	if graphBytes == nil {
		return nil, errors.New("reading model: no graph found: is this an ONNX file?")
	}

	if err := m.graph.read(graphBytes); err != nil {
		return nil, fmt.Errorf("reading graph: %w", err)
	}
	return m, nil
}

// readOpset records the version of the default operator set.
func (m *onnxModel) readOpset(data []byte) error {
	var domain string
	var version int64
	err := eachField(data, func(f wireField) error {
		switch f.num {
		case 1:
			domain = string(f.data)
		case 2:
			version = int64(f.x)
		}
		return nil
	})
	if domain == "" || domain == "ai.onnx" {
		m.opset = version
	}
	return err
}

// read decodes a GraphProto.
func (g *onnxGraph) read(data []byte) error {
	g.initializers = map[string]*onnxTensor{}
	return eachField(data, func(f wireField) error {
		if f.typ != protowire.BytesType {
			return nil
		}
		switch f.num {
		case 1:
			n, err := readNode(f.data)
			g.nodes = append(g.nodes, n)
			return err
		case 5:
			t, err := readTensor(f.data)
			g.initializers[t.name] = t
			return err
		case 11:
			vi, err := readValueInfo(f.data)
			g.inputs = append(g.inputs, vi)
			return err
		case 12:
			vi, err := readValueInfo(f.data)
			g.outputs = append(g.outputs, vi)
			return err
		}
		return nil
	})
}

// readNode decodes a NodeProto.
func readNode(data []byte) (onnxNode, error) {
	n := onnxNode{attrs: map[string]onnxAttr{}}
	err := eachField(data, func(f wireField) error {
		switch f.num {
		case 1:
			n.inputs = append(n.inputs, string(f.data))
		case 2:
			n.outputs = append(n.outputs, string(f.data))
		case 3:
			n.name = string(f.data)
		case 4:
			n.opType = string(f.data)
		case 7:
			n.domain = string(f.data)
		case 5:
			name, a, err := readAttr(f.data)
			n.attrs[name] = a
			return err
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("reading node %q: %w", n.name, err)
	}
	return n, nil
}

// readAttr decodes an AttributeProto.
func readAttr(data []byte) (string, onnxAttr, error) {
	var name string
	var a onnxAttr
	err := eachField(data, func(f wireField) error {
		switch f.num {
		case 1:
			name = string(f.data)
		case 2:
			a.f = math.Float32frombits(uint32(f.x))
		case 3:
			a.i = int64(f.x)
		case 4:
			a.s = f.data
		case 5:
			t, err := readTensor(f.data)
			a.t = t
			return err
		case 7:
			return appendFloats(&a.floats, f)
		case 8:
			return appendInts(&a.ints, f)
		}
		return nil
	})
	return name, a, err
}

// readTensor decodes a TensorProto without copying its data.
func readTensor(data []byte) (*onnxTensor, error) {
	t := &onnxTensor{}
	err := eachField(data, func(f wireField) error {
		switch f.num {
		case 1:
			return appendInts(&t.dims, f)
		case 2:
			t.dataType = int64(f.x)
		case 4:
			return appendFloats(&t.floatData, f)
		case 5:
			return appendInts(&t.int32Data, f)
		case 7:
			return appendInts(&t.int64Data, f)
		case 8:
			t.name = string(f.data)
		case 9:
			t.raw = f.data
		case 10:
			return appendDoubles(&t.doubles, f)
		case 14:
			t.external = f.x == 1
		}
		return nil
	})
	return t, err
}

// readValueInfo decodes a ValueInfoProto holding a tensor type.
func readValueInfo(data []byte) (onnxValueInfo, error) {
	var vi onnxValueInfo
	err := eachField(data, func(f wireField) error {
		switch f.num {
		case 1:
			vi.name = string(f.data)
		case 2:
			return vi.readType(f.data)
		}
		return nil
	})
	return vi, err
}

// readType decodes a TypeProto, keeping only a tensor type.
func (vi *onnxValueInfo) readType(data []byte) error {
	return eachField(data, func(f wireField) error {
		if f.num != 1 || f.typ != protowire.BytesType {
			return nil
		}
		return eachField(f.data, func(f wireField) error {
			switch f.num {
			case 1:
				vi.elemType = int64(f.x)
			case 2:
				vi.hasShape = true
				return vi.readShape(f.data)
			}
			return nil
		})
	})
}

// readShape decodes a TensorShapeProto.
func (vi *onnxValueInfo) readShape(data []byte) error {
	return eachField(data, func(f wireField) error {
		if f.num != 1 {
			return nil
		}
		dim := int64(-1)
		err := eachField(f.data, func(f wireField) error {
			if f.num == 1 && f.typ == protowire.VarintType {
				dim = int64(f.x)
			}
			return nil
		})
		vi.shape = append(vi.shape, dim)
		return err
	})
}

// eachField calls fn for every field of one message, in wire order.
func eachField(data []byte, fn func(wireField) error) error {
	for len(data) > 0 {
		var f wireField
		tagLen := 0
		f.num, f.typ, tagLen = protowire.ConsumeTag(data)
		if tagLen < 0 {
			return errProtoTruncated
		}

		n := consumeValue(&f, data[tagLen:])
		if n < 0 {
			return errProtoTruncated
		}
		f.raw = data[:tagLen+n]
		data = data[tagLen+n:]

		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// consumeValue reads the value of f from data and returns its length, or a
// negative number when the data is malformed.
func consumeValue(f *wireField, data []byte) int {
	var n int
	switch f.typ {
	case protowire.VarintType:
		f.x, n = protowire.ConsumeVarint(data)
	case protowire.Fixed32Type:
		var x uint32
		x, n = protowire.ConsumeFixed32(data)
		f.x = uint64(x)
	case protowire.Fixed64Type:
		f.x, n = protowire.ConsumeFixed64(data)
	case protowire.BytesType:
		f.data, n = protowire.ConsumeBytes(data)
	default:
		n = protowire.ConsumeFieldValue(f.num, f.typ, data)
	}
	return n
}

// appendInts appends one int64 or a packed run of them.
func appendInts(dst *[]int64, f wireField) error {
	if f.typ == protowire.VarintType {
		*dst = append(*dst, int64(f.x))
		return nil
	}
	for v := f.data; len(v) > 0; {
		x, n := protowire.ConsumeVarint(v)
		if n < 0 {
			return errProtoTruncated
		}
		*dst = append(*dst, int64(x))
		v = v[n:]
	}
	return nil
}

// appendFloats appends one float32 or a packed run of them.
func appendFloats(dst *[]float32, f wireField) error {
	if f.typ == protowire.Fixed32Type {
		*dst = append(*dst, math.Float32frombits(uint32(f.x)))
		return nil
	}
	if len(f.data)%4 != 0 {
		return errProtoTruncated
	}
	for i := 0; i < len(f.data); i += 4 {
		bits := binary.LittleEndian.Uint32(f.data[i:])
		*dst = append(*dst, math.Float32frombits(bits))
	}
	return nil
}

// appendDoubles appends one float64 or a packed run of them.
func appendDoubles(dst *[]float64, f wireField) error {
	if f.typ == protowire.Fixed64Type {
		*dst = append(*dst, math.Float64frombits(f.x))
		return nil
	}
	if len(f.data)%8 != 0 {
		return errProtoTruncated
	}
	for i := 0; i < len(f.data); i += 8 {
		bits := binary.LittleEndian.Uint64(f.data[i:])
		*dst = append(*dst, math.Float64frombits(bits))
	}
	return nil
}
