package jobs

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanItemPath(t *testing.T) {
	t.Parallel()

	accepted := []struct {
		name, in, want string
	}{
		{"a plain name is kept", "photo.jpg", "photo.jpg"},
		{"a nested name is kept", "clinic/2024/photo.jpg", "clinic/2024/photo.jpg"},
		{"a leading dot slash is dropped", "./a/b.png", "a/b.png"},
		{"doubled slashes are folded", "a//b.png", "a/b.png"},
		{"a colon past the start is allowed", "ab:c.jpg", "ab:c.jpg"},
		{"a dotted name is not a parent", "..a/b...jpg", "..a/b...jpg"},
		{"unicode is kept", "é/ü 1.jpg", "é/ü 1.jpg"},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			got, err := CleanItemPath(tc.in)
			if err != nil {
				t.Fatalf("CleanItemPath(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("CleanItemPath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}

	refused := []struct {
		name, in string
	}{
		{"an empty name is refused", ""},
		{"a parent element is refused", "../etc/passwd"},
		{"a parent element in the middle is refused", "a/../../b.jpg"},
		{"a parent element that cleans away is refused", "a/../b.jpg"},
		{"an absolute path is refused", "/etc/passwd"},
		{"a backslash is refused", `..\..\win.ini`},
		{"a drive letter is refused", "C:/x.jpg"},
		{"a NUL byte is refused", "a\x00.jpg"},
		{"a newline is refused", "a\nb.jpg"},
		{"a bare dot is refused", "."},
		{"a trailing parent is refused", "a/.."},
		{"invalid UTF-8 is refused", "a\xff.jpg"},
		{"a very long name is refused", strings.Repeat("a", MaxItemPathLength+1)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			got, err := CleanItemPath(tc.in)
			if !errors.Is(err, ErrBadItemPath) {
				t.Fatalf("CleanItemPath(%q) = %q, %v; want ErrBadItemPath", tc.in, got, err)
			}
		})
	}
}
