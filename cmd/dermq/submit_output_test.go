package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dermq/dermq/jobs"
)

func TestOutputDirConfinesWrites(t *testing.T) {
	t.Parallel()

	escapes := []struct {
		name, rel string
		want      error
	}{
		{"a parent path is refused", "../escaped.png", jobs.ErrBadItemPath},
		{"a deep parent path is refused", "heatmaps/a/../../../escaped.png", jobs.ErrBadItemPath},
		{"an absolute path is refused", "/tmp/escaped.png", jobs.ErrBadItemPath},
		{"a backslash path is refused", `..\escaped.png`, jobs.ErrBadItemPath},
		{"a symlinked folder is refused", "link/escaped.png", errSymlinkInOutput},
		{"a symlinked folder deeper down is refused", "heatmaps/link/escaped.png",
			errSymlinkInOutput},
		{"a symlinked file is refused", "heatmaps/file-link.png", errSymlinkInOutput},
	}
	for _, tc := range escapes {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			out, outside := plantedOutput(t)
			f, err := out.create(tc.rel)
			if err == nil {
				f.abort()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("create(%q) error = %v, want %v", tc.rel, err, tc.want)
			}

			entries, err := os.ReadDir(outside)
			if err != nil {
				t.Fatalf("reading outside folder: %v", err)
			}
			if len(entries) != 1 {
				t.Fatalf("outside folder holds %d entries, want only the target file", len(entries))
			}
		})
	}

	t.Run("a nested path is written in place when committed", func(t *testing.T) {
		t.Parallel()

		out, _ := plantedOutput(t)
		f, err := out.create("heatmaps/sub/dir/a.jpg.heatmap.png")
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if out.exists("heatmaps/sub/dir/a.jpg.heatmap.png") {
			t.Fatalf("file visible before commit")
		}
		if _, err := io.WriteString(f, "png bytes"); err != nil {
			t.Fatalf("write: %v", err)
		}
		if err := f.commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}

		got, err := out.root.ReadFile("heatmaps/sub/dir/a.jpg.heatmap.png")
		if err != nil || string(got) != "png bytes" {
			t.Fatalf("reading back: %q, %v", got, err)
		}
	})
}

// plantedOutput makes an output folder whose "link" and "heatmaps/link"
// point to a folder outside it and whose "heatmaps/file-link.png" points to
// a file outside it. It returns the folder and the outside folder.
func plantedOutput(t *testing.T) (*outputDir, string) {
	t.Helper()

	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	dir := filepath.Join(base, "out")
	for _, d := range []string{outside, filepath.Join(dir, "heatmaps")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("making %s: %v", d, err)
		}
	}

	target := filepath.Join(outside, "target.png")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatalf("writing target: %v", err)
	}
	links := map[string]string{
		filepath.Join(dir, "link"):                      outside,
		filepath.Join(dir, "heatmaps", "link"):          outside,
		filepath.Join(dir, "heatmaps", "file-link.png"): target,
	}
	for link, to := range links {
		if err := os.Symlink(to, link); err != nil {
			t.Fatalf("linking %s: %v", link, err)
		}
	}

	out, err := openOutputDir(dir)
	if err != nil {
		t.Fatalf("opening output: %v", err)
	}
	t.Cleanup(func() { out.Close() })

	return out, outside
}
