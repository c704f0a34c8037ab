package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultModel is where the demo model lives relative to the repository root
// or an unpacked release.
const defaultModel = "models/demo.onnx"

// findModel returns the model to load: the flag's value, else DERMQ_MODEL,
// else models/demo.onnx in the working directory, beside the binary or one
// folder above it.
func findModel(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env := os.Getenv("DERMQ_MODEL"); env != "" {
		return env, nil
	}

	candidates := []string{defaultModel}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		candidates = append(candidates,
			filepath.Join(dir, defaultModel),
			filepath.Join(dir, "..", defaultModel))
	}
	for _, path := range candidates {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}

	return "", fmt.Errorf("finding the model: none of %s exists; pass --model or set "+
		"DERMQ_MODEL: %w", strings.Join(candidates, ", "), os.ErrNotExist)
}
