package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/dermq/dermq/jobs"
)

// chromiumPath is the browser the test drives (Debian's chromium package).
const chromiumPath = "/usr/bin/chromium"

// browserDeadline bounds the whole browser test.
const browserDeadline = 3 * time.Minute

// heatmapShown is true once the result page shows a loaded heatmap.
const heatmapShown = `(() => {
	const h = document.getElementById("heatmap");
	return h !== null && h.complete && h.naturalWidth > 0;
})()`

// TestBrowserUpload uploads a photo through the form in headless Chromium and
// watches the result page go from waiting to the heatmap. Screenshots of both
// states are kept in the artifacts folder.
func TestBrowserUpload(t *testing.T) {
	if _, err := exec.LookPath(chromiumPath); err != nil {
		requireOrSkip(t, "chromium missing at %s", chromiumPath)
	}
	s := startStack(t, realEngine(t))
	ctx := newBrowser(t)
	photo := filepath.Join(sharedData(t), "images", "dermoscopy_10mp_3872x2592_no_jfif.jpg")

	err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/"),
		chromedp.SetUploadFiles(chromedp.CSS("#image"), []string{photo}),
		chromedp.Click(chromedp.CSS("#submit")),
	)
	if err != nil {
		t.Fatalf("uploading through the form: %v", err)
	}

	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#status-words"))); err != nil {
		t.Fatalf("waiting for the result page to show the waiting status: %v", err)
	}
	waiting, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#status-words")))
	if err != nil {
		t.Fatalf("reading the waiting status: %v", err)
	}
	queued, running := statusWords(jobs.StatusStarting), statusWords(jobs.StatusProcessing)
	if waiting != queued && waiting != running {
		t.Fatalf("waiting status = %q, want %q or %q", waiting, queued, running)
	}
	saveScreenshot(t, ctx, "browser-upload-waiting.png")

	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#heatmap"))); err != nil {
		t.Fatalf("waiting for the heatmap: %v", err)
	}
	waitFor(t, ctx, heatmapShown, "the heatmap to load")
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`document.querySelectorAll(".bars li").length`))
	if err != nil || bars != 5 {
		t.Fatalf("result page shows %d class bars (%v), want 5", bars, err)
	}
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".bars li .label")))
	if err != nil || !regexp.MustCompile(`^[A-Z][a-z ]+ \([a-z]+\)$`).MatchString(first) {
		t.Fatalf("first class reads %q (%v), want the manifest's name and the label", first,
			err)
	}
	saveScreenshot(t, ctx, "browser-upload-result.png")

	checkOpacitySlider(t, ctx)
}

// checkOpacitySlider moves the slider to its minimum with the keyboard, as a
// person would, and checks that the heatmap overlay follows it.
func checkOpacitySlider(t *testing.T, ctx context.Context) {
	t.Helper()

	opacity := `getComputedStyle(document.getElementById("heatmap")).opacity`
	before, err := chromedp.Run(ctx, chromedp.Evaluate[string](opacity))
	if err != nil || before != "0.6" {
		t.Fatalf("heatmap opacity before moving the slider = %q (%v), want 0.6", before, err)
	}

	err = chromedp.Do(ctx, chromedp.Focus(chromedp.CSS("#opacity")), chromedp.KeyEvent(kb.Home))
	if err != nil {
		t.Fatalf("moving the opacity slider: %v", err)
	}
	after, err := chromedp.Run(ctx, chromedp.Evaluate[string](opacity))
	if err != nil || after != "0" {
		t.Fatalf("heatmap opacity with the slider at 0 = %q (%v), want 0", after, err)
	}
}

// newBrowser starts headless Chromium with a fresh profile for this test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()

	profile, err := os.MkdirTemp("", "dermq-chromium-")
	if err != nil {
		t.Fatalf("making a browser profile folder: %v", err)
	}
	// Chromium's helpers may still write there for a moment after it stops,
	// so the folder is removed on a best-effort basis.
	t.Cleanup(func() { _ = os.RemoveAll(profile) })

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	// Every step runs under one deadline, so that a page that never shows
	// what a step waits for fails the test in minutes, not at go test's
	// timeout. It is generous: the 10 MP photo runs through the real model
	// on a small shared machine.
	ctx, cancelDeadline := context.WithTimeout(ctx, browserDeadline)
	t.Cleanup(func() {
		cancelDeadline()
		cancelCtx()
		cancelAlloc()
	})

	return ctx
}

func waitFor(t *testing.T, ctx context.Context, expression, what string) {
	t.Helper()

	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expression,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(2*time.Minute)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// saveScreenshot writes the viewport to $DERMQ_ARTIFACTS, or to
// testdata/artifacts at the repository root (ignored by git).
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()

	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("taking a screenshot: %v", err)
	}

	dir := os.Getenv("DERMQ_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("making the artifacts folder: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("saving the screenshot: %v", err)
	}
	t.Logf("screenshot saved to %s", path)
}
