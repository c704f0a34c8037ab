package inference

import (
	"fmt"
	"slices"
)

// camHead is the part of a graph between the last global pooling and the
// class scores, compiled so Go can replay it and differentiate it exactly.
type camHead struct {
	pool globalPool
	// scores is the tensor holding the class scores Grad-CAM explains: the
	// logits before a final Softmax or Sigmoid, or the output itself.
	scores string
	// final is the activation, "Softmax" or "Sigmoid", that turns scores
	// into the model's output; "" when the output is scores.
	final string
	ops   []*headOp
	// consts holds the float constants the ops read, such as weights.
	consts map[string]*tensor
}

// buildHead compiles the nodes that compute scores from the pooled tensor.
// Every other input they read must be a constant.
func buildHead(m *onnxModel, pool globalPool, scores string) (*camHead, error) {
	nodes, err := headNodes(&m.graph, pool, scores)
	if err != nil {
		return nil, err
	}

	h := &camHead{pool: pool, scores: scores, consts: map[string]*tensor{}}
	for _, i := range nodes {
		op, err := compileOp(&m.graph, &m.graph.nodes[i], m.opset)
		if err != nil {
			return nil, err
		}
		h.ops = append(h.ops, op)
	}

	if err := h.readConsts(&m.graph); err != nil {
		return nil, err
	}
	return h, nil
}

// headNodes walks back from scores to the pooled tensor and returns the
// indices of the nodes in between, in graph order.
func headNodes(g *onnxGraph, pool globalPool, scores string) ([]int, error) {
	seen := map[string]bool{}
	found := map[int]bool{}
	stack := []string{scores}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if name == "" || seen[name] || name == pool.output || g.constant(name) != nil {
			continue
		}
		seen[name] = true

		i := g.producer(name)
		if i <= pool.node {
			return nil, fmt.Errorf("the class scores depend on %q, which does not come "+
				"from the global pooling %q", name, pool.output)
		}
		found[i] = true
		stack = append(stack, g.nodes[i].inputs...)
	}

	nodes := make([]int, 0, len(found))
	for i := range found {
		nodes = append(nodes, i)
	}
	slices.Sort(nodes)
	return nodes, nil
}

// readConsts decodes every op input that no op computes.
func (h *camHead) readConsts(g *onnxGraph) error {
	computed := map[string]bool{h.pool.output: true}
	for _, op := range h.ops {
		for _, name := range op.inputs {
			if computed[name] || h.consts[name] != nil {
				continue
			}
			t, err := floatConstant(g, name)
			if err != nil {
				return fmt.Errorf("reading %s: %w", op.label, err)
			}
			h.consts[name] = t
		}
		computed[op.output] = true
	}
	return nil
}

// floatConstant decodes a constant of the graph as a float tensor.
func floatConstant(g *onnxGraph, name string) (*tensor, error) {
	c := g.constant(name)
	if c == nil {
		return nil, fmt.Errorf("input %q is not a constant", name)
	}
	data, err := c.floats()
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(c.dims))
	for i, d := range c.dims {
		shape[i] = int(d)
	}
	return &tensor{shape: shape, data: data}, nil
}

// forward replays the head from the pooled tensor and returns every value
// it computed, by name.
func (h *camHead) forward(pooled *tensor) (map[string]*tensor, error) {
	values := map[string]*tensor{h.pool.output: pooled}
	for _, op := range h.ops {
		in := h.gather(values, op.inputs)
		if i := slices.Index(in, nil); i >= 0 {
			return nil, fmt.Errorf("replaying %s: input %q is computed after it is used",
				op.label, op.inputs[i])
		}
		out, err := op.forward(in)
		if err != nil {
			return nil, fmt.Errorf("replaying %s: %w", op.label, err)
		}
		values[op.output] = out
	}
	return values, nil
}

// gather returns the named values, constants included.
func (h *camHead) gather(values map[string]*tensor, names []string) []*tensor {
	in := make([]*tensor, len(names))
	for i, name := range names {
		if t, ok := h.consts[name]; ok {
			in[i] = t
			continue
		}
		in[i] = values[name]
	}
	return in
}

// backward returns the gradient of scores[class] with respect to the pooled
// tensor, from the values forward computed.
func (h *camHead) backward(values map[string]*tensor, class int) *tensor {
	seed := newTensor(values[h.scores].shape)
	seed.data[class] = 1
	grads := map[string]*tensor{h.scores: seed}

	for _, op := range slices.Backward(h.ops) {
		grad := grads[op.output]
		if grad == nil {
			continue
		}
		in := h.gather(values, op.inputs)
		need := make([]bool, len(op.inputs))
		for i, name := range op.inputs {
			_, isConst := h.consts[name]
			need[i] = !isConst
		}
		for i, g := range op.backward(in, values[op.output], grad, need) {
			if need[i] && g != nil {
				accumulate(grads, op.inputs[i], g)
			}
		}
	}

	if g := grads[h.pool.output]; g != nil {
		return g
	}
	return newTensor(values[h.pool.output].shape)
}

// accumulate adds g to the gradient stored under name.
func accumulate(grads map[string]*tensor, name string, g *tensor) {
	sum, ok := grads[name]
	if !ok {
		grads[name] = &tensor{shape: g.shape, data: slices.Clone(g.data)}
		return
	}
	for i, v := range g.data {
		sum.data[i] += v
	}
}
