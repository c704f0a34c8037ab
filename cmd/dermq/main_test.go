package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/dermq/dermq/inference"
)

// TestMain makes sure the ONNX Runtime library is in the cache, fetching it
// on a fresh machine, before the tests run dermq commands that load a model.
func TestMain(m *testing.M) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := inference.EnsureLibrary(context.Background(), logger); err != nil {
		fmt.Fprintf(os.Stderr, "dermq tests need ONNX Runtime: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	removeTestBinary()
	os.Exit(code)
}
