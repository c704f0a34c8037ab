package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"image"
	_ "image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getting working dir: %v", err)
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

// buildDermq compiles the dermq binary into a temporary folder.
func buildDermq(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dermq")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building dermq: %v\n%s", err, out)
	}
	return bin
}

// filesIn lists the regular files of dir, failing the test when there are none.
func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading test data: %v", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		t.Fatalf("no files in %s", dir)
	}
	return files
}

// predictLine is one line of `dermq predict --json`, success or failure.
type predictLine struct {
	Image   string      `json:"image"`
	Error   string      `json:"error"`
	Heatmap string      `json:"heatmap"`
	CAM     [][]float32 `json:"cam"`
	Top     []struct {
		Label       string  `json:"label"`
		Probability float64 `json:"probability"`
	} `json:"top"`
	RSSBytes uint64 `json:"rss_bytes"`
}

// runPredictJSON runs `dermq predict --json` on files and returns its lines
// by image, its stderr and its exit code.
func runPredictJSON(t *testing.T, bin, root string, files []string) (
	map[string]predictLine, string, int) {
	t.Helper()
	out := t.TempDir()
	args := append([]string{"predict", "--json", "--out", out,
		"--model", filepath.Join(root, "models", "demo.onnx")}, files...)
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("running dermq predict: %v", err)
		}
		code = exit.ExitCode()
	}

	lines := map[string]predictLine{}
	scan := bufio.NewScanner(&stdout)
	scan.Buffer(nil, 1<<20)
	for scan.Scan() {
		var l predictLine
		if err := json.Unmarshal(scan.Bytes(), &l); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, scan.Text())
		}
		lines[l.Image] = l
	}
	return lines, stderr.String(), code
}

// rotated matches the test images whose EXIF orientation swaps width and height.
var rotated = regexp.MustCompile(`exif6|orientation6`)

// displaySize returns the size a heatmap of the image at path must have:
// its oriented size with the longest side capped at 1024.
func displaySize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening image: %v", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		t.Fatalf("reading image header of %s: %v", path, err)
	}

	w, h := cfg.Width, cfg.Height
	if rotated.MatchString(filepath.Base(path)) {
		w, h = h, w
	}
	if w <= 1024 && h <= 1024 {
		return w, h
	}
	if w >= h {
		return 1024, 1024 * h / w
	}
	return 1024 * w / h, 1024
}

func TestPredictCommand(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	bin := buildDermq(t)
	data := filepath.Join(root, "..", "shared", "data")

	t.Run("every real photo gets a prediction and a heatmap", func(t *testing.T) {
		t.Parallel()
		files := filesIn(t, filepath.Join(data, "images"))
		lines, stderr, code := runPredictJSON(t, bin, root, files)
		if code != 0 {
			t.Fatalf("dermq predict exited %d\n%s", code, stderr)
		}
		for _, path := range files {
			checkPrediction(t, path, lines[path])
		}
	})

	t.Run("every awkward file gets a prediction or a clear error", func(t *testing.T) {
		t.Parallel()
		files := filesIn(t, filepath.Join(data, "awkward"))
		lines, stderr, code := runPredictJSON(t, bin, root, files)
		if code != 0 && code != exitError {
			t.Fatalf("dermq predict exited %d\n%s", code, stderr)
		}
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
			t.Fatalf("dermq predict panicked:\n%s", stderr)
		}
		for _, path := range files {
			checkAwkward(t, path, lines[path])
		}
	})
}

// checkPrediction checks one successful line and its heatmap file.
func checkPrediction(t *testing.T, path string, l predictLine) {
	t.Helper()
	if l.Image == "" {
		t.Fatalf("no output line for %s", path)
	}
	if l.Error != "" {
		t.Fatalf("%s failed: %s", path, l.Error)
	}
	if len(l.Top) == 0 || len(l.CAM) == 0 || l.RSSBytes == 0 {
		t.Fatalf("%s: incomplete result %+v", path, l)
	}

	f, err := os.Open(l.Heatmap)
	if err != nil {
		t.Fatalf("%s: opening heatmap: %v", path, err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: heatmap is not a PNG: %v", path, err)
	}

	w, h := displaySize(t, path)
	if absDiff(cfg.Width, w) > 1 || absDiff(cfg.Height, h) > 1 {
		t.Fatalf("%s: heatmap is %dx%d, want %dx%d", path, cfg.Width, cfg.Height, w, h)
	}
}

// checkAwkward checks that an odd file got a prediction or a readable error.
func checkAwkward(t *testing.T, path string, l predictLine) {
	t.Helper()
	if l.Image == "" {
		t.Fatalf("no output line for %s", path)
	}
	if l.Error == "" {
		if _, err := os.Stat(l.Heatmap); err != nil && len(l.CAM) > 0 {
			t.Fatalf("%s: heatmap missing: %v", path, err)
		}
		return
	}
	if len(l.Error) > 300 || strings.Contains(l.Error, "runtime error") {
		t.Fatalf("%s: unclear error %q", path, l.Error)
	}
}

func absDiff(a, b int) int { return max(a-b, b-a) }
