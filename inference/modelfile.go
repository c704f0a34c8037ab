package inference

import (
	"bufio"
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

// writeExposedModel writes the model at path, with the named tensors added
// to its graph outputs, to a new temporary file and returns its name. The
// caller removes the file.
func writeExposedModel(path string, existing, names []string) (string, error) {
	raw, release, err := mapModel(path)
	if err != nil {
		return "", err
	}
	defer release()

	tmp, err := os.CreateTemp("", "dermq-model-*.onnx")
	if err != nil {
		return "", fmt.Errorf("creating a temporary model file: %w", err)
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	err = writeWithOutputs(w, raw, existing, names)
	if err == nil {
		err = w.Flush()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	return tmp.Name(), nil
}
