package inference

import (
	"math"
	"math/rand/v2"
	"testing"
)

// graphBuilder assembles a small in-memory graph for head tests: a
// GlobalAveragePool from "A" to "pooled", then the nodes a test adds.
type graphBuilder struct {
	rng   *rand.Rand
	model onnxModel
}

func newGraphBuilder(opset int64) *graphBuilder {
	b := &graphBuilder{rng: rand.New(rand.NewPCG(1, 2))}
	b.model.opset = opset
	b.model.graph.initializers = map[string]*onnxTensor{}
	b.node("GlobalAveragePool", []string{"A"}, []string{"pooled"}, nil)
	return b
}

func (b *graphBuilder) node(op string, in, out []string, attrs map[string]onnxAttr) {
	if attrs == nil {
		attrs = map[string]onnxAttr{}
	}
	b.model.graph.nodes = append(b.model.graph.nodes,
		onnxNode{opType: op, name: op, inputs: in, outputs: out, attrs: attrs})
	b.model.graph.producers = nil
}

// weights adds a random float initializer.
func (b *graphBuilder) weights(name string, dims ...int64) {
	t := &onnxTensor{name: name, dims: dims, dataType: onnxFloat}
	for range t.size() {
		t.floatData = append(t.floatData, float32(b.rng.NormFloat64()))
	}
	b.model.graph.initializers[name] = t
}

// ints adds an int64 initializer.
func (b *graphBuilder) ints(name string, values ...int64) {
	b.model.graph.initializers[name] = &onnxTensor{name: name, dataType: onnxInt64,
		dims: []int64{int64(len(values))}, int64Data: values}
}

// ones adds a float initializer filled with v.
func (b *graphBuilder) constant(name string, v float32, dims ...int64) {
	t := &onnxTensor{name: name, dims: dims, dataType: onnxFloat}
	for range t.size() {
		t.floatData = append(t.floatData, v)
	}
	b.model.graph.initializers[name] = t
}

func attrs(kv ...any) map[string]onnxAttr {
	out := map[string]onnxAttr{}
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case int:
			out[kv[i].(string)] = onnxAttr{i: int64(v)}
		case float64:
			out[kv[i].(string)] = onnxAttr{f: float32(v)}
		case []int64:
			out[kv[i].(string)] = onnxAttr{ints: v}
		case string:
			out[kv[i].(string)] = onnxAttr{s: []byte(v)}
		}
	}
	return out
}

const headChannels = 6

// headCases build heads covering every operator the replay supports; each
// ends in the tensor "scores".
var headCases = []struct {
	name  string
	opset int64
	build func(b *graphBuilder)
}{
	{"gemm with transB, alpha and beta, then relu and gemm", 13, func(b *graphBuilder) {
		b.weights("w1", 8, headChannels)
		b.weights("b1", 8)
		b.weights("w2", 8, 4)
		b.weights("b2", 1, 4)
		b.node("Flatten", []string{"pooled"}, []string{"f"}, nil)
		b.node("Gemm", []string{"f", "w1", "b1"}, []string{"g"},
			attrs("transB", 1, "alpha", 0.7, "beta", 1.3))
		b.node("Relu", []string{"g"}, []string{"r"}, nil)
		b.node("Gemm", []string{"r", "w2", "b2"}, []string{"scores"}, nil)
	}},
	{"transpose into a gemm with transA", 13, func(b *graphBuilder) {
		b.weights("w", headChannels, 5)
		b.node("Flatten", []string{"pooled"}, []string{"f"}, nil)
		b.node("Transpose", []string{"f"}, []string{"t"}, attrs("perm", []int64{1, 0}))
		b.node("Gemm", []string{"t", "w"}, []string{"scores"}, attrs("transA", 1))
	}},
	{"matmul, add, leaky relu, an inner softmax and matmul", 13, func(b *graphBuilder) {
		b.weights("w1", headChannels, 7)
		b.weights("b1", 7)
		b.weights("w2", 7, 3)
		b.ints("shape", 0, -1)
		b.node("Reshape", []string{"pooled", "shape"}, []string{"f"}, nil)
		b.node("MatMul", []string{"f", "w1"}, []string{"m"}, nil)
		b.node("Add", []string{"m", "b1"}, []string{"a"}, nil)
		b.node("LeakyRelu", []string{"a"}, []string{"l"}, attrs("alpha", 0.2))
		b.node("Softmax", []string{"l"}, []string{"s"}, attrs("axis", 1))
		b.node("MatMul", []string{"s", "w2"}, []string{"scores"}, nil)
	}},
	{"a chain of smooth activations", 13, func(b *graphBuilder) {
		b.weights("w", headChannels, 5)
		b.ints("axes", 2, 3)
		b.node("Squeeze", []string{"pooled", "axes"}, []string{"f"}, nil)
		b.node("MatMul", []string{"f", "w"}, []string{"m"}, nil)
		prev := "m"
		for i, op := range []string{"Elu", "Selu", "Tanh", "Neg", "HardSigmoid", "Softplus",
			"Sigmoid", "Erf"} {
			out := op + string(rune('0'+i))
			b.node(op, []string{prev}, []string{out}, nil)
			prev = out
		}
		b.node("Identity", []string{prev}, []string{"scores"}, nil)
	}},
	{"exact and tanh gelu, hardswish and swish", 20, func(b *graphBuilder) {
		b.weights("w", headChannels, 5)
		b.node("Flatten", []string{"pooled"}, []string{"f"}, nil)
		b.node("MatMul", []string{"f", "w"}, []string{"m"}, nil)
		b.node("Gelu", []string{"m"}, []string{"g1"}, nil)
		b.node("Gelu", []string{"g1"}, []string{"g2"}, attrs("approximate", "tanh"))
		b.node("HardSwish", []string{"g2"}, []string{"h"}, nil)
		b.node("Sigmoid", []string{"h"}, []string{"s"}, nil)
		b.node("Mul", []string{"h", "s"}, []string{"scores"}, nil)
	}},
	{"batch norm, clip as relu6, sub and div by constants", 13, func(b *graphBuilder) {
		for _, p := range []string{"scale", "bias", "mean"} {
			b.weights(p, headChannels)
		}
		b.constant("var", 0.5, headChannels)
		b.constant("lo", 0, 1)
		b.constant("hi", 1, 1)
		b.constant("two", 2, 1)
		b.weights("w", headChannels, 4)
		b.node("BatchNormalization", []string{"pooled", "scale", "bias", "mean", "var"},
			[]string{"bn"}, nil)
		b.node("Clip", []string{"bn", "lo", "hi"}, []string{"c"}, nil)
		b.node("Sub", []string{"c", "two"}, []string{"s"}, nil)
		b.node("Div", []string{"s", "two"}, []string{"d"}, nil)
		b.node("Flatten", []string{"d"}, []string{"f"}, nil)
		b.node("MatMul", []string{"f", "w"}, []string{"scores"}, nil)
	}},
	{"unsqueeze and a dropout with a mask output", 13, func(b *graphBuilder) {
		b.weights("w", headChannels, 4)
		b.ints("axes", 0)
		b.node("Flatten", []string{"pooled"}, []string{"f"}, nil)
		b.node("Dropout", []string{"f"}, []string{"d", "mask"}, nil)
		b.node("Unsqueeze", []string{"d", "axes"}, []string{"u"}, nil)
		b.node("MatMul", []string{"u", "w"}, []string{"m"}, nil)
		b.ints("flat", 1, -1)
		b.node("Reshape", []string{"m", "flat"}, []string{"scores"}, nil)
	}},
}

