package web

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the team's shared test data folder, ../shared/data
// beside the repository root.
func sharedData(t testing.TB) string {
	t.Helper()

	return filepath.Join(repoRoot(t), "..", "shared", "data")
}

// repoRoot returns the folder holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()

	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getting the working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func readShared(t testing.TB, rel string) []byte {
	t.Helper()

	data, err := os.ReadFile(filepath.Join(sharedData(t), rel))
	if err != nil {
		t.Fatalf("reading test image: %v", err)
	}

	return data
}
