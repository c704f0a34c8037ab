package inference

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// gradcamFixtures are the models make_gradcam_fixtures.py builds.
var gradcamFixtures = []string{
	"nchw_pool_dropout_linear",
	"nchw_pool_linear_hardswish_linear",
	"nchw_pool_silu_gelu",
	"nchw_unsupported_head",
	"nhwc_reducemean_softmax",
	"nhwc_reducemean_axes_input",
	"nhwc_quantized_dense",
	"nchw_dynamic_size",
	"nchw_pool_linear_sigmoid",
}

// fixtureRef is one NAME.ref.json: torch autograd's answers.
type fixtureRef struct {
	Note    string `json:"note"`
	Shape   []int  `json:"shape"`
	GradCAM bool   `json:"gradcam"`
	Cases   []struct {
		Seed          uint32      `json:"seed"`
		Class         int         `json:"class"`
		Top           int         `json:"top"`
		Probabilities []float64   `json:"probabilities"`
		CAM           [][]float64 `json:"cam"`
	} `json:"cases"`
}

// fixtureInput repeats the script's generator: values in [-2, 2] from a
// 32-bit LCG, exact in float32.
func fixtureInput(seed uint32, n int) []float32 {
	out := make([]float32, n)
	state := seed
	for i := range out {
		state = state*1664525 + 1013904223
		out[i] = float32(int((state>>8)%2001)-1000) / 500
	}
	return out
}

func fixturePath(name, ext string) string {
	return filepath.Join("testdata", "gradcam", name+ext)
}

func readFixtureRef(t *testing.T, name string) fixtureRef {
	t.Helper()
	data, err := os.ReadFile(fixturePath(name, ".ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref fixtureRef
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("reading %s reference: %v", name, err)
	}
	return ref
}

func newFixtureEngine(t *testing.T, name string) *Engine {
	t.Helper()
	e, err := NewEngine(Options{
		ModelPath:      fixturePath(name, ".onnx"),
		LibraryPath:    testLibrary,
		IntraOpThreads: 1,
	})
	if err != nil {
		t.Fatalf("NewEngine(%s): %v", name, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestGradCAMEqualsAutograd(t *testing.T) {
	t.Parallel()
	for _, name := range gradcamFixtures {
		t.Run(name+" matches torch autograd", func(t *testing.T) {
			t.Parallel()
			ref := readFixtureRef(t, name)
			e := newFixtureEngine(t, name)
			for _, c := range ref.Cases {
				input := fixtureInput(c.Seed, shapeSize(ref.Shape))
				res, err := e.predictTensor(context.Background(), input, c.Class)
				if err != nil {
					t.Fatalf("seed %d class %d: %v", c.Seed, c.Class, err)
				}
				checkProbabilities(t, res, c.Probabilities)
				if res.Class.Index != c.Class || res.Top[0].Index != c.Top {
					t.Fatalf("explained class %d with top %d, want %d with torch's top %d",
						res.Class.Index, res.Top[0].Index, c.Class, c.Top)
				}
				checkFixtureCAM(t, res, ref.GradCAM, c.CAM)
			}
		})
	}
}

func TestGradCAMExplainsTheTopClassByDefault(t *testing.T) {
	t.Parallel()
	for _, name := range gradcamFixtures {
		t.Run(name+" explains torch's top class", func(t *testing.T) {
			t.Parallel()
			ref := readFixtureRef(t, name)
			e := newFixtureEngine(t, name)
			checked := 0
			for _, c := range ref.Cases {
				if c.Class != c.Top {
					continue
				}
				input := fixtureInput(c.Seed, shapeSize(ref.Shape))
				res, err := e.predictTensor(context.Background(), input, -1)
				if err != nil {
					t.Fatalf("seed %d, no class: %v", c.Seed, err)
				}
				checkProbabilities(t, res, c.Probabilities)
				if res.Class.Index != c.Top || res.Top[0].Index != c.Top {
					t.Fatalf("seed %d: explained class %d, top %d; torch's top is %d",
						c.Seed, res.Class.Index, res.Top[0].Index, c.Top)
				}
				checkFixtureCAM(t, res, ref.GradCAM, c.CAM)
				checked++
			}
			if checked == 0 {
				t.Fatalf("%s.ref.json has no case for its top class", name)
			}
		})
	}
}

func checkProbabilities(t *testing.T, res *Result, want []float64) {
	t.Helper()
	if len(res.Top) != len(want) {
		t.Fatalf("got %d classes in Top, want %d", len(res.Top), len(want))
	}
	for _, c := range res.Top {
		if d := math.Abs(c.Probability - want[c.Index]); d > 1e-4 {
			t.Fatalf("class %d probability %.6f, torch %.6f", c.Index, c.Probability,
				want[c.Index])
		}
	}
}

func checkFixtureCAM(t *testing.T, res *Result, available bool, raw [][]float64) {
	t.Helper()
	if !available {
		if res.GradCAMError == "" || res.CAM != nil {
			t.Fatalf("got CAM %v and gradcam_error %q, want only an error",
				res.CAM != nil, res.GradCAMError)
		}
		t.Logf("gradcam_error: %s", res.GradCAMError)
		return
	}
	if res.GradCAMError != "" {
		t.Fatalf("gradcam_error: %s", res.GradCAMError)
	}

	want := normalizeCAM(raw)
	if len(res.CAM) != len(want) || len(res.CAM[0]) != len(want[0]) {
		t.Fatalf("CAM is %dx%d, want %dx%d", len(res.CAM), len(res.CAM[0]),
			len(want), len(want[0]))
	}
	worst := 0.0
	for y := range want {
		for x := range want[y] {
			worst = max(worst, math.Abs(float64(res.CAM[y][x]-want[y][x])))
		}
	}
	if worst >= 1e-3 {
		t.Fatalf("CAM differs from autograd by %.2g after normalisation", worst)
	}
	t.Logf("CAM differs from autograd by %.2g after normalisation", worst)
}
