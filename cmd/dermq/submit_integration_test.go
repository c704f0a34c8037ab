package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// submitImages is how many images the test folder holds.
const submitImages = 300

// notImages are the shared awkward files whose content is no image.
var notImages = map[string]bool{"empty_zero_bytes.jpg": true}

// TestSubmitFolderSurvivesInterruption submits a folder of 300 images with
// the built binary to a real web process and a real worker (the demo model),
// interrupts the upload half-way with SIGINT, runs the same command again
// with --wait, and checks the results: one row per image, right paths,
// failures explained, heatmaps mirrored, one batch webhook.
func TestSubmitFolderSurvivesInterruption(t *testing.T) {
	redisURL := submitTestRedis(t)
	bin := buildDermq(t)
	hook := newHookReceiver(t)
	server, web, worker := startDermq(t, bin, redisURL)
	slow := slowUploads(t, server, 15*time.Millisecond)
	dir, images := buildSubmitFolder(t)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"submit", dir, "--server", slow, "--out", out, "--webhook", hook.url()}

	t.Run("an interrupted upload stops half-way and journals what it sent", func(t *testing.T) {
		code, stderr := runSubmitInterrupted(t, bin, args, submitImages/2)
		if code != exitInterrupted {
			t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
		}

		sent := journalledItems(t, out)
		if sent < submitImages/2 || sent >= submitImages {
			t.Fatalf("state file lists %d images, want from %d to %d", sent,
				submitImages/2, submitImages-1)
		}
	})

	var stdout string
	t.Run("running it again with --wait finishes and reports the failures", func(t *testing.T) {
		var code int
		code, stdout = runSubmitToEnd(t, bin, append(args, "--wait", "--poll", "100ms"))
		if code != exitImagesFailed {
			t.Fatalf("exit code %d, want %d (some awkward files fail); stdout:\n%s", code,
				exitImagesFailed, stdout)
		}
		if !strings.Contains(stdout, fmt.Sprintf("%d images:", submitImages)) ||
			!strings.Contains(stdout, "skipped as not images:") {
			t.Fatalf("summary lacks the counts:\n%s", stdout)
		}
	})

	rows := readResultsCSV(t, filepath.Join(out, "results.csv"))
	t.Run("results hold exactly one row per image", func(t *testing.T) {
		checkOneRowPerImage(t, rows, images)
	})

	t.Run("real and generated images succeed and only awkward files fail", func(t *testing.T) {
		checkOutcomes(t, rows, images, stdout)
	})

	t.Run("heatmaps mirror the folder structure", func(t *testing.T) {
		checkHeatmaps(t, out, rows)
	})

	t.Run("the server counted each image once", func(t *testing.T) {
		checkServerBatch(t, server, batchOf(t, out))
	})

	t.Run("the batch webhook fires once", func(t *testing.T) {
		hook.checkOnce(t, batchOf(t, out))
	})

	t.Run("an image added after the batch was sealed is refused, not lost", func(t *testing.T) {
		photo := filepath.Join(repoRoot(t), "..", "shared", "data", "images",
			"dermoscopy_isic_0000001_1022x767.jpg")
		data, err := os.ReadFile(photo)
		if err != nil {
			t.Fatalf("reading %s: %v", photo, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "late.jpg"), data, 0o644); err != nil {
			t.Fatalf("adding an image: %v", err)
		}
		output, err := exec.Command(bin, args...).CombinedOutput()
		if code := exitCode(t, err); code != 1 || !strings.Contains(string(output), "late.jpg") ||
			!strings.Contains(string(output), "another --out") {
			t.Fatalf("exit code %d, output:\n%s\nwant 1 and a message naming late.jpg "+
				"and saying to use another --out", code, output)
		}
		checkServerBatch(t, server, batchOf(t, out))
	})

	t.Run("only the worker loaded ONNX Runtime", func(t *testing.T) {
		if mapsONNXRuntime(t, web.Process.Pid) {
			t.Fatalf("dermq web (pid %d) has ONNX Runtime mapped", web.Process.Pid)
		}
		if !mapsONNXRuntime(t, worker.Process.Pid) {
			t.Fatalf("dermq worker (pid %d) has no ONNX Runtime mapped after its jobs",
				worker.Process.Pid)
		}
	})
}

// mapsONNXRuntime reports whether process pid has the ONNX Runtime library
// mapped into its memory.
func mapsONNXRuntime(t *testing.T, pid int) bool {
	t.Helper()

	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatalf("reading the memory map of pid %d: %v", pid, err)
	}
	return strings.Contains(string(maps), "libonnxruntime")
}

