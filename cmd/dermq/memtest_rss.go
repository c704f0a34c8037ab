package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// rssMix is resident memory split by kind, in bytes: anonymous memory (the
// heaps, the model's weights), pages of mapped files (code), shared memory.
type rssMix struct {
	anon, file, shmem uint64
	// known is false where /proc/self/status does not tell the split.
	known bool
}

// readRSSMix reads the split from /proc/self/status (Linux).
func readRSSMix() rssMix {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return rssMix{}
	}
	defer f.Close()

	var mix rssMix
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) < 2 {
			continue
		}
		kb, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "RssAnon:":
			mix.anon, mix.known = kb<<10, true
		case "RssFile:":
			mix.file = kb << 10
		case "RssShmem:":
			mix.shmem = kb << 10
		}
	}
	return mix
}
