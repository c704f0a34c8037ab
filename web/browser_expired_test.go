package web

import (
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/dermq/dermq/jobs"
)

// expiring knows one waiting prediction until the result page has read it
// once; after that the prediction is gone, as when its retention ends.
type expiring struct {
	recorder
	id    string
	reads atomic.Int32
}

func (e *expiring) Get(ctx context.Context, id string) (*jobs.Prediction, error) {
	if e.reads.Add(1) > 1 || id != e.id {
		return nil, jobs.ErrNotFound
	}

	return &jobs.Prediction{ID: id, Status: jobs.StatusStarting, CreatedAt: time.Now()}, nil
}

func TestBrowserResultPageStopsPollingWhenThePredictionIsGone(t *testing.T) {
	if _, err := exec.LookPath(chromiumPath); err != nil {
		requireOrSkip(t, "chromium missing at %s", chromiumPath)
	}
	preds := &expiring{id: jobs.NewID()}
	app, err := New(Config{Predictions: preds})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	ctx := newBrowser(t)

	err = chromedp.Do(ctx, chromedp.Navigate("http://"+ln.Addr().String()+"/predictions/"+preds.id))
	if err != nil {
		t.Fatalf("opening the result page: %v", err)
	}
	said := errNotFound().(*httpError).Message
	waitFor(t, ctx, `document.getElementById("status-words").textContent === `+
		jsString(said), "the page to say the prediction is gone")
	spinnerHidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.querySelector("#result .spinner").hidden`))
	if err != nil || !spinnerHidden {
		t.Fatalf("spinner hidden = %v (%v), want the spinner gone once polling stopped",
			spinnerHidden, err)
	}

	// The page's backoff would poll again well within 3 seconds.
	stopped := preds.reads.Load()
	time.Sleep(3 * time.Second)
	if got := preds.reads.Load(); got != stopped {
		t.Fatalf("the page read the prediction %d more times after its 404", got-stopped)
	}
	saveScreenshot(t, ctx, "browser-result-expired.png")
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
