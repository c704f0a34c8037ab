package main

import "testing"

func TestParseMemorySize(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name string
		in   string
		want uint64
		ok   bool
	}{
		{"megabytes with a unit", "400MB", 400 << 20, true},
		{"a short unit and lower case", "480m", 480 << 20, true},
		{"a bare number means megabytes", "128", 128 << 20, true},
		{"gigabytes", "1.5GB", 3 << 29, true},
		{"kilobytes", "512KB", 512 << 10, true},
		{"words are refused", "lots", 0, false},
		{"zero is refused", "0MB", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			got, err := parseMemorySize(c.in)
			if (err == nil) != c.ok || got != c.want {
				t.Fatalf("parseMemorySize(%q) = %d, %v; want %d, ok %v",
					c.in, got, err, c.want, c.ok)
			}
		})
	}
}
