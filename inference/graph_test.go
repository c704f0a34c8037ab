package inference

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readFixtureModel(t *testing.T, name string) *onnxModel {
	t.Helper()
	data, err := os.ReadFile(fixturePath(name, ".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseONNX(data)
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return m
}

func TestInspectGraphDetectsExports(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fixture, layout, softmax, target, quantized string
		channelAxis                                 int
		keepDims                                    bool
	}{
		{"nchw_pool_dropout_linear", LayoutNCHW, "", "/backbone/Relu_1_output_0", "", 1, true},
		{"nhwc_reducemean_softmax", LayoutNHWC, "dense_logits", "top_activation", "", 3, false},
		{"nhwc_reducemean_axes_input", LayoutNHWC, "dense_logits", "top_activation", "", 3,
			true},
		{"nhwc_quantized_dense", LayoutNHWC, "dense_logits", "top_activation",
			"operator DequantizeLinear", 3, false},
	}
	for _, c := range cases {
		t.Run("the "+c.fixture+" graph is read", func(t *testing.T) {
			t.Parallel()
			info, err := inspectGraph(readFixtureModel(t, c.fixture), "")
			if err != nil {
				t.Fatal(err)
			}
			if info.layout != c.layout || info.width != 32 || info.height != 32 ||
				info.channels != 3 {
				t.Fatalf("layout %q size %dx%dx%d, want %s 32x32x3", info.layout,
					info.width, info.height, info.channels, c.layout)
			}
			if info.softmax != c.softmax || info.quantized != c.quantized {
				t.Fatalf("softmax %q quantized %q, want %q and %q", info.softmax,
					info.quantized, c.softmax, c.quantized)
			}
			p := info.pool
			if p == nil || p.input != c.target || p.channelAxis != c.channelAxis ||
				p.keepDims != c.keepDims {
				t.Fatalf("pool %+v, want target %q channel axis %d keepdims %v", p,
					c.target, c.channelAxis, c.keepDims)
			}
		})
	}
}

func TestReadInputShape(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		shape         []int64
		layout        string
		width, height int
	}{
		{"a static NCHW shape gives layout and size", []int64{1, 3, 224, 240}, LayoutNCHW,
			240, 224},
		{"a dynamic batch NHWC shape gives layout and size", []int64{-1, 300, 200, 3},
			LayoutNHWC, 200, 300},
		{"a dynamic height and width keep the layout only", []int64{-1, 3, -1, -1},
			LayoutNCHW, 0, 0},
		{"three channels and a 3x3 image are ambiguous", []int64{1, 3, 3, 3}, "", 0, 0},
		{"no static channel axis says nothing", []int64{1, -1, -1, -1}, "", 0, 0},
		{"a 2-D input says nothing", []int64{1, 150528}, "", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			info := &graphInfo{input: onnxValueInfo{shape: c.shape}}
			info.readInputShape()
			if info.layout != c.layout || info.width != c.width || info.height != c.height {
				t.Fatalf("got %q %dx%d, want %q %dx%d", info.layout, info.width,
					info.height, c.layout, c.width, c.height)
			}
		})
	}
}

func TestSpatialPair(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		axes    []int64
		channel int
		ok      bool
	}{
		{"axes 2 and 3 pool an NCHW tensor", []int64{2, 3}, 1, true},
		{"axes 1 and 2 pool an NHWC tensor", []int64{1, 2}, 3, true},
		{"negative axes count from the end", []int64{-3, -2}, 3, true},
		{"the batch axis is not spatial", []int64{0, 1}, 0, false},
		{"one axis is not a global pooling", []int64{1}, 0, false},
		{"axes 1 and 3 leave the channels between them", []int64{1, 3}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			channel, ok := spatialPair(c.axes)
			if channel != c.channel || ok != c.ok {
				t.Fatalf("got %d %v, want %d %v", channel, ok, c.channel, c.ok)
			}
		})
	}
}

