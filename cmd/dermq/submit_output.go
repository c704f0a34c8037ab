package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/dermq/dermq/jobs"
)

// errSymlinkInOutput is returned when a write would pass through a symlink
// inside the output folder.
var errSymlinkInOutput = errors.New("refusing to write through a symlink in the output folder")

// outputDir is the --out folder. Every file is written through an os.Root, so
// no name can reach outside it, and every write refuses existing symlinks on
// its way, so a planted link cannot redirect it either.
type outputDir struct {
	root *os.Root
}

// openOutputDir creates the folder if needed and confines writes to it.
func openOutputDir(dir string) (*outputDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output folder: %w", err)
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening output folder: %w", err)
	}

	return &outputDir{root: root}, nil
}

// Close releases the folder.
func (o *outputDir) Close() error { return o.root.Close() }

// create opens a temporary file that becomes rel when committed. rel is a
// slash-separated relative path; it is validated before anything is made.
func (o *outputDir) create(rel string) (*outputFile, error) {
	clean, err := jobs.CleanItemPath(rel)
	if err != nil {
		return nil, fmt.Errorf("writing output: %w", err)
	}

	if err := o.makeParents(clean); err != nil {
		return nil, err
	}

	if err := o.refuseSymlink(clean); err != nil {
		return nil, err
	}

	tmp := clean + ".tmp-" + randomSuffix()
	f, err := o.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", clean, err)
	}

	return &outputFile{File: f, dir: o, name: clean, tmp: tmp}, nil
}

// exists reports whether rel is already a regular file in the folder.
func (o *outputDir) exists(rel string) bool {
	info, err := o.root.Lstat(rel)
	return err == nil && info.Mode().IsRegular()
}

// makeParents creates the folders above rel one by one, refusing any
// existing element that is a symlink or not a folder.
func (o *outputDir) makeParents(rel string) error {
	elems := strings.Split(path.Dir(rel), "/")
	for i := range elems {
		dir := strings.Join(elems[:i+1], "/")
		if dir == "." {
			continue
		}

		err := o.makeDir(dir)
		if err != nil {
			return err
		}
	}

	return nil
}

// makeDir creates one folder unless it already exists as a real folder.
func (o *outputDir) makeDir(dir string) error {
	info, err := o.root.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err := o.root.Mkdir(dir, 0o755)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		return o.refuseSymlink(dir)
	case err != nil:
		return fmt.Errorf("checking %s: %w", dir, err)
	case info.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: %s", errSymlinkInOutput, dir)
	case !info.IsDir():
		return fmt.Errorf("creating %s: a file of that name is in the way", dir)
	}

	return nil
}

// refuseSymlink fails when name exists and is a symlink.
func (o *outputDir) refuseSymlink(name string) error {
	info, err := o.root.Lstat(name)
	if err == nil && info.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%w: %s", errSymlinkInOutput, name)
	}

	return nil
}

// outputFile is a file being written; it appears under its name only when
// committed, so a reader never sees half a file.
type outputFile struct {
	*os.File
	dir  *outputDir
	name string
	tmp  string
}

// commit flushes the file and moves it to its name. Rename replaces an entry
// rather than writing through it, so even a symlink planted after the checks
// is replaced, not followed.
func (f *outputFile) commit() error {
	if err := f.Sync(); err != nil {
		f.abort()
		return fmt.Errorf("flushing %s: %w", f.name, err)
	}

	if err := f.Close(); err != nil {
		f.abort()
		return fmt.Errorf("closing %s: %w", f.name, err)
	}

	if err := f.dir.root.Rename(f.tmp, f.name); err != nil {
		f.dir.root.Remove(f.tmp)
		return fmt.Errorf("moving %s into place: %w", f.name, err)
	}

	return nil
}

// abort drops the temporary file.
func (f *outputFile) abort() {
	f.Close()
	f.dir.root.Remove(f.tmp)
}

// randomSuffix names temporary files apart from each other.
func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
