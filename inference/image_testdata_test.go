package inference

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// imageDataDir returns ../shared/data/SUB relative to the repository root
// (the folder holding go.mod). From a git worktree nested deeper, the
// nearest shared/data above the root is used.
func imageDataDir(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getting the working directory: %v", err)
	}
	for !fileExists(filepath.Join(dir, "go.mod")) {
		dir = parentDir(t, dir)
	}
	for {
		dir = parentDir(t, dir)
		if fileExists(filepath.Join(dir, "shared", "data")) {
			return filepath.Join(dir, "shared", "data", sub)
		}
	}
}

func parentDir(t testing.TB, dir string) string {
	t.Helper()
	parent := filepath.Dir(dir)
	if parent == dir {
		t.Fatalf("no go.mod with a ../shared/data folder above the working directory")
	}
	return parent
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// imageDataFiles lists the files of ../shared/data/SUB, failing when there
// are none.
func imageDataFiles(t testing.TB, sub string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(imageDataDir(t, sub), "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("listing test images in %s: %d files, %v", sub, len(files), err)
	}
	return files
}

func readImageFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return data
}

// pilPython is the interpreter that has PIL; the python3 on PATH may not.
const pilPython = "/usr/bin/python3"

// requirePIL skips the test when PIL is missing, or fails it when the CI
// environment variable is set (CI installs python3-pil).
func requirePIL(t *testing.T) {
	t.Helper()
	err := exec.Command(pilPython, "-c", "import PIL.Image, PIL.ImageOps").Run()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("PIL is needed for the parity test: %s -c 'import PIL': %v", pilPython, err)
	}
	t.Skipf("PIL is missing (%s: %v); install python3-pil to run this test", pilPython, err)
}

// pilReference returns the RGB bytes PIL makes of an image: EXIF transposed,
// converted to RGB and, unless width is 0, resized with filter.
func pilReference(t *testing.T, path string, width, height int, filter string) []byte {
	t.Helper()
	args := []string{filepath.Join("testdata", "pil_reference.py"), path,
		strconv.Itoa(width), strconv.Itoa(height), filter}
	out, err := exec.Command(pilPython, args...).Output()
	if err != nil {
		t.Fatalf("running pil_reference.py on %s: %v", filepath.Base(path), err)
	}
	return out
}
