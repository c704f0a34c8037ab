package inference

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// staticNCHW is a graph with a static 1x3x224x224 input and 4 logits.
func staticNCHW() *graphInfo {
	return &graphInfo{
		input:  onnxValueInfo{name: "input", shape: []int64{1, 3, 224, 224}},
		layout: LayoutNCHW, width: 224, height: 224, channels: 3,
		output: onnxValueInfo{name: "logits", shape: []int64{1, 4}},
	}
}

func TestManifestDefaultsComeFromTheGraph(t *testing.T) {
	t.Parallel()
	m := &Manifest{}
	if err := m.complete(staticNCHW(), "skin.onnx"); err != nil {
		t.Fatal(err)
	}

	in := m.Input
	if m.Name != "skin" || m.Version != "1" || in.Name != "input" || in.Layout != LayoutNCHW {
		t.Fatalf("identity or input not filled: %+v", m)
	}
	if !slices.Equal(in.Size, []int{224, 224}) || in.Color != ColorRGB || in.Scale != 255 ||
		in.Resize != ResizeBilinear {
		t.Fatalf("input defaults: %+v", in)
	}
	if m.Output.Name != "logits" || m.Output.Kind != OutputLogits {
		t.Fatalf("output defaults: %+v", m.Output)
	}
	if !slices.Equal(m.Labels, []string{"class_0", "class_1", "class_2", "class_3"}) {
		t.Fatalf("labels %v", m.Labels)
	}
}

func TestManifestSeesAFinalSoftmax(t *testing.T) {
	t.Parallel()
	info := staticNCHW()
	info.softmax = "pre_softmax"
	m := &Manifest{}
	if err := m.complete(info, "m.onnx"); err != nil {
		t.Fatal(err)
	}
	if m.Output.Kind != OutputProbabilities {
		t.Fatalf("kind %q, want probabilities", m.Output.Kind)
	}
}

func TestManifestSeesAFinalSigmoid(t *testing.T) {
	t.Parallel()
	info := staticNCHW()
	info.sigmoid = "pre_sigmoid"
	m := &Manifest{}
	if err := m.complete(info, "m.onnx"); err != nil {
		t.Fatal(err)
	}
	if m.Output.Kind != OutputProbabilities {
		t.Fatalf("kind %q, want probabilities: sigmoids must not be softmaxed", m.Output.Kind)
	}
}

func TestManifestValidationNamesTheField(t *testing.T) {
	t.Parallel()
	dynamic := func() *graphInfo {
		info := staticNCHW()
		info.input.shape = []int64{-1, 3, -1, -1}
		info.width, info.height = 0, 0
		return info
	}
	ambiguous := func() *graphInfo {
		info := staticNCHW()
		info.layout = ""
		return info
	}
	cases := []struct {
		name  string
		info  func() *graphInfo
		edit  func(m *Manifest)
		field string
	}{
		{"a dynamic size needs input.size", dynamic, func(m *Manifest) {}, "input.size"},
		{"an ambiguous shape needs input.layout", ambiguous, func(m *Manifest) {},
			"input.layout"},
		{"a layout against the shape is refused", staticNCHW,
			func(m *Manifest) { m.Input.Layout = LayoutNHWC }, "input.layout"},
		{"an unknown layout is refused", ambiguous,
			func(m *Manifest) { m.Input.Layout = "CHW" }, "input.layout"},
		{"a size against the shape is refused", staticNCHW,
			func(m *Manifest) { m.Input.Size = []int{256, 256} }, "input.size"},
		{"a size of one number is refused", dynamic,
			func(m *Manifest) { m.Input.Size = []int{224} }, "input.size"},
		{"another input name is refused", staticNCHW,
			func(m *Manifest) { m.Input.Name = "image" }, "input.name"},
		{"an unknown colour order is refused", staticNCHW,
			func(m *Manifest) { m.Input.Color = "YUV" }, "input.color"},
		{"a negative scale is refused", staticNCHW,
			func(m *Manifest) { m.Input.Scale = -1 }, "input.scale"},
		{"two means for three channels are refused", staticNCHW,
			func(m *Manifest) { m.Input.Mean = []float64{0.5, 0.5} }, "input.mean"},
		{"a zero std is refused", staticNCHW,
			func(m *Manifest) { m.Input.Std = []float64{0.2, 0, 0.2} }, "input.std"},
		{"an unknown filter is refused", staticNCHW,
			func(m *Manifest) { m.Input.Resize = "area" }, "input.resize"},
		{"an unknown output kind is refused", staticNCHW,
			func(m *Manifest) { m.Output.Kind = "scores" }, "output.kind"},
		{"too few labels are refused", staticNCHW,
			func(m *Manifest) { m.Labels = []string{"nv", "mel"} }, "labels"},
		{"a name for no label is refused", staticNCHW, func(m *Manifest) {
			m.LabelNames = map[string]string{"melanoma": "Melanoma"}
		}, "label_names"},
		{"a blank name is refused", staticNCHW, func(m *Manifest) {
			m.LabelNames = map[string]string{"class_1": "  "}
		}, "label_names"},
		{"a name with a direction override is refused", staticNCHW, func(m *Manifest) {
			m.LabelNames = map[string]string{"class_1": "Mela\u202enoma"}
		}, "label_names"},
		{"a label twice is refused", staticNCHW, func(m *Manifest) {
			m.Labels = []string{"a", "b", "a", "d"}
		}, "labels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := &Manifest{}
			c.edit(m)
			err := m.complete(c.info(), "m.onnx")
			if err == nil || !strings.Contains(err.Error(), "manifest field "+c.field+":") {
				t.Fatalf("got %v, want an error naming %s", err, c.field)
			}
		})
	}
}

func TestReadManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	t.Run("a misspelt field is an error", func(t *testing.T) {
		_, err := readManifest(write("typo.json", `{"lables": ["a"]}`))
		if err == nil || !strings.Contains(err.Error(), "lables") {
			t.Fatalf("got %v, want an error naming lables", err)
		}
	})
	t.Run("a missing manifest says how to write one", func(t *testing.T) {
		_, err := readManifest(filepath.Join(dir, "absent.json"))
		if !errors.Is(err, os.ErrNotExist) ||
			!strings.Contains(err.Error(), "docs/model-contract.md") {
			t.Fatalf("got %v, want os.ErrNotExist and a pointer to the model contract", err)
		}
	})
	t.Run("the issue's example manifest reads", func(t *testing.T) {
		m, err := readManifest(filepath.Join("..", "models", "demo.json"))
		if err != nil {
			t.Fatal(err)
		}
		if m.Input.Scale != 255 || len(m.Labels) != 7 || m.GradCAM.Target != "features" {
			t.Fatalf("read %+v", m)
		}
	})
}

func TestLabelNamesMayNameDefaultLabels(t *testing.T) {
	t.Parallel()
	m := &Manifest{LabelNames: map[string]string{"class_1": "Melanoma"}}
	if err := m.complete(staticNCHW(), "m.onnx"); err != nil {
		t.Fatalf("naming a default label: %v", err)
	}
	if m.Labels[1] != "class_1" || m.LabelNames["class_1"] != "Melanoma" {
		t.Fatalf("labels %v, names %v", m.Labels, m.LabelNames)
	}
}
