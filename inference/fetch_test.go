package inference

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// writeTarball writes a gzipped tarball holding the given files.
func writeTarball(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)),
			Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExtractMember(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tarball := filepath.Join(dir, "pkg.tgz")
	writeTarball(t, tarball, map[string]string{
		"package/README.md": "readme",
		runtimeMember:       "library bytes",
	})

	t.Run("the library is extracted", func(t *testing.T) {
		dest := filepath.Join(dir, "lib.so")
		if err := extractMember(tarball, runtimeMember, dest); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dest)
		if err != nil || string(got) != "library bytes" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("a tarball without the library is an error", func(t *testing.T) {
		err := extractMember(tarball, "package/bin/other.so", filepath.Join(dir, "x"))
		if err == nil || !strings.Contains(err.Error(), "no package/bin/other.so") {
			t.Fatalf("got %v, want a missing member error", err)
		}
	})
}

func TestCheckSHA256RefusesOtherBytes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lib.so")
	if err := os.WriteFile(path, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := checkSHA256(path, librarySHA256)
	if err == nil || !strings.Contains(err.Error(), librarySHA256) {
		t.Fatalf("got %v, want a checksum mismatch", err)
	}
}

func TestInstallAtomicallyWhenProcessesRace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.so")
	if err := os.WriteFile(src, bytes.Repeat([]byte("x"), 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "cache", "1.30.0", libraryName)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- installAtomically(src, dest) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	st, err := os.Stat(dest)
	if err != nil || st.Size() != 1<<20 {
		t.Fatalf("installed %v, %v; want a whole 1 MiB file", st, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".download-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}
