package jobs

import (
	"slices"
	"testing"
)

func TestBatchResultCSVRecord(t *testing.T) {
	t.Parallel()

	t.Run("a succeeded row lists its top classes", func(t *testing.T) {
		t.Parallel()

		row := BatchResult{
			Path: "a/b.jpg", ID: "p1", Status: "succeeded", Label: "nv",
			Name: "Melanocytic nevus", Probability: 0.75,
			Top: []BatchResultClass{{"nevus", "", 0.75}, {"melanoma", "", 0.25}},
		}
		want := []string{
			"a/b.jpg", "p1", "succeeded", "nv", "Melanocytic nevus", "0.750000",
			"nevus:0.750000;melanoma:0.250000", "", "",
		}
		if got := row.CSVRecord(); !slices.Equal(got, want) {
			t.Fatalf("CSVRecord() = %q, want %q", got, want)
		}
	})

	t.Run("a failed row has no probability and keeps its error", func(t *testing.T) {
		t.Parallel()

		row := BatchResult{
			Path: "x.heic", Status: "failed", ErrorCode: "unsupported_format",
			Error: "HEIC is not supported",
		}
		want := []string{
			"x.heic", "", "failed", "", "", "", "", "unsupported_format",
			"HEIC is not supported",
		}
		if got := row.CSVRecord(); !slices.Equal(got, want) {
			t.Fatalf("CSVRecord() = %q, want %q", got, want)
		}
		if len(want) != len(BatchResultColumns) {
			t.Fatalf("record has %d fields, header %d", len(want), len(BatchResultColumns))
		}
	})
}
