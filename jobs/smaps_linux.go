//go:build linux

package jobs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fileMapping is one mapping of /proc/self/smaps, with the figures
// ReleaseFilePages needs.
type fileMapping struct {
	start, end uintptr
	perms      string
	path       string
	rss        uint64
	anonymous  uint64
	flags      []string
}

// releasable reports whether the mapping's resident pages can be dropped
// without losing anything: a private, read-only mapping whose pages all
// still equal the file (none was copied on write, as the dynamic linker
// does for relocations). Locked and I/O mappings are left alone.
func (m fileMapping) releasable() bool {
	if m.perms != "r--p" && m.perms != "r-xp" {
		return false
	}
	if m.anonymous != 0 || m.rss == 0 {
		return false
	}
	for _, f := range m.flags {
		if f == "lo" || f == "io" || f == "pf" {
			return false
		}
	}
	return true
}

// file returns the path of the mapped file as the kernel names it, without
// the " (deleted)" it appends once the file was replaced on disk.
func (m fileMapping) file() string {
	return strings.TrimSuffix(m.path, " (deleted)")
}

// codeFiles returns the resolved paths of this process's executable and of
// the named libraries, as /proc/self/smaps names them.
func codeFiles(libraries []string) (map[string]bool, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the executable: %w", err)
	}

	files := map[string]bool{}
	for _, path := range append([]string{exe}, libraries...) {
		resolved, err := filepath.EvalSymlinks(path)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", path, err)
		}
		abs, err := filepath.Abs(resolved)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", path, err)
		}
		files[abs] = true
	}
	return files, nil
}

// parseSmaps reads the mappings of a /proc/PID/smaps file.
func parseSmaps(r io.Reader) ([]fileMapping, error) {
	var maps []fileMapping
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") {
			m, err := parseMappingHeader(fields)
			if err != nil {
				return nil, err
			}
			maps = append(maps, m)
			continue
		}
		if len(maps) > 0 {
			maps[len(maps)-1].set(fields)
		}
	}
	if err := lines.Err(); err != nil {
		return nil, fmt.Errorf("reading smaps: %w", err)
	}
	return maps, nil
}

// parseMappingHeader reads a mapping's first line:
// "start-end perms offset dev inode [path]".
func parseMappingHeader(fields []string) (fileMapping, error) {
	var m fileMapping
	start, end, ok := strings.Cut(fields[0], "-")
	if !ok || len(fields) < 5 {
		return m, fmt.Errorf("reading smaps: unexpected line %q", strings.Join(fields, " "))
	}
	lo, err := strconv.ParseUint(start, 16, 64)
	if err != nil {
		return m, fmt.Errorf("reading smaps: mapping start: %w", err)
	}
	hi, err := strconv.ParseUint(end, 16, 64)
	if err != nil {
		return m, fmt.Errorf("reading smaps: mapping end: %w", err)
	}

	m.start, m.end, m.perms = uintptr(lo), uintptr(hi), fields[1]
	m.path = strings.Join(fields[5:], " ")
	return m, nil
}

// set records one "Key: value" line of the mapping.
func (m *fileMapping) set(fields []string) {
	switch fields[0] {
	case "Rss:":
		m.rss = kilobytes(fields)
	case "Anonymous:":
		m.anonymous = kilobytes(fields)
	case "VmFlags:":
		m.flags = fields[1:]
	}
}

// kilobytes returns the bytes of a "Key: N kB" line. A value that does not
// parse reads as 1 kB, so that a mapping is never taken for clean by
// mistake.
func kilobytes(fields []string) uint64 {
	if len(fields) < 2 {
		return 1 << 10
	}
	n, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 1 << 10
	}
	return n << 10
}
