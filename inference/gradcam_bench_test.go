package inference

import (
	"testing"
)

// BenchmarkGradCAMImageNetHead times Grad-CAM alone for an EfficientNet-sized
// target (1280x7x7) and an ImageNet head (Gemm 1280 -> 1000): pooling, head
// replay, backward pass and the weighted map.
func BenchmarkGradCAMImageNetHead(b *testing.B) {
	g := newGraphBuilder(13)
	g.weights("w", 1000, 1280)
	g.weights("bias", 1000)
	g.node("Flatten", []string{"pooled"}, []string{"f"}, nil)
	g.node("Gemm", []string{"f", "w", "bias"}, []string{"scores"}, attrs("transB", 1))
	h, err := buildHead(&g.model, *g.model.graph.lastGlobalPool(13), "scores")
	if err != nil {
		b.Fatal(err)
	}

	a := activation{shape: []int64{1, 1280, 7, 7}, data: make([]float32, 1280*49)}
	for i := range a.data {
		a.data[i] = float32(g.rng.NormFloat64())
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.compute(a, -1); err != nil {
			b.Fatal(err)
		}
	}
}
