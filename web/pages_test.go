package web

import (
	"html"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDisclaimerIsTheModelCards(t *testing.T) {
	t.Parallel()

	card, err := os.ReadFile(filepath.Join(repoRoot(t), "models", "MODEL_CARD.md"))
	if err != nil {
		t.Fatalf("reading the model card: %v", err)
	}
	// The card opens with its disclaimer as a quote, after the title.
	var quote []string
	for _, line := range strings.Split(string(card), "\n") {
		if rest, ok := strings.CutPrefix(line, "> "); ok {
			quote = append(quote, rest)
		} else if len(quote) > 0 {
			break
		}
	}
	if got := strings.Join(quote, " "); got != Disclaimer {
		t.Fatalf("the model card's disclaimer is %q, the pages show %q", got, Disclaimer)
	}
}

func TestUploadPageShowsTheDisclaimer(t *testing.T) {
	t.Parallel()

	resp := do(t, newTestApp(t, &recorder{}, 0), httptest.NewRequest("GET", "/", nil))
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the upload page: %v", err)
	}
	if !strings.Contains(html.UnescapeString(string(page)), Disclaimer) {
		t.Fatalf("the upload page does not show the disclaimer %q:\n%s", Disclaimer, page)
	}
}
