package inference

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
)

// TestSessionSettingsGiveTheSameAnswer runs the demo model with the CPU
// arena on and off (off is the worker's default) and with one and two
// intra-op threads: every session must load and give the same prediction.
func TestSessionSettingsGiveTheSameAnswer(t *testing.T) {
	t.Parallel()
	photo := readPhoto(t, "dermoscopy_isic_0000002_1022x767.jpg")

	var want *Result
	for _, arena := range []bool{true, false} {
		for _, threads := range []int{1, 2} {
			name := fmt.Sprintf("arena=%t threads=%d", arena, threads)
			e, err := NewEngine(Options{
				ModelPath:   filepath.Join("..", "models", "demo.onnx"),
				LibraryPath: testLibrary, CPUArena: &arena, IntraOpThreads: threads,
			})
			if err != nil {
				t.Fatalf("%s: NewEngine: %v", name, err)
			}
			got, err := e.Predict(context.Background(), photo, Request{})
			e.Close()
			if err != nil {
				t.Fatalf("%s: Predict: %v", name, err)
			}

			if want == nil {
				want = got
				continue
			}
			sameAnswer(t, name, got, want)
		}
	}
}

// sameAnswer fails the test when got's probabilities or Grad-CAM map differ
// from want's by more than float rounding.
func sameAnswer(t *testing.T, name string, got, want *Result) {
	t.Helper()

	if got.Class.Label != want.Class.Label {
		t.Fatalf("%s: top class %s, want %s", name, got.Class.Label, want.Class.Label)
	}
	for i := range want.Top {
		if d := math.Abs(got.Top[i].Probability - want.Top[i].Probability); d > 1e-5 {
			t.Fatalf("%s: probability of %s differs by %g", name, want.Top[i].Label, d)
		}
	}
	for y := range want.CAM {
		for x := range want.CAM[y] {
			if d := math.Abs(float64(got.CAM[y][x] - want.CAM[y][x])); d > 1e-4 {
				t.Fatalf("%s: Grad-CAM cell (%d,%d) differs by %g", name, x, y, d)
			}
		}
	}
}
