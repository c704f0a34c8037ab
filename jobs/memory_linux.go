//go:build linux && cgo

package jobs

// #include <malloc.h>
import "C"

// TrimHeap hands the C heap's free memory back to the operating system with
// glibc's malloc_trim(0). ONNX Runtime frees most of what it allocates while
// building a session, but glibc keeps those pages: one trim after a session
// load or a job takes about half of the worker's resident memory off. It
// reports whether any memory was released.
func TrimHeap() bool {
	return C.malloc_trim(0) == 1
}
