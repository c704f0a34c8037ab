package inference

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadModel feeds arbitrary bytes to the model reader: parsing,
// inspecting and planning Grad-CAM must return errors, never panic.
func FuzzReadModel(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "gradcam", "*.onnx"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed models: %v", err)
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseONNX(data)
		if err != nil {
			return
		}
		info, err := inspectGraph(m, "")
		if err != nil {
			return
		}
		plan, err := planGradCAM(m, info, "")
		if err != nil || plan.head == nil {
			return
		}
		a := activation{shape: []int64{1, 12, 2, 2}, data: make([]float32, 48)}
		if info.pool.channelAxis == 3 {
			a.shape = []int64{1, 2, 2, 12}
		}
		_, _ = plan.head.compute(a, -1)
	})
}
