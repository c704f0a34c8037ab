package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dermq/dermq/inference"
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
func filesIn(t testing.TB, dir string) []string {
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
	Image string `json:"image"`
	Error string `json:"error"`
	Model struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"model"`
	Top          []inference.Class  `json:"top"`
	Class        *inference.Class   `json:"class"`
	CAM          [][]float32        `json:"cam"`
	GradCAMError string             `json:"gradcam_error"`
	Heatmap      string             `json:"heatmap"`
	Timings      map[string]float64 `json:"timings_ms"`
	RSSBytes     uint64             `json:"rss_bytes"`
}

// predictEnv is what the tests share: the binary, the model and its
// manifest, and the test data folder.
type predictEnv struct {
	bin, model, data string
	name             string
	labels           []string
}

// newPredictEnv builds dermq and reads the demo model's name and labels
// from its manifest.
func newPredictEnv(t *testing.T) predictEnv {
	t.Helper()
	root := repoRoot(t)
	env := predictEnv{
		bin:   buildDermq(t),
		model: filepath.Join(root, "models", "demo.onnx"),
		data:  filepath.Join(root, "..", "shared", "data"),
	}
	raw, err := os.ReadFile(filepath.Join(root, "models", "demo.json"))
	if err != nil {
		t.Fatalf("reading the demo manifest: %v", err)
	}
	var m struct {
		Name   string   `json:"name"`
		Labels []string `json:"labels"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Name == "" || len(m.Labels) < 2 {
		t.Fatalf("the demo manifest has name %q and %d labels (%v): want a name and "+
			"at least 2 labels", m.Name, len(m.Labels), err)
	}
	env.name, env.labels = m.Name, m.Labels
	return env
}

// photo is one real photo of the shared test data.
func (env predictEnv) photo(name string) string {
	return filepath.Join(env.data, "images", name)
}

// run runs dermq predict with the demo model and returns its stdout,
// stderr and exit code.
func (env predictEnv) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	args = append([]string{"predict", "--model", env.model}, args...)
	cmd := exec.Command(env.bin, args...)
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
	return stdout.String(), stderr.String(), code
}

// runJSON runs `dermq predict --json` on files, writing heatmaps to out,
// and returns its lines by image, its stderr and its exit code.
func (env predictEnv) runJSON(t *testing.T, out string, files []string, args ...string) (
	map[string]predictLine, string, int) {
	t.Helper()
	args = append(append([]string{"--json", "--out", out}, args...), files...)
	stdout, stderr, code := env.run(t, args...)

	lines := map[string]predictLine{}
	scan := bufio.NewScanner(strings.NewReader(stdout))
	scan.Buffer(nil, 1<<20)
	for scan.Scan() {
		var l predictLine
		if err := json.Unmarshal(scan.Bytes(), &l); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, scan.Text())
		}
		lines[l.Image] = l
	}
	return lines, stderr, code
}

// displaySize returns the size a heatmap of the image at path must have:
// its oriented size, as inference.Inspect reads it from the header, with
// the longest side capped at the default display size.
func displaySize(t *testing.T, path string) (int, int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading image: %v", err)
	}
	info, err := inference.Inspect(data, 0)
	if err != nil {
		t.Fatalf("reading image header of %s: %v", path, err)
	}

	w, h, limit := info.Width, info.Height, inference.DefaultDisplaySize
	if w <= limit && h <= limit {
		return w, h
	}
	if w >= h {
		return limit, limit * h / w
	}
	return limit * w / h, limit
}

