package jobs

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// writeTempFile writes data to a new file named name and returns its path,
// symbolic links resolved as /proc/self/smaps shows them.
func writeTempFile(t *testing.T, name string, data []byte) string {
	t.Helper()

	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatalf("resolving the temporary folder: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	return path
}

// mapFile maps path privately with prot and unmaps it when the test ends.
func mapFile(t *testing.T, path string, prot int) []byte {
	t.Helper()

	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatalf("reading the size of %s: %v", path, err)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), prot, syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mapping %s: %v", path, err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(data) })
	return data
}

// residentIn returns the resident bytes of this process's mappings of path.
func residentIn(t *testing.T, path string) uint64 {
	t.Helper()

	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatalf("opening smaps: %v", err)
	}
	defer f.Close()
	maps, err := parseSmaps(f)
	if err != nil {
		t.Fatalf("parseSmaps: %v", err)
	}
	var rss uint64
	for _, m := range maps {
		if m.file() == path {
			rss += m.rss
		}
	}
	return rss
}

// touch reads one byte of every page of data, so that all are resident.
func touch(data []byte) (sum byte) {
	for i := 0; i < len(data); i += os.Getpagesize() {
		sum += data[i]
	}
	return sum
}

func TestReleaseFilePagesDropsCleanPagesAndKeepsEveryByte(t *testing.T) {
	t.Parallel()

	want := bytes.Repeat([]byte("dermq file page "), 256<<10) // 4 MB
	path := writeTempFile(t, "lib.so", want)

	clean := mapFile(t, path, syscall.PROT_READ)
	touch(clean)
	// A page written through a private mapping and then made read-only, as
	// the dynamic linker does with relocations: dropping it would lose data.
	copied := mapFile(t, path, syscall.PROT_READ|syscall.PROT_WRITE)
	copy(copied, "relocated")
	if err := syscall.Mprotect(copied, syscall.PROT_READ); err != nil {
		t.Fatalf("making the copied mapping read-only: %v", err)
	}
	if rss := residentIn(t, path); rss < uint64(len(want)) {
		t.Fatalf("%d bytes of the file resident before the release, want at least %d",
			rss, len(want))
	}

	done, err := ReleaseFilePages(path)
	if err != nil {
		t.Fatalf("ReleaseFilePages: %v", err)
	}
	if done.Dropped < uint64(len(want)) {
		t.Fatalf("dropped %d bytes, want at least the %d of the clean mapping",
			done.Dropped, len(want))
	}
	if rss := residentIn(t, path); rss > 64<<10 {
		t.Fatalf("%d bytes of the file still resident after the release, want only "+
			"the copied page", rss)
	}
	if !bytes.Equal(clean, want) {
		t.Fatalf("the clean mapping reads differently after the release")
	}
	if string(copied[:9]) != "relocated" || !bytes.Equal(copied[9:], want[9:]) {
		t.Fatalf("the copied mapping lost its written bytes: starts %q", copied[:16])
	}
}

func TestReleaseFilePagesLeavesOtherFilesAlone(t *testing.T) {
	t.Parallel()

	path := writeTempFile(t, "data.bin", bytes.Repeat([]byte{7}, 1<<20))
	data := mapFile(t, path, syscall.PROT_READ)
	touch(data)

	if _, err := ReleaseFilePages(); err != nil {
		t.Fatalf("ReleaseFilePages: %v", err)
	}
	if rss := residentIn(t, path); rss < 1<<20 {
		t.Fatalf("%d bytes of an unnamed file resident after the release, want all %d",
			rss, 1<<20)
	}
}

func TestReleaseFilePagesFailsOnAMissingLibrary(t *testing.T) {
	t.Parallel()

	if _, err := ReleaseFilePages(filepath.Join(t.TempDir(), "missing.so")); err == nil {
		t.Fatalf("ReleaseFilePages accepted a library that does not exist")
	}
}
