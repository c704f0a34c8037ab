//go:build !linux

package jobs

// ReleaseFilePages does nothing on this platform: it reads Linux's
// /proc/self/smaps and uses Linux's madvise advice.
func ReleaseFilePages(libraries ...string) (FilePages, error) { return FilePages{}, nil }