func TestPredictCommand(t *testing.T) {
	t.Parallel()
	env := newPredictEnv(t)

	t.Run("every real photo gets a prediction and a heatmap", func(t *testing.T) {
		t.Parallel()
		files := filesIn(t, filepath.Join(env.data, "images"))
		lines, stderr, code := env.runJSON(t, t.TempDir(), files)
		if code != 0 {
			t.Fatalf("dermq predict exited %d\n%s", code, stderr)
		}
		for _, path := range files {
			l := lines[path]
			env.checkPrediction(t, path, l)
			if l.Class.Index != l.Top[0].Index || l.Class.Probability != l.Top[0].Probability {
				t.Fatalf("%s: explained class %+v, want the top one %+v", path, *l.Class,
					l.Top[0])
			}
		}
	})

	t.Run("every awkward file gets a prediction or a clear error", func(t *testing.T) {
		t.Parallel()
		files := filesIn(t, filepath.Join(env.data, "awkward"))
		lines, stderr, code := env.runJSON(t, t.TempDir(), files)
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
			t.Fatalf("dermq predict panicked:\n%s", stderr)
		}
		failed := 0
		for _, path := range files {
			if env.checkAwkward(t, path, lines[path]) {
				failed++
			}
		}
		if failed == 0 || code != exitError {
			t.Fatalf("%d of %d awkward files failed and dermq predict exited %d: want "+
				"failures and exit %d\n%s", failed, len(files), code, exitError, stderr)
		}
		want := strconv.Itoa(failed) + " of " + strconv.Itoa(len(files)) + " images failed"
		if !strings.Contains(stderr, want) {
			t.Fatalf("stderr does not say %q:\n%s", want, stderr)
		}
	})

	t.Run("one failing image makes the exit code non-zero", func(t *testing.T) {
		t.Parallel()
		good := env.photo("dermoscopy_isic_0000000_thumbnail_256x192.jpg")
		bad := filepath.Join(t.TempDir(), "notes.jpg")
		if err := os.WriteFile(bad, []byte("not an image\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		lines, stderr, code := env.runJSON(t, t.TempDir(), []string{bad, good})
		if code != exitError {
			t.Fatalf("exit code %d, want %d\n%s", code, exitError, stderr)
		}
		if !strings.Contains(lines[bad].Error, "not an image") {
			t.Fatalf("error for a text file is %q, want it to say it is not an image",
				lines[bad].Error)
		}
		env.checkPrediction(t, good, lines[good])
	})

	t.Run("--class picks the explained class by label or by index", func(t *testing.T) {
		t.Parallel()
		photo := env.photo("dermoscopy_isic_0000001_1022x767.jpg")
		last := len(env.labels) - 1
		for _, c := range []struct {
			flag  string
			index int
		}{{env.labels[last], last}, {"1", 1}} {
			lines, stderr, code := env.runJSON(t, t.TempDir(), []string{photo},
				"--class", c.flag)
			if code != 0 {
				t.Fatalf("--class %s: exit code %d\n%s", c.flag, code, stderr)
			}
			l := lines[photo]
			env.checkPrediction(t, photo, l)
			if l.Class.Index != c.index || l.Class.Label != env.labels[c.index] {
				t.Fatalf("--class %s explained %+v, want class %d (%s)", c.flag, *l.Class,
					c.index, env.labels[c.index])
			}
		}
	})

	t.Run("an unknown --class is refused before any image is read", func(t *testing.T) {
		t.Parallel()
		photo := env.photo("dermoscopy_isic_0000000_thumbnail_256x192.jpg")
		for _, class := range []string{"no-such-class", strconv.Itoa(len(env.labels)), "-1"} {
			stdout, stderr, code := env.run(t, "--json", "--out", t.TempDir(),
				"--class", class, photo)
			if code != exitUsage || stdout != "" {
				t.Fatalf("--class %s: exit code %d with output %q, want %d and none",
					class, code, stdout, exitUsage)
			}
			if !strings.Contains(stderr, "is not a class of the model") ||
				!strings.Contains(stderr, env.labels[0]) {
				t.Fatalf("--class %s: unclear error, want it to list the labels:\n%s",
					class, stderr)
			}
		}
	})

	t.Run("images with the same name get distinct heatmaps", func(t *testing.T) {
		t.Parallel()
		data, err := os.ReadFile(env.photo("dermoscopy_isic_0000000_thumbnail_256x192.jpg"))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		var files []string
		for _, sub := range []string{"a", "b"} {
			path := filepath.Join(dir, sub, "x.jpg")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, path)
		}
		out := t.TempDir()
		lines, stderr, code := env.runJSON(t, out, files)
		if code != 0 {
			t.Fatalf("exit code %d\n%s", code, stderr)
		}
		for i, want := range []string{"x.heatmap.png", "x-2.heatmap.png"} {
			env.checkPrediction(t, files[i], lines[files[i]])
			if got := lines[files[i]].Heatmap; got != filepath.Join(out, want) {
				t.Fatalf("heatmap of %s is %s, want %s in %s", files[i], got, want, out)
			}
		}
	})

	t.Run("without --json the output is for a person to read", func(t *testing.T) {
		t.Parallel()
		photo := env.photo("dermoscopy_isic_0000002_1022x767.jpg")
		out := t.TempDir()
		stdout, stderr, code := env.run(t, "--out", out, "--top", "3", photo)
		if code != 0 {
			t.Fatalf("exit code %d\n%s", code, stderr)
		}
		heatmap := filepath.Join(out, "dermoscopy_isic_0000002_1022x767.heatmap.png")
		env.checkHumanOutput(t, stdout, photo, heatmap)
	})
}

