package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/redis/go-redis/v9"
)

// newLogger builds the process logger from DERMQ_LOG_FORMAT and
// DERMQ_LOG_LEVEL and makes it the default, for go-redis's own lines too.
func newLogger(c *config, process string) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.str("DERMQ_LOG_LEVEL"))); err != nil {
		return nil, fmt.Errorf("reading DERMQ_LOG_LEVEL: %w", err)
	}

	opts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler
	switch c.str("DERMQ_LOG_FORMAT") {
	case "json":
		handler = slog.NewJSONHandler(os.Stderr, opts)
	case "text":
		handler = slog.NewTextHandler(os.Stderr, opts)
	default:
		return nil, fmt.Errorf("reading DERMQ_LOG_FORMAT: %q is neither text nor json",
			c.str("DERMQ_LOG_FORMAT"))
	}

	logger := slog.New(handler).With("process", process)
	slog.SetDefault(logger)
	redis.SetLogger(redisLogger{logger: logger})
	return logger, nil
}
