//go:build dermqtest

package jobs

import (
	"os"
	"slices"
	"strings"
	"syscall"
)

// crashHookEnv names a file of prediction ids, one a line, in test builds
// only. An attempt at a listed prediction takes one line off the file and
// kills its own worker with SIGKILL, as the kernel's OOM killer would, so
// the tests of crash recovery need no image that truly exhausts memory.
const crashHookEnv = "DERMQ_TEST_CRASH_FILE"

// crashForTest kills this process when the crash file lists id.
func crashForTest(id string) {
	path := os.Getenv(crashHookEnv)
	if path == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}

	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	i := slices.Index(lines, id)
	if i < 0 {
		return
	}
	lines = slices.Delete(lines, i, i+1)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
}
