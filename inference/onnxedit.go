package inference

import (
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// exposeOutputs returns a copy of an ONNX model file whose graph also
// outputs the named float tensors; existing lists the graph's outputs, which
// are skipped. The original bytes are not changed.
func exposeOutputs(raw []byte, existing, names []string) ([]byte, error) {
	var extra []byte
	for _, name := range names {
		if slices.Contains(existing, name) {
			continue
		}
		extra = protowire.AppendTag(extra, 12, protowire.BytesType)
		extra = protowire.AppendBytes(extra, floatValueInfo(name))
	}
	if extra == nil {
		return raw, nil
	}

	out := make([]byte, 0, len(raw)+len(extra)+16)
	err := eachField(raw, func(f wireField) error {
		if f.num != 7 || f.typ != protowire.BytesType {
			out = append(out, f.raw...)
			return nil
		}
		out = protowire.AppendTag(out, f.num, f.typ)
		out = protowire.AppendBytes(out, slices.Concat(f.data, extra))
		return nil
	})
	return out, err
}

// floatValueInfo encodes a ValueInfoProto for a float tensor of unknown
// shape.
func floatValueInfo(name string) []byte {
	var tensorType []byte
	tensorType = protowire.AppendTag(tensorType, 1, protowire.VarintType)
	tensorType = protowire.AppendVarint(tensorType, onnxFloat)

	var typeProto []byte
	typeProto = protowire.AppendTag(typeProto, 1, protowire.BytesType)
	typeProto = protowire.AppendBytes(typeProto, tensorType)

	var vi []byte
	vi = protowire.AppendTag(vi, 1, protowire.BytesType)
	vi = protowire.AppendString(vi, name)
	vi = protowire.AppendTag(vi, 2, protowire.BytesType)
	return protowire.AppendBytes(vi, typeProto)
}
