//go:build dermqtest

package jobs

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// crashHookEnv names a file of prediction ids, one a line, in test builds
// only. An attempt at a listed prediction takes one line off the file and
// kills its own worker with SIGKILL, as the kernel's OOM killer would, so
// the tests of crash recovery need no image that truly exhausts memory.
const crashHookEnv = "DERMQ_TEST_CRASH_FILE"

// hogHookEnv names a file of prediction ids in test builds only. An attempt
// at a listed prediction takes one line off the file and, before it
// predicts, holds hogSize of memory until its context ends, as a job whose
// image needs more memory than the host has would: the tests of the hard
// limit need no such image either.
const hogHookEnv = "DERMQ_TEST_HOG_FILE"

// hogSize is what a hogging attempt holds.
const hogSize = 256 * MB

// crashForTest kills this process when the crash file lists id.
func crashForTest(id string) {
	if takeLine(os.Getenv(crashHookEnv), id) {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
}

// hogForTest holds hogSize of memory, every page touched, until ctx ends or
// a minute passes, when the hog file lists id.
func hogForTest(ctx context.Context, id string) {
	if !takeLine(os.Getenv(hogHookEnv), id) {
		return
	}

	hog := make([]byte, hogSize)
	for i := 0; i < len(hog); i += os.Getpagesize() {
		hog[i] = 1
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
	}
	runtime.KeepAlive(hog)
}

// takeLine removes one line that is id from the file at path and reports
// whether it found one.
func takeLine(path, id string) bool {
	if path == "" {
		return false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}

	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	i := slices.Index(lines, id)
	if i < 0 {
		return false
	}
	lines = slices.Delete(lines, i, i+1)
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600) == nil
}
