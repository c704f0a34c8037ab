package inference

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is the contract the rest of DermQ codes against. The types here are
// stable; the implementation lives in the other files of the package.

// Request says what one prediction should explain.
type Request struct {
	// Class is the label (or decimal index) Grad-CAM explains. Defaults to the
	// top class.
	Class string
}

// Class is one class of the model with its probability.
type Class struct {
	Index int    `json:"index"`
	Label string `json:"label"`
	// Name is the label's name for people, when the manifest gives one.
	Name        string  `json:"name,omitempty"`
	Probability float64 `json:"probability"`
}

// ModelInfo names the model that made a result.
type ModelInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Timings are the milliseconds each step of one prediction took.
type Timings struct {
	DecodeMS    float64 `json:"decode_ms"`
	InferenceMS float64 `json:"inference_ms"`
	GradCAMMS   float64 `json:"gradcam_ms"`
	RenderMS    float64 `json:"render_ms"`
}

// Result is everything one prediction produced.
type Result struct {
	Model ModelInfo `json:"model"`
	// Top holds the top-k classes, most probable first.
	Top []Class `json:"top"`
	// Class is the class Grad-CAM explains.
	Class Class `json:"class"`
	// CAM is the raw Grad-CAM map at feature resolution (rows of columns),
	// min-max normalised to 0..1. Nil when GradCAMError is set.
	CAM [][]float32 `json:"cam,omitempty"`
	// GradCAMError says why no heatmap could be computed; the prediction
	// still stands.
	GradCAMError string `json:"gradcam_error,omitempty"`
	// Width and Height are the oriented original image's size.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Heatmap is the PNG overlay at display size. Nil when GradCAMError is
	// set.
	Heatmap []byte `json:"-"`
	// Display is the oriented photo at display size, JPEG encoded.
	Display []byte  `json:"-"`
	Timings Timings `json:"timings_ms"`
}

// InputError is a problem with the uploaded image itself. Retrying cannot
// help, so job code fails such a prediction at once. Message is written for
// the person who uploaded the image.
type InputError struct {
	// Code is a short machine-readable reason, such as "unsupported_format",
	// "too_many_pixels", "corrupt_image", "empty_file" or "unknown_class".
	Code string
	// Message says what went wrong and what to do about it.
	Message string
	// Err is the underlying decoder error, if any.
	Err error
}

// Error returns the user-facing message.
func (e *InputError) Error() string { return e.Message }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// Sentence returns the message as a sentence for a person: a capital first
// letter and a full stop. Message itself reads as a Go error, to be wrapped.
func (e *InputError) Sentence() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		return msg
	}
	r, size := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[size:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
