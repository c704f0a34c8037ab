package inference

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// The ONNX Runtime build DermQ is tested with, and where it comes from.
const (
	// RuntimeVersion is the ONNX Runtime version DermQ pins.
	RuntimeVersion = "1.30.0"
	// LibraryEnv names the environment variable that points at the library.
	LibraryEnv = "DERMQ_ORT_LIBRARY"
	// libraryName is the file name of the shared library on Linux.
	libraryName = "libonnxruntime.so.1"
)

// ErrLibraryNotFound means no ONNX Runtime shared library was found.
var ErrLibraryNotFound = errors.New("ONNX Runtime library not found: run `dermq fetch-runtime` " +
	"(it needs npm) to download and cache version " + RuntimeVersion + ", or set " +
	LibraryEnv + " to the path of " + libraryName)

// ErrNotLibrary is returned for a configured library path that names a
// file other than ONNX Runtime's shared library.
var ErrNotLibrary = errors.New("not ONNX Runtime's shared library")

// systemLibraryDirs are searched, in order, after the environment variable
// and the cache.
var systemLibraryDirs = []string{
	"/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
	"/usr/lib64",
}

// FindLibrary returns the ONNX Runtime shared library to load: explicit when
// it is set, else $DERMQ_ORT_LIBRARY, else the DermQ cache
// (CachedLibraryPath), else the system library directories and the linker
// cache. It returns an error wrapping ErrLibraryNotFound that says how to get
// the library when none exists.
func FindLibrary(explicit string) (string, error) {
	if explicit != "" {
		return existingLibrary(explicit, "Options.LibraryPath")
	}
	if env := os.Getenv(LibraryEnv); env != "" {
		return existingLibrary(env, LibraryEnv)
	}

	candidates := []string{}
	if cached, err := CachedLibraryPath(); err == nil {
		candidates = append(candidates, cached)
	}
	for _, dir := range systemLibraryDirs {
		candidates = append(candidates, filepath.Join(dir, libraryName),
			filepath.Join(dir, "libonnxruntime.so"))
	}
	candidates = append(candidates, linkerCachePaths()...)

	for _, path := range candidates {
		if isFile(path) {
			return path, nil
		}
	}
	return "", ErrLibraryNotFound
}

// CachedLibraryPath is where EnsureLibrary installs the library:
// $XDG_CACHE_HOME/dermq/onnxruntime/VERSION/libonnxruntime.so.1, with
// ~/.cache for XDG_CACHE_HOME when it is unset.
func CachedLibraryPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the cache directory: %w", err)
	}
	return filepath.Join(dir, "dermq", "onnxruntime", RuntimeVersion, libraryName), nil
}

// existingLibrary checks that a configured library path exists.
func existingLibrary(path, source string) (string, error) {
	if err := CheckLibrary(path, source); err != nil {
		return "", err
	}
	return path, nil
}

// CheckLibrary checks that path, which source (a setting's name) gave, is
// ONNX Runtime's shared library: a file that, on Linux, is an ELF object
// exporting OrtGetApiBase. Loading anything else fails only at the first
// prediction; this catches it at start. A missing file's error wraps
// ErrLibraryNotFound, another file's ErrNotLibrary; both say what to do.
func CheckLibrary(path, source string) error {
	advice := fmt.Sprintf("point %s at %s %s, or unset it to use the library "+
		"`dermq fetch-runtime` caches", source, libraryName, RuntimeVersion)
	if !isFile(path) {
		return &libraryError{fmt.Sprintf("%s names %s, which is not a file; %s", source, path,
			advice), ErrLibraryNotFound}
	}
	if runtime.GOOS != "linux" {
		return nil
	}
	if reason := ortLibraryProblem(path); reason != "" {
		return &libraryError{fmt.Sprintf("%s names %s, which is not ONNX Runtime's shared "+
			"library (%s); %s", source, path, reason, advice), ErrNotLibrary}
	}
	return nil
}

// libraryError is a configured library path that cannot work, with advice;
// it wraps the sentinel that says which way.
type libraryError struct {
	msg string
	err error
}

func (e *libraryError) Error() string { return e.msg }
func (e *libraryError) Unwrap() error { return e.err }

// ortLibraryProblem reads the ELF file's dynamic symbols, without loading
// it, and says what keeps it from being ONNX Runtime's library, or "".
func ortLibraryProblem(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return "not an ELF file"
	}
	defer f.Close()

	symbols, err := f.DynamicSymbols()
	if err != nil {
		return "an ELF file without dynamic symbols"
	}
	for _, sym := range symbols {
		if sym.Name == "OrtGetApiBase" && sym.Section != elf.SHN_UNDEF {
			return ""
		}
	}
	return "it does not export OrtGetApiBase"
}

// isFile reports whether path exists and is a regular file (or a link to one).
func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// linkerCachePaths lists the ONNX Runtime libraries `ldconfig -p` knows.
func linkerCachePaths() []string {
	out, err := exec.Command("ldconfig", "-p").Output()
	if err != nil {
		return nil
	}
	var paths []string
	for _, line := range strings.Split(string(out), "\n") {
		name, path, ok := strings.Cut(strings.TrimSpace(line), " => ")
		if ok && strings.HasPrefix(name, "libonnxruntime.so") {
			paths = append(paths, path)
		}
	}
	return paths
}
