package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestRedisLoggerLevels(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name   string
		format string
		want   string
	}{
		{"a dial failure the caller reports goes to debug",
			"redis: connection pool: failed to dial after %d attempts: refused", "level=DEBUG"},
		{"any other line is a warning", "Connection hook error: %d", "level=WARN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			var out bytes.Buffer
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			l := redisLogger{logger: slog.New(slog.NewTextHandler(&out, opts))}
			l.Printf(context.Background(), c.format, 5)

			line := out.String()
			if !strings.Contains(line, c.want) || !strings.Contains(line, "source=redis") {
				t.Fatalf("logged %q, want %s and source=redis", line, c.want)
			}
			if strings.Contains(line, `msg="redis: `) {
				t.Fatalf("logged %q with go-redis's own prefix", line)
			}
		})
	}
}
