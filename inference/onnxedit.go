package inference

import (
	"io"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// writeWithOutputs writes an ONNX model file whose graph also outputs the
// named float tensors; existing lists the graph's outputs, which are
// skipped. It streams: raw is copied field by field, never as a whole.
func writeWithOutputs(w io.Writer, raw []byte, existing, names []string) error {
	var extra []byte
	for _, name := range names {
		if slices.Contains(existing, name) {
			continue
		}
		extra = protowire.AppendTag(extra, 12, protowire.BytesType)
		extra = protowire.AppendBytes(extra, floatValueInfo(name))
	}

	return eachField(raw, func(f wireField) error {
		if f.num != 7 || f.typ != protowire.BytesType || extra == nil {
			_, err := w.Write(f.raw)
			return err
		}
		header := protowire.AppendTag(nil, f.num, f.typ)
		header = protowire.AppendVarint(header, uint64(len(f.data)+len(extra)))
		for _, part := range [][]byte{header, f.data, extra} {
			if _, err := w.Write(part); err != nil {
				return err
			}
		}
		return nil
	})
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
