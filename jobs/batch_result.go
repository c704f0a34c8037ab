package jobs

import (
	"strconv"
	"strings"
)

// BatchResultClass is one of an image's top classes in a batch result.
type BatchResultClass struct {
	Label string `json:"label"`
	// Name is the label's name for people, when the model's manifest gives
	// one.
	Name        string  `json:"name,omitempty"`
	Probability float64 `json:"probability"`
}

// BatchResult is one row of a batch's results table: one per image, in the
// order the images arrived. The server streams these as results.jsonl and
// results.csv, and `dermq submit` writes the same rows into its output
// folder.
type BatchResult struct {
	// Path is the image's relative path inside the batch.
	Path string `json:"path"`
	// ID is the prediction id; empty when the image was refused on upload.
	ID string `json:"id,omitempty"`
	// Status is the prediction's status: starting, processing, succeeded,
	// failed or canceled.
	Status string `json:"status"`
	// Label, Name and Probability are the top class when the prediction
	// succeeded.
	Label       string  `json:"label,omitempty"`
	Name        string  `json:"name,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	// Top holds the top-k classes, most probable first.
	Top []BatchResultClass `json:"top,omitempty"`
	// ErrorCode and Error say why the image failed.
	ErrorCode string `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
}

// BatchResultColumns is the header row of results.csv.
var BatchResultColumns = []string{
	"path", "id", "status", "label", "name", "probability", "top_k", "error_code", "error",
}

// CSVRecord renders the row as results.csv columns. The top-k column reads
// "label:probability" pairs separated by semicolons.
func (r BatchResult) CSVRecord() []string {
	top := make([]string, len(r.Top))
	for i, c := range r.Top {
		top[i] = c.Label + ":" + formatProbability(c.Probability)
	}

	prob := ""
	if r.Label != "" {
		prob = formatProbability(r.Probability)
	}

	return []string{
		r.Path, r.ID, r.Status, r.Label, r.Name, prob, strings.Join(top, ";"), r.ErrorCode,
		r.Error,
	}
}

// formatProbability writes a probability with six decimals.
func formatProbability(p float64) string {
	return strconv.FormatFloat(p, 'f', 6, 64)
}
