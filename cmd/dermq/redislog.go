package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// redisLogger routes go-redis's own log lines to slog. Its pool's dial
// failures reach the caller as errors, which are logged where they are
// handled, so they go to debug; every other line is a warning.
type redisLogger struct{ logger *slog.Logger }

// Printf logs one go-redis line.
func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "connection pool: failed to dial") ||
		strings.HasPrefix(msg, "connection pool: failed to get a usable connection") {
		level = slog.LevelDebug
	}

	l.logger.Log(ctx, level, msg, "source", "redis")
}
