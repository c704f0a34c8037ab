package jobs

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// retryExhausted starts the line asynq logs when it archives a task.
const retryExhausted = "Retry exhausted for task"

// asynqLogger routes asynq's own logs to slog.
type asynqLogger struct{ logger *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.logger.Debug(fmt.Sprint(args...), "source", "asynq") }
func (l asynqLogger) Info(args ...any)  { l.logger.Info(fmt.Sprint(args...), "source", "asynq") }
func (l asynqLogger) Error(args ...any) { l.logger.Error(fmt.Sprint(args...), "source", "asynq") }

// Warn logs at warn level, except asynq's "Retry exhausted" line: the
// handler has already logged why the task ends (an input error at info, a
// last failed attempt or a crash loop at error), and the task is archived
// as failed all the same.
func (l asynqLogger) Warn(args ...any) {
	msg := fmt.Sprint(args...)
	if strings.HasPrefix(msg, retryExhausted) {
		l.logger.Debug(msg, "source", "asynq")
		return
	}

	l.logger.Warn(msg, "source", "asynq")
}

// Fatal logs and exits, as asynq expects of its logger.
func (l asynqLogger) Fatal(args ...any) {
	l.logger.Error(fmt.Sprint(args...), "source", "asynq")
	os.Exit(1)
}
