package inference

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The npm package that carries the pinned ONNX Runtime build for Linux x64,
// and the SHA-256 of the tarball and of the library inside it.
const (
	runtimePackage  = "onnxruntime-node@" + RuntimeVersion
	runtimeTarball  = "onnxruntime-node-" + RuntimeVersion + ".tgz"
	runtimeMember   = "package/bin/napi-v6/linux/x64/" + libraryName
	tarballSHA256   = "6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75"
	librarySHA256   = "ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"
	maxLibraryBytes = 512 << 20
)

// EnsureLibrary returns the ONNX Runtime library FindLibrary finds and, when
// there is none, fetches it: `npm pack onnxruntime-node@1.30.0`, checks the
// tarball's pinned SHA-256, extracts the Linux x64 library, checks its pinned
// SHA-256 and installs it at CachedLibraryPath. Several processes may race
// here safely: the file appears by an atomic rename.
func EnsureLibrary(ctx context.Context, logger *slog.Logger) (string, error) {
	path, err := FindLibrary("")
	if err == nil || !errors.Is(err, ErrLibraryNotFound) || os.Getenv(LibraryEnv) != "" {
		return path, err
	}

	dest, err := CachedLibraryPath()
	if err != nil {
		return "", err
	}
	logger.Info("fetching onnx runtime", "package", runtimePackage, "path", dest)
	if err := fetchLibrary(ctx, dest); err != nil {
		return "", fmt.Errorf("fetching ONNX Runtime %s: %w", RuntimeVersion, err)
	}
	return dest, nil
}

// fetchLibrary downloads, checks and installs the library at dest.
func fetchLibrary(ctx context.Context, dest string) error {
	tmp, err := os.MkdirTemp("", "dermq-ort-")
	if err != nil {
		return fmt.Errorf("making a temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	tarball, err := npmPack(ctx, tmp)
	if err != nil {
		return err
	}
	if err := checkSHA256(tarball, tarballSHA256); err != nil {
		return err
	}

	extracted := filepath.Join(tmp, libraryName)
	if err := extractMember(tarball, runtimeMember, extracted); err != nil {
		return err
	}
	if err := checkSHA256(extracted, librarySHA256); err != nil {
		return err
	}
	return installAtomically(extracted, dest)
}

// npmPack runs `npm pack` in dir and returns the tarball's path.
func npmPack(ctx context.Context, dir string) (string, error) {
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("npm is not installed: install Node.js, or download %s "+
			"yourself and set %s: %w", runtimePackage, LibraryEnv, err)
	}
	cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", runtimePackage)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("running npm pack %s: %w: %s", runtimePackage, err,
			strings.TrimSpace(string(out)))
	}
	return filepath.Join(dir, runtimeTarball), nil
}

// checkSHA256 compares a file's SHA-256 with the pinned one.
func checkSHA256(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()

	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hashing %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("checking %s: SHA-256 is %s, want %s", filepath.Base(path), got, want)
	}
	return nil
}

// extractMember copies one file out of a gzipped tarball.
func extractMember(tarball, member, dest string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return fmt.Errorf("opening %s: %w", tarball, err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("reading %s: %w", tarball, err)
	}

	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("reading %s: no %s in it", tarball, member)
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", tarball, err)
		}
		if hdr.Name == member && hdr.Typeflag == tar.TypeReg {
			return writeFile(dest, io.LimitReader(tr, maxLibraryBytes))
		}
	}
}

// writeFile writes r to a new file at path.
func writeFile(path string, r io.Reader) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return out.Close()
}

// installAtomically copies src to dest through a temporary file in dest's
// directory and a rename, so readers never see a partial library.
func installAtomically(src, dest string) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("making %s: %w", filepath.Dir(dest), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".download-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file beside %s: %w", dest, err)
	}
	defer os.Remove(tmp.Name())

	if err := copyInto(tmp, src); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return fmt.Errorf("making %s executable: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("installing %s: %w", dest, err)
	}
	return nil
}

// copyInto copies the file at src into f, syncs and closes f.
func copyInto(f *os.File, src string) error {
	in, err := os.Open(src)
	if err != nil {
		f.Close()
		return fmt.Errorf("opening %s: %w", src, err)
	}
	defer in.Close()

	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	return f.Close()
}
