package inference

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// CodeUnknownClass is the InputError code for a requested class that is not
// one of the model's.
const CodeUnknownClass = "unknown_class"

// softmax returns the softmax of scores.
func softmax(scores []float64) []float64 {
	out := make([]float64, len(scores))
	softmaxGroup(scores, out, 0, len(scores), 1)
	return out
}

// sigmoids returns the logistic function of each score.
func sigmoids(scores []float64) []float64 {
	out := make([]float64, len(scores))
	for i, v := range scores {
		out[i] = sigmoid(v)
	}
	return out
}

// probabilities turns the model's output into class probabilities.
func probabilities(output []float32, kind string) []float64 {
	values := make([]float64, len(output))
	for i, v := range output {
		values[i] = float64(v)
	}
	if kind == OutputLogits {
		return softmax(values)
	}
	return values
}

// topK returns the k most probable classes, most probable first; ties keep
// class order.
func topK(probs []float64, labels []string, k int) []Class {
	order := make([]int, len(probs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })

	k = min(k, len(order))
	out := make([]Class, k)
	for i, c := range order[:k] {
		out[i] = classOf(c, probs, labels)
	}
	return out
}

// classOf describes class index c.
func classOf(c int, probs []float64, labels []string) Class {
	return Class{Index: c, Label: labelOf(c, labels), Probability: probs[c]}
}

// labelOf names class c, "class_c" past the end of labels.
func labelOf(c int, labels []string) string {
	if c < len(labels) {
		return labels[c]
	}
	return fmt.Sprintf("class_%d", c)
}

// resolveClass reads a requested class, a label or a decimal index, as a
// class index; "" means the top class and gives -1. count is the number of
// classes, or 0 when it is not known yet.
func resolveClass(requested string, labels []string, count int) (int, error) {
	if requested == "" {
		return -1, nil
	}
	for i, l := range labels {
		if l == requested {
			return i, nil
		}
	}
	i, err := strconv.Atoi(requested)
	if err == nil && i >= 0 && (count == 0 || i < count) {
		return i, nil
	}
	return 0, &InputError{
		Code:    CodeUnknownClass,
		Message: fmt.Sprintf("unknown class %q: use a label of the model or an index", requested),
	}
}

// isFinite reports whether every probability is a number.
func isFinite(probs []float64) bool {
	for _, p := range probs {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return false
		}
	}
	return true
}
