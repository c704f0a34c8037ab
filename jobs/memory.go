package jobs

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// RSS returns the resident memory of this process in bytes.
func RSS() (uint64, error) {
	proc, err := self()
	if err != nil {
		return 0, fmt.Errorf("opening this process: %w", err)
	}

	info, err := proc.MemoryInfo()
	if err != nil {
		return 0, fmt.Errorf("reading resident memory: %w", err)
	}
	return info.RSS, nil
}

// self is this process, looked up once.
var self = sync.OnceValues(func() (*process.Process, error) {
	return process.NewProcess(int32(os.Getpid()))
})

// FilePages is what ReleaseFilePages did.
type FilePages struct {
	// Dropped is the resident memory, in bytes, of the mappings it released:
	// clean pages of the executable's and the libraries' code and read-only
	// data, which no longer count in this process's RSS.
	Dropped uint64
}

// ReleaseHeap hands freed heap memory back to the operating system: the Go
// heap's (a forced collection) and the C heap's, where ONNX Runtime
// allocates (TrimHeap).
func ReleaseHeap() {
	debug.FreeOSMemory()
	TrimHeap()
}

// ReleaseMemory hands back what the process holds but does not use between
// jobs: freed heap memory (ReleaseHeap) and the clean pages of its
// executable's and the named libraries' code (ReleaseFilePages). It takes
// 3 to 20 ms, so the guard calls it after a job only past
// GuardConfig.ReleaseRSS and otherwise once the worker is idle. The next job
// faults back in the code it runs.
func ReleaseMemory(libraries ...string) (FilePages, error) {
	ReleaseHeap()
	return ReleaseFilePages(libraries...)
}

// modelLoaded reports whether the worker's model is in memory.
func (g *Guard) modelLoaded() bool {
	return g.cfg.Model != nil && g.cfg.Model.Loaded()
}

// releaseMemory is the guard's release: ReleaseMemory, logged. The model's
// library is released only once the model is loaded, so never while it is
// being loaded.
func (g *Guard) releaseMemory() {
	var libraries []string
	if g.modelLoaded() {
		libraries = append(libraries, g.cfg.Model.Library())
	}

	start := time.Now()
	pages, err := ReleaseMemory(libraries...)
	if err != nil {
		g.cfg.Logger.Warn("releasing memory", "error", err)
		return
	}
	g.cfg.Logger.Debug("memory released", "file_pages_bytes", pages.Dropped,
		"duration_ms", time.Since(start).Milliseconds())
}
