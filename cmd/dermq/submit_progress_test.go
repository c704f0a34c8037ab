package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressBarPlainLines(t *testing.T) {
	t.Parallel()

	t.Run("a plain bar prints once per whole percent", func(t *testing.T) {
		t.Parallel()

		var buf bytes.Buffer
		bar := newProgressBar(&buf, false, "uploading", 300, 0)
		for range 300 {
			bar.add(1, 0)
		}
		bar.finish()

		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 102 {
			t.Fatalf("got %d lines, want 102 (start, 100 percents, finish)", len(lines))
		}
		if !strings.Contains(lines[50], "150/300  50%") {
			t.Fatalf("line 50 = %q, want 150/300 at 50%%", lines[50])
		}
	})

	t.Run("a resumed bar shows the rate and failures", func(t *testing.T) {
		t.Parallel()

		var buf bytes.Buffer
		bar := newProgressBar(&buf, false, "uploading", 10, 5)
		bar.add(1, 1)

		last := strings.TrimSpace(buf.String())
		last = last[strings.LastIndexByte(last, '\n')+1:]
		for _, want := range []string{"6/10", "/s eta", "failed 1"} {
			if !strings.Contains(last, want) {
				t.Fatalf("line %q lacks %q", last, want)
			}
		}
	})
}

func TestParseSubmitFlags(t *testing.T) {
	t.Parallel()

	t.Run("flags may follow the folder", func(t *testing.T) {
		t.Parallel()

		var stderr bytes.Buffer
		cfg, err := parseSubmitFlags([]string{"photos", "--server", "http://h:1",
			"--concurrency", "8", "--wait"}, &stderr)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if cfg.Dir != "photos" || cfg.Server != "http://h:1" || cfg.Concurrency != 8 || !cfg.Wait {
			t.Fatalf("cfg = %+v", cfg)
		}
		if cfg.Out != "photos-dermq" {
			t.Fatalf("Out = %q, want photos-dermq", cfg.Out)
		}
	})

	t.Run("two folders are refused", func(t *testing.T) {
		t.Parallel()

		var stderr bytes.Buffer
		if _, err := parseSubmitFlags([]string{"a", "b"}, &stderr); err == nil {
			t.Fatalf("parse of two folders succeeded")
		}
	})

	t.Run("a zero concurrency is refused", func(t *testing.T) {
		t.Parallel()

		var stderr bytes.Buffer
		_, err := parseSubmitFlags([]string{"--concurrency", "0", "a"}, &stderr)
		if err == nil || !strings.Contains(err.Error(), "--concurrency") {
			t.Fatalf("err = %v, want one naming --concurrency", err)
		}
	})
}