func TestHeadGradientMatchesFiniteDifferences(t *testing.T) {
	t.Parallel()
	for _, c := range headCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := newGraphBuilder(c.opset)
			c.build(b)
			h, err := buildHead(&b.model, *b.model.graph.lastGlobalPool(c.opset), "scores")
			if err != nil {
				t.Fatalf("buildHead: %v", err)
			}

			pooled := newTensor([]int{1, headChannels, 1, 1})
			for i := range pooled.data {
				pooled.data[i] = b.rng.NormFloat64()
			}
			values, err := h.forward(pooled)
			if err != nil {
				t.Fatalf("forward: %v", err)
			}
			for class := range values["scores"].data {
				checkGradient(t, h, pooled, class, h.backward(values, class))
			}
		})
	}
}

// checkGradient compares an analytic gradient with central differences.
func checkGradient(t *testing.T, h *camHead, pooled *tensor, class int, grad *tensor) {
	t.Helper()
	const eps = 1e-6
	for i := range pooled.data {
		score := func(delta float64) float64 {
			p := &tensor{shape: pooled.shape, data: append([]float64(nil), pooled.data...)}
			p.data[i] += delta
			values, err := h.forward(p)
			if err != nil {
				t.Fatal(err)
			}
			return values["scores"].data[class]
		}
		numeric := (score(eps) - score(-eps)) / (2 * eps)
		if d := math.Abs(numeric - grad.data[i]); d > 1e-6*max(1, math.Abs(numeric)) {
			t.Fatalf("class %d, channel %d: gradient %.9f, finite difference %.9f",
				class, i, grad.data[i], numeric)
		}
	}
}

func TestHeadRefusesWhatItCannotReplay(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		build func(b *graphBuilder)
	}{
		{"an unknown operator", func(b *graphBuilder) {
			b.node("Cos", []string{"pooled"}, []string{"scores"}, nil)
		}},
		{"a head that also reads the activation", func(b *graphBuilder) {
			b.node("ReduceMax", []string{"A"}, []string{"m"}, nil)
			b.node("Add", []string{"pooled", "m"}, []string{"scores"}, nil)
		}},
		{"a weight computed at run time", func(b *graphBuilder) {
			b.node("Shape", []string{"pooled"}, []string{"shape"}, nil)
			b.node("Reshape", []string{"pooled", "shape"}, []string{"scores"}, nil)
		}},
		{"a node without inputs", func(b *graphBuilder) {
			b.node("Relu", nil, []string{"scores"}, nil)
		}},
		{"8-bit weights", func(b *graphBuilder) {
			b.model.graph.initializers["w"] = &onnxTensor{name: "w", dataType: onnxInt8,
				dims: []int64{headChannels, 2}, raw: make([]byte, 2*headChannels)}
			b.node("MatMul", []string{"pooled", "w"}, []string{"scores"}, nil)
		}},
	}
	for _, c := range cases {
		t.Run(c.name+" is refused", func(t *testing.T) {
			t.Parallel()
			b := newGraphBuilder(13)
			c.build(b)
			_, err := buildHead(&b.model, *b.model.graph.lastGlobalPool(13), "scores")
			if err == nil {
				t.Fatal("buildHead succeeded, want an error")
			}
		})
	}
}
