package inference

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode"
)

// Manifest describes a model: how to turn an image into its input tensor,
// what its output means, its labels and its Grad-CAM target. It is read from
// NAME.json beside NAME.onnx. Every field the graph can tell is optional;
// docs/model-contract.md documents each one.
type Manifest struct {
	// Name names the model in results. Defaults to the file name without
	// ".onnx".
	Name string `json:"name"`
	// Version is the model's version in results. Defaults to "1".
	Version string        `json:"version"`
	Input   InputManifest `json:"input"`
	Output  OutputSpec    `json:"output"`
	// Labels name the classes in output order. Defaults to "class_0",
	// "class_1", ... when the graph tells the number of classes.
	Labels []string `json:"labels"`
	// LabelNames gives labels a name for people, "mel": "Melanoma" say,
	// shown with the label in results. Optional, for any of the labels.
	LabelNames map[string]string `json:"label_names,omitempty"`
	GradCAM    GradCAMSpec       `json:"gradcam"`
}

// InputManifest says how an image becomes the model's input tensor. A pixel
// value p in 0..255 becomes (p/Scale - Mean[c]) / Std[c].
type InputManifest struct {
	// Name is the graph input to feed. Defaults to the graph's only input.
	Name string `json:"name"`
	// Layout is "NCHW" or "NHWC". Defaults to what the input shape shows
	// (the axis of size 1 or 3 is the channel axis).
	Layout string `json:"layout"`
	// Size is [width, height] in pixels, as PIL's resize takes it. Defaults
	// to the input shape's; required when the graph leaves it dynamic.
	Size []int `json:"size"`
	// Color is the channel order, "RGB" or "BGR". Defaults to "RGB".
	Color string `json:"color"`
	// Scale divides pixel values first. Defaults to 255.
	Scale float64 `json:"scale"`
	// Mean is subtracted per channel, after scaling: one value or one per
	// channel. Defaults to 0.
	Mean []float64 `json:"mean"`
	// Std divides per channel, after the mean: one value or one per
	// channel. Defaults to 1.
	Std []float64 `json:"std"`
	// Resize is the filter that scales the image to Size: "bilinear",
	// "bicubic", "nearest" or "lanczos". Defaults to "bilinear".
	Resize string `json:"resize"`
}

// OutputSpec says which output holds the class scores and what they are.
type OutputSpec struct {
	// Name is the graph output to read. Defaults to the first output.
	Name string `json:"name"`
	// Kind is "logits" (softmax is applied) or "probabilities" (used as
	// they are). Defaults to "probabilities" when the graph's output is made
	// by a Softmax, or by a Sigmoid (independent per-class probabilities),
	// and to "logits" otherwise.
	Kind string `json:"kind"`
}

// GradCAMSpec configures Grad-CAM.
type GradCAMSpec struct {
	// Target is the 4-D activation Grad-CAM explains; it must feed a global
	// average pooling. Defaults to the input of the last global pooling
	// (GlobalAveragePool, or ReduceMean over the spatial axes).
	Target string `json:"target"`
}

// Output kinds.
const (
	OutputLogits        = "logits"
	OutputProbabilities = "probabilities"
)

// readManifest reads and strictly decodes NAME.json: unknown fields are
// errors, so a misspelt field is not silently ignored.
func readManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading manifest: %w: write one beside the model (see "+
			"docs/model-contract.md); {} is enough when the graph tells the rest", err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	m := &Manifest{}
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", path, err)
	}
	return m, nil
}

// manifestError names the manifest field a problem is in.
func manifestError(field, format string, args ...any) error {
	return fmt.Errorf("manifest field %s: %s", field, fmt.Sprintf(format, args...))
}

// complete fills every empty field from the graph or its default, then
// validates the result. All defaults are filled here.
func (m *Manifest) complete(info *graphInfo, fileName string) error {
	m.fillIdentity(fileName)
	if err := m.fillInput(info); err != nil {
		return err
	}
	m.fillOutput(info)

	if err := m.validate(info); err != nil {
		return err
	}
	m.fillLabels(info)
	return m.validateLabelNames()
}

// fillIdentity defaults Name and Version.
func (m *Manifest) fillIdentity(fileName string) {
	if m.Name == "" {
		m.Name = strings.TrimSuffix(fileName, ".onnx")
	}
	if m.Version == "" {
		m.Version = "1"
	}
}

// fillInput defaults the input fields from the graph.
func (m *Manifest) fillInput(info *graphInfo) error {
	in := &m.Input
	if in.Name == "" {
		in.Name = info.input.name
	}
	if in.Layout == "" {
		in.Layout = info.layout
	}
	if in.Layout == "" {
		return manifestError("input.layout", "the input shape %v does not show the "+
			"channel axis: set \"NCHW\" or \"NHWC\"", info.input.shape)
	}
	if len(in.Size) == 0 && info.width > 0 && info.height > 0 {
		in.Size = []int{info.width, info.height}
	}
	if len(in.Size) == 0 {
		return manifestError("input.size", "the model input %q has a dynamic height or "+
			"width (shape %v): set [width, height]", in.Name, info.input.shape)
	}

	if in.Color == "" {
		in.Color = ColorRGB
	}
	if in.Scale == 0 {
		in.Scale = 255
	}
	if len(in.Mean) == 0 {
		in.Mean = []float64{0}
	}
	if len(in.Std) == 0 {
		in.Std = []float64{1}
	}
	if in.Resize == "" {
		in.Resize = ResizeBilinear
	}
	return nil
}

