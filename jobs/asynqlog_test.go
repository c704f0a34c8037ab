package jobs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestAsynqLoggerLevels(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name string
		line string
		want string
	}{
		{"retry exhausted goes down to debug", "Retry exhausted for task id=abc", "DEBUG"},
		{"other warnings stay warnings", "revoke task id=abc", "WARN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			var out bytes.Buffer
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			l := asynqLogger{logger: slog.New(slog.NewTextHandler(&out, opts))}
			l.Warn(c.line)

			if !strings.Contains(out.String(), "level="+c.want) {
				t.Fatalf("logged %q, want level %s", out.String(), c.want)
			}
		})
	}
}
