package inference

import (
	"fmt"
	"os"
	"syscall"
)

// mapModel maps a model file into memory read-only, so reading a large model
// does not grow the Go heap. The bytes are valid until release is called;
// nothing read from them may keep pointing into them after that.
func mapModel(path string) (data []byte, release func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()

	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return nil, func() {}, nil
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	return data, func() { _ = syscall.Munmap(data) }, nil
}

// exposedModel returns the model at path, with the named tensors added to
// its graph outputs, in an anonymous memory map outside the Go heap.
func exposedModel(path string, existing, names []string) ([]byte, func(), error) {
	raw, release, err := mapModel(path)
	if err != nil {
		return nil, nil, err
	}
	defer release()

	size := len(raw) + 64
	for _, n := range names {
		size += len(n) + 32
	}
	buf, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping memory for the model: %w", err)
	}
	w := &fixedWriter{buf: buf}
	if err := writeWithOutputs(w, raw, existing, names); err != nil {
		_ = syscall.Munmap(buf)
		return nil, nil, err
	}
	return buf[:w.n], func() { _ = syscall.Munmap(buf) }, nil
}

type fixedWriter struct {
	buf []byte
	n   int
}

func (w *fixedWriter) Write(p []byte) (int, error) {
	if len(p) > len(w.buf)-w.n {
		return 0, fmt.Errorf("the edited model outgrows its %d bytes", len(w.buf))
	}
	w.n += copy(w.buf[w.n:], p)
	return len(p), nil
}
