package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dermq/dermq/jobs"
)

// localImage is one image file found under the submitted folder.
type localImage struct {
	// rel is the slash-separated path relative to the folder: the item's name.
	rel string
	// abs is where to read the file.
	abs string
	// size is the file's size in bytes when it was found.
	size int64
}

// skippedFile is a file the walk did not take, with the reason.
type skippedFile struct {
	rel    string
	reason string
}

// folderScan is what walking the submitted folder found.
type folderScan struct {
	// images are the files whose content is an image, in lexical order.
	images []localImage
	// skipped are files that are not images (or not regular files); they are
	// reported, not failures.
	skipped []skippedFile
	// unusable are files that may be images but cannot be submitted (an
	// unreadable file, a name the server would refuse); they count as
	// failures.
	unusable []skippedFile
}

// scanFolder walks root recursively and sorts its files into images, skipped
// files and unusable ones. It does not follow symlinked folders, skips
// symlinks that point outside root, and never descends into exclude (the
// output folder, when it lies inside root). It keeps only names and sizes, so
// its memory grows with the number of files, never with their content.
func scanFolder(root, exclude string) (folderScan, error) {
	base, err := resolvePath(root)
	if err != nil {
		return folderScan{}, err
	}

	var scan folderScan
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		return scan.visit(base, exclude, p, d, err)
	})
	if err != nil {
		return folderScan{}, fmt.Errorf("walking %s: %w", root, err)
	}

	return scan, nil
}

// visit sorts one entry of the walk.
func (s *folderScan) visit(base, exclude, p string, d fs.DirEntry, walkErr error) error {
	rel := relativeName(base, p)
	if walkErr != nil {
		if p == base {
			return walkErr
		}
		s.unusable = append(s.unusable, skippedFile{rel, walkErr.Error()})
		return nil
	}

	if d.IsDir() {
		if p != base && exclude != "" && p == exclude {
			return filepath.SkipDir
		}
		return nil
	}

	abs, reason := s.resolve(base, p, d)
	if reason != "" {
		s.skipped = append(s.skipped, skippedFile{rel, reason})
		return nil
	}

	s.take(rel, abs)
	return nil
}

// resolve returns the regular file behind an entry, or why it is skipped.
func (s *folderScan) resolve(base, p string, d fs.DirEntry) (string, string) {
	if d.Type()&fs.ModeSymlink == 0 {
		if !d.Type().IsRegular() {
			return "", "not a regular file"
		}
		return p, ""
	}

	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", "broken symlink"
	}
	if !isWithin(base, target) {
		return "", "symlink points outside the folder"
	}

	info, err := os.Stat(target)
	switch {
	case err != nil:
		return "", "broken symlink"
	case info.IsDir():
		return "", "symlinked folder not followed"
	case !info.Mode().IsRegular():
		return "", "not a regular file"
	}

	return target, ""
}

// take sniffs one regular file and files it as an image, a skipped file or
// an unusable one.
func (s *folderScan) take(rel, abs string) {
	head, err := readHead(abs)
	if err != nil {
		s.unusable = append(s.unusable, skippedFile{rel, err.Error()})
		return
	}

	if sniffImage(head) == "" {
		s.skipped = append(s.skipped, skippedFile{rel, "not an image"})
		return
	}

	if _, err := jobs.CleanItemPath(rel); err != nil {
		s.unusable = append(s.unusable, skippedFile{rel, err.Error()})
		return
	}

	info, err := os.Stat(abs)
	if err != nil {
		s.unusable = append(s.unusable, skippedFile{rel, err.Error()})
		return
	}

	s.images = append(s.images, localImage{rel: rel, abs: abs, size: info.Size()})
}

// readHead reads up to sniffLength leading bytes of a file.
func readHead(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	defer f.Close()

	head := make([]byte, sniffLength)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}

	return head[:n], nil
}

// resolvePath returns the absolute path of p with every symlink resolved.
func resolvePath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", p, err)
	}

	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", p, err)
	}

	return real, nil
}

// relativeName is p relative to base with forward slashes.
func relativeName(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return filepath.ToSlash(p)
	}

	return filepath.ToSlash(rel)
}

// isWithin reports whether p is base or lies beneath it; both must be clean
// absolute paths.
func isWithin(base, p string) bool {
	return p == base || strings.HasPrefix(p, base+string(filepath.Separator))
}