// checkPrediction checks one successful line and its heatmap file.
func (env predictEnv) checkPrediction(t *testing.T, path string, l predictLine) {
	t.Helper()
	if l.Image == "" {
		t.Fatalf("no output line for %s", path)
	}
	if l.Error != "" {
		t.Fatalf("%s failed: %s", path, l.Error)
	}
	if l.Model.Name != env.name || l.Model.Version == "" {
		t.Fatalf("%s: model %+v, want %s with a version", path, l.Model, env.name)
	}
	if len(l.CAM) == 0 || l.GradCAMError != "" || l.RSSBytes == 0 {
		t.Fatalf("%s: %dx? map, gradcam_error %q, rss %d bytes: want a map and the RSS",
			path, len(l.CAM), l.GradCAMError, l.RSSBytes)
	}
	env.checkClasses(t, path, l)
	checkTimings(t, path, l.Timings)

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

// checkClasses checks that top lists distinct classes of the model, most
// probable first, and that the explained class is one of the model's.
func (env predictEnv) checkClasses(t *testing.T, path string, l predictLine) {
	t.Helper()
	if len(l.Top) == 0 || l.Class == nil {
		t.Fatalf("%s: top %v and class %v: want both", path, l.Top, l.Class)
	}
	seen := map[int]bool{}
	for i, c := range append(slices.Clone(l.Top), *l.Class) {
		if c.Index < 0 || c.Index >= len(env.labels) || c.Label != env.labels[c.Index] {
			t.Fatalf("%s: class %+v is not one of the model's %v", path, c, env.labels)
		}
		if c.Probability < 0 || c.Probability > 1 {
			t.Fatalf("%s: class %+v has no probability in [0, 1]", path, c)
		}
		if i == len(l.Top) {
			break
		}
		if seen[c.Index] || i > 0 && c.Probability > l.Top[i-1].Probability {
			t.Fatalf("%s: top %+v is not distinct classes, most probable first", path, l.Top)
		}
		seen[c.Index] = true
	}
}

// checkTimings checks that every step of a prediction has its time.
func checkTimings(t *testing.T, path string, timings map[string]float64) {
	t.Helper()
	for _, key := range []string{"decode_ms", "inference_ms", "gradcam_ms", "render_ms"} {
		v, ok := timings[key]
		if !ok || v < 0 {
			t.Fatalf("%s: timings_ms %v: want %s, not negative", path, timings, key)
		}
	}
	if timings["inference_ms"] == 0 || timings["decode_ms"] == 0 {
		t.Fatalf("%s: timings_ms %v: decoding and inference cannot take no time", path,
			timings)
	}
}

// checkAwkward checks that an odd file got a prediction or a readable
// error, and reports whether it failed.
func (env predictEnv) checkAwkward(t *testing.T, path string, l predictLine) bool {
	t.Helper()
	if l.Image == "" {
		t.Fatalf("no output line for %s", path)
	}
	if l.Error == "" {
		env.checkPrediction(t, path, l)
		return false
	}
	if len(l.Error) > 300 || strings.Contains(l.Error, "runtime error") {
		t.Fatalf("%s: unclear error %q", path, l.Error)
	}
	return true
}

// checkHumanOutput checks the plain-text result of one image predicted
// with --top 3.
func (env predictEnv) checkHumanOutput(t *testing.T, stdout, photo, heatmap string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < 5 || lines[0] != photo {
		t.Fatalf("output does not start with the image path:\n%s", stdout)
	}
	if !strings.HasPrefix(lines[1], "  model    "+env.name+" v") {
		t.Fatalf("second line %q does not name the model %s", lines[1], env.name)
	}
	for i := range 3 {
		// Rank, label and probability, then the label's name when the
		// manifest gives one.
		fields := strings.Fields(lines[2+i])
		p, err := strconv.ParseFloat(fields[2], 64)
		if fields[0] != strconv.Itoa(i+1)+"." || !slices.Contains(env.labels, fields[1]) ||
			err != nil || p < 0 || p > 1 {
			t.Fatalf("line %q is not rank %d, a label, a probability and a name",
				lines[2+i], i+1)
		}
	}
	for _, want := range []string{"  grad-cam for ", "  heatmap  " + heatmap,
		"  timings  decode ", " ms, inference ", " ms, grad-cam ", " ms, render ", "  rss  "} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("output lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(heatmap); err != nil {
		t.Fatalf("heatmap not written: %v", err)
	}
}

func TestHeatmapNames(t *testing.T) {
	t.Parallel()
	got := heatmapNames([]string{"a/x.jpg", "b/x.png", "x-2.jpg", "./a/x.jpg", "c/x.jpeg"})
	want := map[string]string{
		"a/x.jpg":  "x.heatmap.png",
		"b/x.png":  "x-2.heatmap.png",
		"x-2.jpg":  "x-2-2.heatmap.png",
		"c/x.jpeg": "x-3.heatmap.png",
	}
	if len(got) != len(want) {
		t.Fatalf("heatmapNames gave %v, want %v", got, want)
	}
	for path, name := range want {
		if got[path] != name {
			t.Fatalf("heatmap of %s is %q, want %q (all: %v)", path, got[path], name, got)
		}
	}
}

func absDiff(a, b int) int { return max(a-b, b-a) }
