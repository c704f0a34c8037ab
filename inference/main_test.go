package inference

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
)

// testLibrary is the ONNX Runtime library every test in the package uses.
var testLibrary string

// TestMain makes sure the real ONNX Runtime library is present, fetching it
// on a fresh machine, before any test runs.
func TestMain(m *testing.M) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	path, err := EnsureLibrary(context.Background(), logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "inference tests need ONNX Runtime: %v\n", err)
		os.Exit(1)
	}
	testLibrary = path
	os.Exit(m.Run())
}
