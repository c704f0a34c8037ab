//go:build !linux || !cgo

package jobs

// TrimHeap does nothing on this platform: malloc_trim is a glibc function.
// It reports false, since nothing was released.
func TrimHeap() bool { return false }
