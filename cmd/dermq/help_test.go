package main

import (
	"strings"
	"testing"
)

func TestEveryCommandsHelpExitsZero(t *testing.T) {
	t.Parallel()

	for name := range commands {
		t.Run(name+" --help exits 0 with its usage", func(t *testing.T) {
			t.Parallel()

			code, stderr := runDermq(t, nil, name, "--help")
			if code != exitOK {
				t.Fatalf("dermq %s --help exited %d; stderr:\n%s", name, code, stderr)
			}
			if !strings.Contains(stderr, "usage: dermq "+name) {
				t.Fatalf("dermq %s --help printed no usage:\n%s", name, stderr)
			}
		})
	}
}

func TestSubmitHelpNamesItsEnvironment(t *testing.T) {
	t.Parallel()

	_, stderr := runDermq(t, nil, "submit", "--help")
	if !strings.Contains(stderr, "environment") || !strings.Contains(stderr, "DERMQ_SERVER") {
		t.Fatalf("dermq submit --help has no environment section naming DERMQ_SERVER:\n%s",
			stderr)
	}
}
