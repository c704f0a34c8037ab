package inference

import (
	"fmt"
	"math"
)

// camPlan is how an engine computes Grad-CAM for its model: a compiled head,
// or the reason it cannot.
type camPlan struct {
	head *camHead
	// problem says why Grad-CAM is unavailable; "" when head is set.
	problem string
}

// planGradCAM finds the target activation and compiles the head. A model
// Grad-CAM cannot explain gets a plan with a problem, not an error; only a
// manifest naming a tensor the graph lacks is an error.
func planGradCAM(m *onnxModel, info *graphInfo, target string) (camPlan, error) {
	if info.quantized != "" {
		return camPlan{problem: fmt.Sprintf("Grad-CAM needs a float model; this one is "+
			"quantized (%s)", info.quantized)}, nil
	}

	pool := info.pool
	if target != "" {
		p, err := poolOf(m, target)
		if err != nil {
			return camPlan{}, err
		}
		if p == nil {
			return camPlan{problem: fmt.Sprintf("gradcam.target %q does not feed a global "+
				"average pooling, which Grad-CAM needs", target)}, nil
		}
		pool = p
	}
	if pool == nil {
		return camPlan{problem: "no global average pooling found (GlobalAveragePool or " +
			"ReduceMean over the spatial axes): Grad-CAM needs one after the last " +
			"convolution"}, nil
	}

	scores, final := info.classScores()
	head, err := buildHead(m, *pool, scores)
	if err != nil {
		return camPlan{problem: "Grad-CAM is unavailable for this model: " + err.Error()}, nil
	}
	head.final = final
	return camPlan{head: head}, nil
}

// poolOf returns the global pooling that reads target, or nil when none
// does.
func poolOf(m *onnxModel, target string) (*globalPool, error) {
	g := &m.graph
	if g.producer(target) < 0 && !isGraphInput(g, target) {
		return nil, manifestError("gradcam.target", "the graph has no tensor %q", target)
	}
	for i := len(g.nodes) - 1; i >= 0; i-- {
		if p := g.asGlobalPool(i, m.opset); p != nil && p.input == target {
			return p, nil
		}
	}
	return nil, nil
}

// isGraphInput reports whether name is a graph input.
func isGraphInput(g *onnxGraph, name string) bool {
	for _, in := range g.inputs {
		if in.name == name {
			return true
		}
	}
	return false
}

// checkReplay compares the scores the Go replay computed with the model's
// own output. They differ only by float32 rounding unless the head was
// misread, and then Grad-CAM would be wrong: better none than a wrong one.
func (p camPlan) checkReplay(scores []float64, output []float32) error {
	replay := scores
	switch p.head.final {
	case opSoftmax:
		replay = softmax(scores)
	case opSigmoid:
		replay = sigmoids(scores)
	}
	if len(replay) != len(output) {
		return fmt.Errorf("the replayed head gives %d scores, the model %d",
			len(replay), len(output))
	}

	worst := 0.0
	for i, v := range replay {
		diff := math.Abs(v - float64(output[i]))
		worst = max(worst, diff/max(1, math.Abs(v)))
	}
	if worst > 1e-3 {
		return fmt.Errorf("the replayed head differs from the model by %.3g", worst)
	}
	return nil
}