// slowUploads puts a proxy in front of the server that holds each image
// upload back by delay, as a slow link would, so the interruption lands
// half-way whatever the machine's speed.
func slowUploads(t *testing.T, server string, delay time.Duration) string {
	t.Helper()

	target, _ := url.Parse(server)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/images") {
			time.Sleep(delay)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	return srv.URL
}

// buildSubmitFolder writes the test folder: the shared real photos, the
// shared awkward files, generated images in nested folders (enough to make
// submitImages images), non-image files and a symlink leading out. It
// returns the folder and each image's relative path with its kind.
func buildSubmitFolder(t *testing.T) (string, map[string]string) {
	t.Helper()

	dir := filepath.Join(t.TempDir(), "photos")
	images := map[string]string{}
	shared := filepath.Join(repoRoot(t), "..", "shared", "data")
	copyShared(t, filepath.Join(shared, "images"), dir, "real", "real", images)
	copyShared(t, filepath.Join(shared, "awkward"), dir, "odd/awkward", "awkward", images)

	for i := 0; len(images) < submitImages; i++ {
		rel := fmt.Sprintf("generated/set%d/day%d/img%03d", i%4, i%3, i)
		rel += map[bool]string{true: ".png", false: ".jpg"}[i%5 == 0]
		writeTestFile(t, filepath.Join(dir, rel), generatedImage(t, i))
		images[rel] = "generated"
	}

	writeTestFile(t, filepath.Join(dir, "notes.txt"), []byte("field notes, not a photo"))
	writeTestFile(t, filepath.Join(dir, "generated", "index.csv"), []byte("a,b\n1,2\n"))
	writeTestFile(t, filepath.Join(dir, "real", "looks-like.jpg"), []byte("plain text"))
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "outside.jpg")); err != nil {
		t.Fatalf("linking: %v", err)
	}

	return dir, images
}

// copyShared copies every file of src into dir/rel, recording the images
// as kind.
func copyShared(t *testing.T, src, dir, rel, kind string, images map[string]string) {
	t.Helper()

	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatalf("reading %s: %v", src, err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatalf("reading %s: %v", e.Name(), err)
		}
		writeTestFile(t, filepath.Join(dir, filepath.FromSlash(rel), e.Name()), data)
		if !notImages[e.Name()] {
			images[rel+"/"+e.Name()] = kind
		}
	}
}

// uploadLine matches a plain progress line of the upload phase.
var uploadLine = regexp.MustCompile(`^uploading +\[[# ]*\] (\d+)/(\d+)`)

// runSubmitInterrupted runs dermq submit and sends SIGINT once the progress
// shows at least after images uploaded. It returns the exit code and stderr.
func runSubmitInterrupted(t *testing.T, bin string, args []string, after int) (int, string) {
	t.Helper()

	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("piping stderr: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dermq submit: %v", err)
	}

	var lines strings.Builder
	sc := bufio.NewScanner(stderr)
	signalled := false
	for sc.Scan() {
		lines.WriteString(sc.Text() + "\n")
		m := uploadLine.FindStringSubmatch(sc.Text())
		if n, _ := strconv.Atoi(safeGroup(m)); !signalled && n >= after {
			cmd.Process.Signal(os.Interrupt)
			signalled = true
		}
	}

	return exitCode(t, cmd.Wait()), lines.String()
}

// safeGroup is the first group of a match, or "".
func safeGroup(m []string) string {
	if len(m) < 2 {
		return ""
	}

	return m[1]
}

// runSubmitToEnd runs dermq submit to the end and returns its exit code and
// stdout (stderr goes to the test log on failure).
func runSubmitToEnd(t *testing.T, bin string, args []string) (int, string) {
	t.Helper()

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := exitCode(t, cmd.Run())
	if t.Failed() || code != exitImagesFailed {
		t.Logf("dermq submit stderr:\n%s", stderr.String())
	}

	return code, stdout.String()
}

// journalledItems counts the item records of the state file.
func journalledItems(t *testing.T, out string) int {
	t.Helper()

	data, err := os.ReadFile(filepath.Join(out, stateFileName))
	if err != nil {
		t.Fatalf("reading the state file: %v", err)
	}

	return strings.Count(string(data), `"kind":"item"`)
}

