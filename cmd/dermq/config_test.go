package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// parsedConfig is the worker's configuration after parsing args.
func parsedConfig(t *testing.T, args ...string) *config {
	t.Helper()

	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := newConfig(fs, "test", workerVars...)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	return cfg
}

// durations are the settings of these tests read as durations.
var durations = map[string]bool{
	"DERMQ_RETENTION": true, "DERMQ_POLL_INTERVAL": true, "DERMQ_IDLE_UNLOAD": true,
}

func TestConfigRefusesValuesOutOfRange(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name    string
		args    []string
		setting string
		want    string
	}{
		{"a zero concurrency is refused naming the flag", []string{"--concurrency", "0"},
			"DERMQ_CONCURRENCY", "reading --concurrency: 0 is too small: it must be at least 1"},
		{"a negative job count is refused", []string{"--max-jobs", "-5"},
			"DERMQ_MAX_JOBS", "reading --max-jobs: -5 is too small: it must be at least 0"},
		{"a word is not a number", []string{"--max-pixels", "many"}, "DERMQ_MAX_PIXELS",
			`reading --max-pixels: "many" is not a whole number`},
		{"a negative duration is refused", []string{"--retention", "-1h"},
			"DERMQ_RETENTION", "reading --retention: -1h is too small: it must be positive"},
		{"a zero poll interval is refused", []string{"--poll-interval", "0"},
			"DERMQ_POLL_INTERVAL", "reading --poll-interval: 0 is too small: it must be positive"},
		{"a negative idle unload is refused", []string{"--idle-unload", "-1m"},
			"DERMQ_IDLE_UNLOAD",
			"reading --idle-unload: -1m is too small: it must be 0 or positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			cfg := parsedConfig(t, c.args...)
			_, err := cfg.int(c.setting)
			if durations[c.setting] {
				_, err = cfg.duration(c.setting)
			}
			if err == nil || err.Error() != c.want {
				t.Fatalf("error = %v, want %q", err, c.want)
			}
		})
	}
}

func TestConfigNamesTheEnvironmentVariableWhenTheValueCameFromIt(t *testing.T) {
	t.Setenv("DERMQ_CONCURRENCY", "-3")

	_, err := parsedConfig(t).int("DERMQ_CONCURRENCY")
	want := "reading DERMQ_CONCURRENCY: -3 is too small: it must be at least 1"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestTrustedProxiesAreReadAsAddressesAndRanges(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name string
		arg  string
		want []string
		err  string
	}{
		{"a list of ranges and addresses is kept in order", "10.0.0.0/8, ::1,192.0.2.7",
			[]string{"10.0.0.0/8", "::1", "192.0.2.7"}, ""},
		{"an empty setting trusts no one", "", []string{}, ""},
		{"a host name is refused naming the flag", "10.0.0.0/8,proxy.local", nil,
			`reading --trusted-proxies: "proxy.local" is not an IP address or a CIDR range`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			fs := flag.NewFlagSet("web", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg := newConfig(fs, "test", webVars...)
			if err := fs.Parse([]string{"--trusted-proxies", c.arg}); err != nil {
				t.Fatalf("parsing: %v", err)
			}

			got, err := cfg.addresses("DERMQ_TRUSTED_PROXIES")
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got == nil || strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("addresses = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
