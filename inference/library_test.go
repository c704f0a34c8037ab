package inference

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindLibrary(t *testing.T) {
	t.Run("an explicit path wins", func(t *testing.T) {
		got, err := FindLibrary(testLibrary)
		if err != nil || got != testLibrary {
			t.Fatalf("got %q, %v; want %q", got, err, testLibrary)
		}
	})
	t.Run("a missing explicit path says how to get the library", func(t *testing.T) {
		_, err := FindLibrary("/nonexistent/libonnxruntime.so.1")
		if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "fetch-runtime") {
			t.Fatalf("got %v, want ErrLibraryNotFound with instructions", err)
		}
	})
	t.Run("a file that is no shared library is refused before it is loaded", func(t *testing.T) {
		text := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
		err := os.WriteFile(text, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, err = FindLibrary(text)
		if !errors.Is(err, ErrNotLibrary) || !strings.Contains(err.Error(), "ELF") {
			t.Fatalf("got %v, want ErrNotLibrary saying it is no ELF file", err)
		}
	})
	t.Run("a shared library other than ONNX Runtime is refused", func(t *testing.T) {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		_, err = FindLibrary(exe)
		if !errors.Is(err, ErrNotLibrary) || !strings.Contains(err.Error(), "OrtGetApiBase") {
			t.Fatalf("got %v, want ErrNotLibrary saying OrtGetApiBase is missing", err)
		}
	})
	t.Run("the environment variable comes before the cache", func(t *testing.T) {
		t.Setenv(LibraryEnv, "/nonexistent/from-env.so")
		_, err := FindLibrary("")
		if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), LibraryEnv) {
			t.Fatalf("got %v, want an error naming %s", err, LibraryEnv)
		}
	})
	t.Run("the cache follows XDG_CACHE_HOME", func(t *testing.T) {
		t.Setenv("XDG_CACHE_HOME", "/srv/cache")
		got, err := CachedLibraryPath()
		want := filepath.Join("/srv/cache", "dermq", "onnxruntime", RuntimeVersion, libraryName)
		if err != nil || got != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	})
}