// fillOutput defaults the output fields from the graph.
func (m *Manifest) fillOutput(info *graphInfo) {
	if m.Output.Name == "" {
		m.Output.Name = info.output.name
	}
	if m.Output.Kind == "" {
		m.Output.Kind = OutputLogits
		if info.softmax != "" || info.sigmoid != "" {
			m.Output.Kind = OutputProbabilities
		}
	}
}

// fillLabels names classes "class_i" when the manifest has no labels and
// the output shape tells their number.
func (m *Manifest) fillLabels(info *graphInfo) {
	n := info.classCount()
	if len(m.Labels) > 0 || n <= 0 {
		return
	}
	m.Labels = make([]string, n)
	for i := range m.Labels {
		m.Labels[i] = fmt.Sprintf("class_%d", i)
	}
}

// classCount is the static size of the output's last axis, or 0.
func (info *graphInfo) classCount() int {
	s := info.output.shape
	if len(s) == 0 || s[len(s)-1] <= 0 {
		return 0
	}
	return int(s[len(s)-1])
}

// validate checks a completed manifest against itself and the graph.
func (m *Manifest) validate(info *graphInfo) error {
	if err := m.Input.validate(info); err != nil {
		return err
	}
	if m.Output.Kind != OutputLogits && m.Output.Kind != OutputProbabilities {
		return manifestError("output.kind", "%q: want %q or %q",
			m.Output.Kind, OutputLogits, OutputProbabilities)
	}
	if n := info.classCount(); n > 0 && len(m.Labels) > 0 && len(m.Labels) != n {
		return manifestError("labels", "%d labels for %d outputs", len(m.Labels), n)
	}
	for i, label := range m.Labels {
		if slices.Contains(m.Labels[:i], label) {
			return manifestError("labels", "%q appears twice", label)
		}
	}
	return nil
}

// validateLabelNames checks, once the labels are filled in, that each name
// is for one of them and is text a page can show.
func (m *Manifest) validateLabelNames() error {
	for label, name := range m.LabelNames {
		switch {
		case len(m.Labels) == 0:
			return manifestError("label_names", "the model has no labels to name: "+
				"give labels too")
		case !slices.Contains(m.Labels, label):
			return manifestError("label_names", "%q is not one of the labels %q",
				label, m.Labels)
		case strings.TrimSpace(name) == "" || strings.IndexFunc(name, unprintable) >= 0:
			return manifestError("label_names", "the name of %q is blank or holds "+
				"control characters: %q", label, name)
		}
	}
	return nil
}

// unprintable reports control and format characters (line breaks,
// direction overrides), which have no place in a class name.
func unprintable(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

// validate checks the input fields.
func (in *InputManifest) validate(info *graphInfo) error {
	switch {
	case in.Name != info.input.name:
		return manifestError("input.name", "%q is not the graph's input %q",
			in.Name, info.input.name)
	case in.Layout != LayoutNCHW && in.Layout != LayoutNHWC:
		return manifestError("input.layout", "%q: want \"NCHW\" or \"NHWC\"", in.Layout)
	case info.layout != "" && in.Layout != info.layout:
		return manifestError("input.layout", "%q, but the input shape %v is %s",
			in.Layout, info.input.shape, info.layout)
	case len(in.Size) != 2 || in.Size[0] <= 0 || in.Size[1] <= 0:
		return manifestError("input.size", "%v: want [width, height], both positive", in.Size)
	case in.Color != ColorRGB && in.Color != ColorBGR:
		return manifestError("input.color", "%q: want \"RGB\" or \"BGR\"", in.Color)
	case in.Scale <= 0:
		return manifestError("input.scale", "%v: want a positive number", in.Scale)
	}
	if _, ok := resizeFilters[in.Resize]; !ok {
		return manifestError("input.resize", "%q: want bilinear, bicubic, nearest or lanczos",
			in.Resize)
	}
	return in.validateAgainstGraph(info)
}

// validateAgainstGraph checks channels and size against the input shape.
func (in *InputManifest) validateAgainstGraph(info *graphInfo) error {
	const channels = 3
	if info.channels > 0 && info.channels != channels {
		return manifestError("input", "the model takes %d channels; DermQ feeds 3 (RGB "+
			"or BGR)", info.channels)
	}
	for _, f := range []struct {
		name   string
		values []float64
	}{{"input.mean", in.Mean}, {"input.std", in.Std}} {
		if len(f.values) != 1 && len(f.values) != channels {
			return manifestError(f.name, "%d values: want 1 or %d", len(f.values), channels)
		}
	}
	if slices.Contains(in.Std, 0) {
		return manifestError("input.std", "a standard deviation of 0")
	}

	if info.width > 0 && info.height > 0 &&
		(in.Size[0] != info.width || in.Size[1] != info.height) {
		return manifestError("input.size", "%v, but the model input is %dx%d (width x height)",
			in.Size, info.width, info.height)
	}
	return nil
}
