package jobs

import (
	"fmt"
	"log/slog"
	"os"
)

// asynqLogger routes asynq's own logs to slog.
type asynqLogger struct{ logger *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.logger.Debug(fmt.Sprint(args...), "source", "asynq") }
func (l asynqLogger) Info(args ...any)  { l.logger.Info(fmt.Sprint(args...), "source", "asynq") }
func (l asynqLogger) Warn(args ...any)  { l.logger.Warn(fmt.Sprint(args...), "source", "asynq") }
func (l asynqLogger) Error(args ...any) { l.logger.Error(fmt.Sprint(args...), "source", "asynq") }

// Fatal logs and exits, as asynq expects of its logger.
func (l asynqLogger) Fatal(args ...any) {
	l.logger.Error(fmt.Sprint(args...), "source", "asynq")
	os.Exit(1)
}
