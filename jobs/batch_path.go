package jobs

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxItemPathLength is the longest item path a batch accepts, in bytes.
const MaxItemPathLength = 1024

// ErrBadItemPath is wrapped by every error CleanItemPath returns.
var ErrBadItemPath = errors.New("bad item path")

// CleanItemPath checks that name is a safe relative path for a batch item
// (a multipart field name, a zip entry name, a path inside an output folder)
// and returns it in canonical form with forward slashes. It refuses empty
// names, absolute paths, any ".." element, backslashes, drive letters and
// control characters, so a cleaned path joined under any folder stays inside
// it.
func CleanItemPath(name string) (string, error) {
	if err := checkItemPathText(name); err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrBadItemPath, name, err)
	}

	for elem := range strings.SplitSeq(name, "/") {
		if elem == ".." {
			return "", fmt.Errorf("%w %q: it contains \"..\"", ErrBadItemPath, name)
		}
	}

	clean := path.Clean(name)
	if clean == "." {
		return "", fmt.Errorf("%w %q: it names no file", ErrBadItemPath, name)
	}

	return clean, nil
}

// checkItemPathText refuses names whose characters alone make them unsafe.
func checkItemPathText(name string) error {
	switch {
	case name == "":
		return errors.New("it is empty")
	case len(name) > MaxItemPathLength:
		return fmt.Errorf("it is longer than %d bytes", MaxItemPathLength)
	case !utf8.ValidString(name):
		return errors.New("it is not valid UTF-8")
	case strings.HasPrefix(name, "/"):
		return errors.New("it is absolute")
	case strings.Contains(name, `\`):
		return errors.New("it contains a backslash")
	case len(name) >= 2 && name[1] == ':':
		return errors.New("it starts with a drive letter")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("it contains a control character")
	}

	return nil
}