func TestExposeOutputsAddsTheTarget(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(fixturePath("nchw_pool_silu_gelu", ".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := parseONNX(data)
	if err != nil {
		t.Fatal(err)
	}
	target := before.graph.lastGlobalPool(before.opset).input

	var edited bytes.Buffer
	err = writeWithOutputs(&edited, data, []string{"logits"}, []string{"logits", target})
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseONNX(edited.Bytes())
	if err != nil {
		t.Fatalf("parsing the edited model: %v", err)
	}

	names := []string{}
	for _, o := range after.graph.outputs {
		names = append(names, o.name)
	}
	if !slices.Equal(names, []string{"logits", target}) {
		t.Fatalf("outputs %v, want logits and %s", names, target)
	}
	if after.graph.outputs[1].elemType != onnxFloat {
		t.Fatalf("exposed output has element type %d, want float", after.graph.outputs[1].elemType)
	}
	if len(after.graph.nodes) != len(before.graph.nodes) || after.opset != before.opset {
		t.Fatal("editing changed the nodes or the opset")
	}
}

func TestParseONNXRejectsGarbage(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"an empty file is refused":     {},
		"a JPEG header is refused":     {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10},
		"a truncated field is refused": {0x3a, 0x20, 0x01},
		"text is refused":              []byte("not a model"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := parseONNX(data); err == nil {
				t.Fatal("parseONNX succeeded, want an error")
			}
		})
	}
}

func TestCheckInputTypeRefusesWhatDermQCannotFeed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   onnxValueInfo
		ok   bool
	}{
		{"a float input with a dynamic batch is fed", onnxValueInfo{elemType: onnxFloat,
			shape: []int64{-1, 3, 224, 224}}, true},
		{"a float16 input is refused", onnxValueInfo{elemType: onnxFloat16,
			shape: []int64{1, 3, 224, 224}}, false},
		{"a fixed batch of eight is refused", onnxValueInfo{elemType: onnxFloat,
			shape: []int64{8, 3, 224, 224}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := checkInputType(c.in); (err == nil) != c.ok {
				t.Fatalf("got %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func TestAFinalSigmoidGivesIndependentProbabilities(t *testing.T) {
	t.Parallel()
	const name = "nchw_pool_linear_sigmoid"

	t.Run("the graph's final Sigmoid is found", func(t *testing.T) {
		t.Parallel()
		info, err := inspectGraph(readFixtureModel(t, name), "")
		if err != nil {
			t.Fatal(err)
		}
		scores, final := info.classScores()
		if info.softmax != "" || final != opSigmoid || scores == info.output.name {
			t.Fatalf("softmax %q, scores %q before %q: want the Sigmoid's input",
				info.softmax, scores, final)
		}
	})

	t.Run("probabilities are the sigmoids, not softmaxed", func(t *testing.T) {
		t.Parallel()
		e := newFixtureEngine(t, name)
		if e.Manifest().Output.Kind != OutputProbabilities {
			t.Fatalf("output kind %q, want probabilities", e.Manifest().Output.Kind)
		}
		ref := readFixtureRef(t, name)
		c := ref.Cases[0]
		res, err := e.predictTensor(context.Background(),
			fixtureInput(c.Seed, shapeSize(ref.Shape)), -1)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, p := range c.Probabilities {
			sum += p
		}
		if math.Abs(sum-1) < 0.05 {
			t.Fatalf("torch's sigmoids sum to %.3f: the fixture cannot tell them from a "+
				"softmax", sum)
		}
		checkProbabilities(t, res, c.Probabilities)
	})

	t.Run("a manifest calling the output logits is warned about", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		model := filepath.Join(dir, "m.onnx")
		data, err := os.ReadFile(fixturePath(name, ".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		manifest := `{"output": {"kind": "logits"}}`
		if err := os.WriteFile(model, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(manifestPath(model), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		e, err := NewEngine(Options{ModelPath: model, LibraryPath: testLibrary,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if !strings.Contains(logs.String(), "level=WARN") ||
			!strings.Contains(logs.String(), "ends in Sigmoid") {
			t.Fatalf("no warning about softmax on a Sigmoid output in:\n%s", logs.String())
		}
	})
}
