package inference

import (
	"fmt"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ortProcess is the ONNX Runtime environment of this process. onnxruntime_go
// holds exactly one environment per process, so this one variable mirrors
// that global state; everything else comes in through Options.
var ortProcess ortEnvironment

// ortEnvironment loads the ONNX Runtime library once and remembers from
// where. It is never torn down: sessions come and go, the library stays.
type ortEnvironment struct {
	mu   sync.Mutex
	path string
}

// load initialises ONNX Runtime from the library at path, once per process.
// Asking for a different library later is an error.
func (e *ortEnvironment) load(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", path, err)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.path == abs {
		return nil
	}
	if e.path != "" {
		return fmt.Errorf("loading ONNX Runtime from %s: this process already loaded %s",
			abs, e.path)
	}

	ort.SetSharedLibraryPath(abs)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("loading ONNX Runtime from %s: %w", abs, err)
	}
	e.path = abs
	return nil
}
