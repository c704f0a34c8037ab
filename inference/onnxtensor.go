package inference

import (
	"encoding/binary"
	"fmt"
	"math"
)

// size is the number of elements the tensor's dims describe.
func (t *onnxTensor) size() int {
	n := 1
	for _, d := range t.dims {
		n *= int(d)
	}
	return n
}

// floats decodes a floating point tensor as float64s.
func (t *onnxTensor) floats() ([]float64, error) {
	if t.external {
		return nil, fmt.Errorf("tensor %q is stored outside the model file", t.name)
	}
	var out []float64
	switch t.dataType {
	case onnxFloat:
		out = t.float32s()
	case onnxDouble:
		out = t.float64s()
	case onnxInt8, onnxUint8:
		return nil, fmt.Errorf("tensor %q is 8-bit integer (a quantized model)", t.name)
	default:
		return nil, fmt.Errorf("tensor %q has element type %d, not float", t.name, t.dataType)
	}

	if len(out) != t.size() {
		return nil, fmt.Errorf("tensor %q holds %d values for shape %v",
			t.name, len(out), t.dims)
	}
	return out, nil
}

// float32s decodes FLOAT data, raw or not.
func (t *onnxTensor) float32s() []float64 {
	if t.raw == nil {
		out := make([]float64, len(t.floatData))
		for i, v := range t.floatData {
			out[i] = float64(v)
		}
		return out
	}
	out := make([]float64, len(t.raw)/4)
	for i := range out {
		out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.raw[4*i:])))
	}
	return out
}

// float64s decodes DOUBLE data, raw or not.
func (t *onnxTensor) float64s() []float64 {
	if t.raw == nil {
		return append([]float64(nil), t.doubles...)
	}
	out := make([]float64, len(t.raw)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.raw[8*i:]))
	}
	return out
}

// ints decodes an INT64 or INT32 tensor, such as a shape or a list of axes.
func (t *onnxTensor) ints() ([]int64, error) {
	if t.external {
		return nil, fmt.Errorf("tensor %q is stored outside the model file", t.name)
	}
	var out []int64
	switch {
	case t.dataType == onnxInt64 && t.raw != nil:
		for i := 0; i+8 <= len(t.raw); i += 8 {
			out = append(out, int64(binary.LittleEndian.Uint64(t.raw[i:])))
		}
	case t.dataType == onnxInt64:
		out = t.int64Data
	case t.dataType == onnxInt32 && t.raw != nil:
		for i := 0; i+4 <= len(t.raw); i += 4 {
			out = append(out, int64(int32(binary.LittleEndian.Uint32(t.raw[i:]))))
		}
	case t.dataType == onnxInt32:
		out = t.int32Data
	default:
		return nil, fmt.Errorf("tensor %q has element type %d, not integer", t.name, t.dataType)
	}

	if len(out) != t.size() {
		return nil, fmt.Errorf("tensor %q holds %d values for shape %v",
			t.name, len(out), t.dims)
	}
	return out, nil
}
