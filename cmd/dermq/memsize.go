package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseMemorySize reads a memory size such as "400MB", "400M", "1GB" or a
// bare number of megabytes, and returns bytes. Sizes are powers of two:
// 1 MB is 2^20 bytes.
func parseMemorySize(s string) (uint64, error) {
	upper := strings.ToUpper(strings.TrimSpace(s))
	shift := 20
	switch {
	case strings.HasSuffix(upper, "GB"), strings.HasSuffix(upper, "G"):
		shift = 30
	case strings.HasSuffix(upper, "KB"), strings.HasSuffix(upper, "K"):
		shift = 10
	}

	digits := strings.TrimRight(upper, "KMGB")
	n, err := strconv.ParseFloat(strings.TrimSpace(digits), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a memory size such as 400MB", s)
	}
	return uint64(n * float64(uint64(1)<<shift)), nil
}
