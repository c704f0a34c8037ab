package jobs

import (
	"fmt"
	"log/slog"
	"os"
)

// webhookAsynqLogger routes the webhook server's asynq logs to slog.
type webhookAsynqLogger struct{ logger *slog.Logger }

func (l webhookAsynqLogger) Debug(args ...any) {
	l.logger.Debug(fmt.Sprint(args...), "source", "asynq")
}
func (l webhookAsynqLogger) Info(args ...any) { l.logger.Info(fmt.Sprint(args...), "source", "asynq") }
func (l webhookAsynqLogger) Warn(args ...any) { l.logger.Warn(fmt.Sprint(args...), "source", "asynq") }
func (l webhookAsynqLogger) Error(args ...any) {
	l.logger.Error(fmt.Sprint(args...))
}

// Fatal logs and exits, as asynq expects of its logger.
func (l webhookAsynqLogger) Fatal(args ...any) {
	l.logger.Error(fmt.Sprint(args...))
	os.Exit(1)
}
