package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/dermq/dermq/jobs"
)

// newGuard builds the worker's memory guard for the engine's model from the
// configuration. A supervised worker reports its jobs to the supervisor.
func newGuard(cfg *config, logger *slog.Logger, model jobs.Model) (*jobs.Guard, error) {
	guard, err := guardConfig(cfg)
	if err != nil {
		return nil, err
	}

	guard.Reports = jobs.JobReports()
	guard.Logger = logger
	guard.Model = model
	return jobs.NewGuard(guard)
}

// guardConfig reads the memory guard's settings, without its reports and
// logger.
func guardConfig(cfg *config) (jobs.GuardConfig, error) {
	maxRSS, err := cfg.memorySize("DERMQ_MAX_RSS")
	if err != nil {
		return jobs.GuardConfig{}, err
	}
	hardRSS, err := cfg.memorySize("DERMQ_HARD_RSS")
	if err != nil {
		return jobs.GuardConfig{}, err
	}
	if hardRSS < maxRSS {
		return jobs.GuardConfig{}, fmt.Errorf("reading %s: %s is below %s %s",
			cfg.origin("DERMQ_HARD_RSS"), cfg.str("DERMQ_HARD_RSS"),
			cfg.origin("DERMQ_MAX_RSS"), cfg.str("DERMQ_MAX_RSS"))
	}
	maxJobs, err := cfg.int("DERMQ_MAX_JOBS")
	if err != nil {
		return jobs.GuardConfig{}, err
	}
	idle, err := cfg.duration("DERMQ_IDLE_UNLOAD")
	if err != nil {
		return jobs.GuardConfig{}, err
	}

	return jobs.GuardConfig{
		MaxRSS: maxRSS, HardRSS: hardRSS, MaxJobs: maxJobs, IdleUnload: idle,
	}, nil
}

// memorySize reads a memory size setting such as 400MB.
func (c *config) memorySize(name string) (uint64, error) {
	n, err := parseMemorySize(c.str(name))
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", c.origin(name), err)
	}
	return n, nil
}

// bool reads a true/false setting.
func (c *config) bool(name string) (bool, error) {
	b, err := strconv.ParseBool(c.str(name))
	if err != nil {
		return false, fmt.Errorf("reading %s: %q is not true or false", c.origin(name),
			c.str(name))
	}
	return b, nil
}

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
