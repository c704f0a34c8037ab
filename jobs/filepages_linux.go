//go:build linux

package jobs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ReleaseFilePages drops the clean pages this process maps from its own
// executable and from the named libraries: the code and read-only data of
// dermq and of ONNX Runtime, 35 to 45 MB after a load (docs/memory.md). Each
// mapping that qualifies (fileMapping.releasable) first gets MADV_PAGEOUT,
// which frees the pages outright where the kernel allows it (Linux 5.4 or
// later, a file this process owns or may write, a page no other process
// maps), then MADV_DONTNEED, which unmaps the rest: those stay in the page
// cache, reclaimable, and no longer count in this process's RSS. A page
// needed again faults back in and counts again. Only pages that equal their
// file qualify, so nothing is lost. Each library must stay loaded for the
// life of the process, as the executable does: a mapping unmapped and
// replaced between the reading of /proc/self/smaps and the advice could be
// one that holds data.
func ReleaseFilePages(libraries ...string) (FilePages, error) {
	files, err := codeFiles(libraries)
	if err != nil {
		return FilePages{}, fmt.Errorf("releasing file pages: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return FilePages{}, fmt.Errorf("releasing file pages: %w", err)
	}
	defer f.Close()
	maps, err := parseSmaps(f)
	if err != nil {
		return FilePages{}, fmt.Errorf("releasing file pages: %w", err)
	}

	var done FilePages
	for _, m := range maps {
		if !files[m.file()] || !m.releasable() {
			continue
		}
		// Best effort: older kernels, and files this process may not write,
		// refuse it; MADV_DONTNEED below unmaps the pages all the same.
		_ = madvise(m, unix.MADV_PAGEOUT)
		if err := madvise(m, unix.MADV_DONTNEED); err != nil {
			return done, fmt.Errorf("releasing file pages of %s: %w", m.path, err)
		}
		done.Dropped += m.rss
	}
	return done, nil
}

// madvise gives the kernel advice about the whole mapping m.
func madvise(m fileMapping, advice int) error {
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, uintptr(advice))
	if errno != 0 {
		return errno
	}
	return nil
}
