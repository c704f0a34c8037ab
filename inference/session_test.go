package inference

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// pb helpers encode the few ONNX messages slowModel needs.
func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func pbNode(op string, in []string, out string) []byte {
	var n []byte
	for _, name := range in {
		n = pbBytes(n, 1, []byte(name))
	}
	n = pbBytes(n, 2, []byte(out))
	return pbBytes(n, 4, []byte(op))
}

func pbInt64s(name string, values ...int64) []byte {
	raw := make([]byte, 8*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	t := pbVarint(nil, 1, uint64(len(values)))
	t = pbVarint(t, 2, onnxInt64)
	t = pbBytes(t, 8, []byte(name))
	return pbBytes(t, 9, raw)
}

func pbFloatValue(name string, dims ...int64) []byte {
	var shape []byte
	for _, d := range dims {
		shape = pbBytes(shape, 1, pbVarint(nil, 1, uint64(d)))
	}
	tensor := pbVarint(nil, 1, onnxFloat)
	if dims != nil {
		tensor = pbBytes(tensor, 2, shape)
	}
	return pbBytes(pbBytes(nil, 1, []byte(name)), 2, pbBytes(nil, 1, tensor))
}

// slowModel builds a model that takes many seconds: a 3072x3072 matrix tiled
// from the input, multiplied by itself in a long chain of MatMul nodes.
func slowModel(steps int) []byte {
	var g []byte
	g = pbBytes(g, 1, pbNode("Reshape", []string{"x", "row"}, "flat"))
	g = pbBytes(g, 1, pbNode("Tile", []string{"flat", "repeats"}, "m0"))
	prev := "m0"
	for i := range steps {
		out := "m" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		g = pbBytes(g, 1, pbNode("MatMul", []string{prev, "m0"}, out))
		prev = out
	}
	g = pbBytes(g, 1, pbNode("ReduceMean", []string{prev}, "y"))
	g = pbBytes(g, 5, pbInt64s("row", 1, 3072))
	g = pbBytes(g, 5, pbInt64s("repeats", 3072, 1))
	g = pbBytes(g, 11, pbFloatValue("x", 1, 3, 32, 32))
	g = pbBytes(g, 12, pbFloatValue("y"))

	m := pbVarint(nil, 1, 8)
	m = pbBytes(m, 8, pbVarint(pbBytes(nil, 1, nil), 2, 13))
	return pbBytes(m, 7, g)
}

// watchedContext reports, once, when someone first waits on Done: the run's
// watcher does so only after the input is ready and the run is starting.
type watchedContext struct {
	context.Context
	waiting chan struct{}
	once    sync.Once
}

func (c *watchedContext) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

func TestCancellingTheContextStopsARun(t *testing.T) {
	t.Parallel()
	if err := ortProcess.load(testLibrary); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "slow.onnx")
	if err := os.WriteFile(path, slowModel(60), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := newSession(sessionConfig{modelPath: path, input: "x",
		outputs: []string{"y"}, threads: 1, arena: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()

	parent, cancel := context.WithCancel(context.Background())
	ctx := &watchedContext{Context: parent, waiting: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := s.run(ctx, []int64{1, 3, 32, 32}, make([]float32, 3072))
		done <- err
	}()
	<-ctx.waiting
	cancel()

	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("run returned %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the run went on after its context was cancelled")
	}
}