// checkOneRowPerImage checks that the rows name each image exactly once.
func checkOneRowPerImage(t *testing.T, rows []map[string]string, images map[string]string) {
	t.Helper()

	seen := map[string]int{}
	for _, row := range rows {
		seen[row["path"]]++
		if images[row["path"]] == "" {
			t.Fatalf("row for %q, which is no image of the folder", row["path"])
		}
	}
	for path := range images {
		if seen[path] != 1 {
			t.Fatalf("%q has %d rows, want 1", path, seen[path])
		}
	}
	if len(rows) != submitImages {
		t.Fatalf("%d rows, want %d", len(rows), submitImages)
	}
}

// checkOutcomes checks that every real and generated image succeeded with a
// label, that failures are awkward files with a code and a message, and
// that the files no decoder reads are among them.
func checkOutcomes(t *testing.T, rows []map[string]string, images map[string]string,
	summary string) {
	t.Helper()

	failed := map[string]bool{}
	for _, row := range rows {
		kind := images[row["path"]]
		switch {
		case row["status"] == "succeeded" && row["label"] != "" && row["probability"] != "":
		case row["status"] != "failed":
			t.Fatalf("%s ended %q, want succeeded or failed", row["path"], row["status"])
		case kind != "awkward":
			t.Fatalf("%s image %s failed: %s", kind, row["path"], row["error"])
		case row["error_code"] == "" || row["error"] == "":
			t.Fatalf("%s failed without a reason: %v", row["path"], row)
		default:
			failed[row["path"]] = true
			if !strings.Contains(summary, row["path"]+": "+row["error_code"]) {
				t.Fatalf("summary does not explain %s:\n%s", row["path"], summary)
			}
		}
	}

	for _, name := range []string{"heic_iphone7plus_exif6_4032x3024.heic",
		"png_declares_50000x50000_1bit.png"} {
		if !failed["odd/awkward/"+name] {
			t.Fatalf("odd/awkward/%s did not fail; failures: %v", name, failed)
		}
	}
}

// checkHeatmaps checks that each succeeded image has its heatmap PNG at the
// mirrored path.
func checkHeatmaps(t *testing.T, out string, rows []map[string]string) {
	t.Helper()

	for _, row := range rows {
		if row["status"] != "succeeded" {
			continue
		}
		name := filepath.Join(out, "heatmaps", filepath.FromSlash(row["path"])+".heatmap.png")
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("heatmap of %s: %v", row["path"], err)
		}
		if _, err := png.DecodeConfig(bytes.NewReader(data)); err != nil {
			t.Fatalf("heatmap of %s is not a PNG: %v", row["path"], err)
		}
	}
}

// checkServerBatch checks the server's own view: completed, every image
// counted once.
func checkServerBatch(t *testing.T, server, batch string) {
	t.Helper()

	resp, err := http.Get(server + "/api/v1/batches/" + batch + "?page_size=0")
	if err != nil {
		t.Fatalf("reading the batch: %v", err)
	}
	defer resp.Body.Close()

	var b struct {
		Status string
		Total  int
		Ended  int
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatalf("decoding the batch: %v", err)
	}
	if b.Status != "completed" || b.Total != submitImages || b.Ended != submitImages {
		t.Fatalf("batch = %+v, want completed with %d images ended", b, submitImages)
	}
}

// hookReceiver is a webhook receiver on loopback that keeps every body (a
// body that came without a Standard Webhooks signature is marked so).
type hookReceiver struct {
	srv    *httptest.Server
	bodies chan []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()

	h := &hookReceiver{bodies: make(chan []byte, 16)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.HasPrefix(r.Header.Get("webhook-signature"), "v1,") {
			body = []byte("unsigned delivery: " + string(body))
		}
		h.bodies <- body
	}))
	t.Cleanup(h.srv.Close)

	return h
}

func (h *hookReceiver) url() string { return h.srv.URL + "/batch-done" }

// checkOnce waits for the batch's delivery and checks no second one comes.
func (h *hookReceiver) checkOnce(t *testing.T, batch string) {
	t.Helper()

	var body []byte
	select {
	case body = <-h.bodies:
	case <-time.After(15 * time.Second):
		t.Fatalf("no webhook delivery arrived")
	}

	var b struct {
		ID     string
		Status string
		Total  int
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("decoding the webhook body %s: %v", body, err)
	}
	if b.ID != batch || b.Status != "completed" || b.Total != submitImages {
		t.Fatalf("webhook body = %s, want batch %s completed with %d images", body, batch,
			submitImages)
	}

	select {
	case again := <-h.bodies:
		t.Fatalf("a second webhook delivery arrived: %s", again)
	case <-time.After(2 * time.Second):
	}
}
