package main

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func TestScanFolder(t *testing.T) {
	t.Parallel()

	photo, err := os.ReadFile(filepath.Join(repoRoot(t), "..", "shared", "data", "images",
		"dermoscopy_isic_0000000_thumbnail_256x192.jpg"))
	if err != nil {
		t.Fatalf("reading photo: %v", err)
	}

	base := t.TempDir()
	root := filepath.Join(base, "photos")
	outside := filepath.Join(base, "outside")
	files := map[string][]byte{
		"photos/a.jpg":                photo,
		"photos/sub/deeper/b.png.txt": photo,
		"photos/notes.txt":            []byte("not an image"),
		"photos/out/heatmaps/a.jpg":   photo,
		`photos/odd\name.jpg`:         photo,
		"outside/secret.jpg":          photo,
		"outside/folder/c.jpg":        photo,
		"photos/sub/empty.jpg":        nil,
	}
	for name, data := range files {
		writeTestFile(t, filepath.Join(base, name), data)
	}
	symlinks := map[string]string{
		"photos/to-secret.jpg": filepath.Join(outside, "secret.jpg"),
		"photos/to-folder":     filepath.Join(outside, "folder"),
		"photos/inner-dir":     filepath.Join(root, "sub"),
		"photos/inner-a.jpg":   filepath.Join(root, "a.jpg"),
		"photos/dangling.jpg":  filepath.Join(base, "missing.jpg"),
	}
	for link, to := range symlinks {
		if err := os.Symlink(to, filepath.Join(base, link)); err != nil {
			t.Fatalf("linking %s: %v", link, err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.jpg"), 0o644); err != nil {
		t.Fatalf("making fifo: %v", err)
	}
	lockFolder(t, filepath.Join(root, "unreadable"))

	scan, err := scanFolder(root, filepath.Join(root, "out"))
	if err != nil {
		t.Fatalf("scanFolder: %v", err)
	}

	t.Run("images are found by content, nested and through inner links", func(t *testing.T) {
		want := []string{"a.jpg", "inner-a.jpg", "sub/deeper/b.png.txt"}
		if got := imageNames(scan.images); !slices.Equal(got, want) {
			t.Fatalf("images = %q, want %q", got, want)
		}
	})

	t.Run("non-images, foreign symlinks, folders links and fifos are skipped", func(t *testing.T) {
		want := map[string]string{
			"notes.txt":     "not an image",
			"sub/empty.jpg": "not an image",
			"to-secret.jpg": "symlink points outside the folder",
			"to-folder":     "symlink points outside the folder",
			"inner-dir":     "symlinked folder not followed",
			"dangling.jpg":  "broken symlink",
			"pipe.jpg":      "not a regular file",
		}
		got := map[string]string{}
		for _, s := range scan.skipped {
			got[s.rel] = s.reason
		}
		for name, reason := range want {
			if got[name] != reason {
				t.Fatalf("skipped[%q] = %q, want %q (all: %v)", name, got[name], reason, got)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("skipped %v, want %v", got, want)
		}
	})

	t.Run("a refused name and an unreadable folder are unusable", func(t *testing.T) {
		var got []string
		for _, s := range scan.unusable {
			got = append(got, s.rel)
		}
		slices.Sort(got)
		want := []string{`odd\name.jpg`}
		if os.Geteuid() != 0 {
			want = append(want, "unreadable")
		}
		if !slices.Equal(got, want) {
			t.Fatalf("unusable = %q, want %q", got, want)
		}
	})
}

// lockFolder makes a folder holding an image that cannot be listed, except
// for root, who can list anything (so the folder stays open then).
func lockFolder(t *testing.T, dir string) {
	t.Helper()

	writeTestFile(t, filepath.Join(dir, "locked.jpg"), []byte{0xFF, 0xD8, 0xFF})
	if os.Geteuid() == 0 {
		os.Remove(filepath.Join(dir, "locked.jpg"))
		return
	}

	if err := os.Chmod(dir, 0); err != nil {
		t.Fatalf("locking folder: %v", err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
}

// imageNames lists the relative names of images.
func imageNames(images []localImage) []string {
	names := make([]string, len(images))
	for i, img := range images {
		names[i] = img.rel
	}

	return names
}

// writeTestFile writes data to name, making its folder.
func writeTestFile(t testing.TB, name string, data []byte) {
	t.Helper()

	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatalf("making folder of %s: %v", name, err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatalf("writing %s: %v", name, err)
	}
}
