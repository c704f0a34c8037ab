package jobs

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultWebhookRetrySchedule is the delay before each retry of a failed
// delivery: seven attempts over about 17.5 hours.
var DefaultWebhookRetrySchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour,
}

// WebhookQueue is the asynq queue webhook deliveries travel on.
const WebhookQueue = "webhooks"

// Limits every delivery task carries, whatever the server's settings: asynq
// never gives up on a delivery before the server's own schedule does, and
// never cuts an attempt shorter than the server's timeout.
const (
	maxWebhookRetries  = 50
	webhookTaskTimeout = 5 * time.Minute
)

// WebhookConfig configures webhook deliveries. The side that records and
// queues them (the predict handler, the web process) reads Redis, Queue,
// KeyPrefix, Retention and Logger; Signer and Allow also check URLs at
// submission; the server that sends them reads everything.
type WebhookConfig struct {
	// Redis holds delivery records and the asynq queue. Required.
	Redis redis.UniversalClient
	// Signer signs every delivery. Nil disables webhooks: Validate and
	// Replay return ErrNoWebhookSecret and no server can start. Defaults to
	// nil.
	Signer *WebhookSigner
	// Allow lists the hosts, addresses and CIDR prefixes a webhook may reach
	// although the request forgery guard would refuse them
	// (DERMQ_WEBHOOK_ALLOW). Defaults to none.
	Allow []string
	// RetrySchedule is the delay before each retry; the number of entries is
	// the number of retries (DERMQ_WEBHOOK_RETRY_SCHEDULE). asynq keeps retry
	// times in whole seconds, so a delay may end up to a second early.
	// Defaults to DefaultWebhookRetrySchedule.
	RetrySchedule []time.Duration
	// Timeout bounds one attempt, from dialling to the end of the answer
	// (DERMQ_WEBHOOK_TIMEOUT). Defaults to 10 seconds.
	Timeout time.Duration
	// Retention is how long delivery records are kept after their last
	// change. Defaults to 72 hours.
	Retention time.Duration
	// Queue is the asynq queue deliveries use. Defaults to WebhookQueue.
	Queue string
	// KeyPrefix starts every Redis key of a delivery record. Defaults to
	// "dermq:".
	KeyPrefix string
	// Concurrency is how many deliveries the server sends at once.
	// Defaults to 10.
	Concurrency int
	// PollInterval is how often the server looks for new and due deliveries
	// when idle. Defaults to 1 second.
	PollInterval time.Duration
	// SweepInterval is how often the server looks for pending deliveries
	// that have no task (the process that recorded one died before queueing
	// it, or Redis refused the task) and queues them. A delivery is left to
	// its own process for one interval after it is recorded or replayed.
	// Defaults to 1 minute.
	SweepInterval time.Duration
	// Logger receives delivery logs. Defaults to slog.Default().
	Logger *slog.Logger
}

// withDefaults fills in every unset field and checks the rest.
func (c WebhookConfig) withDefaults() (WebhookConfig, error) {
	if c.Redis == nil {
		return c, errors.New("webhook config: Redis is required")
	}
	if c.RetrySchedule == nil {
		c.RetrySchedule = DefaultWebhookRetrySchedule
	}
	if len(c.RetrySchedule) > maxWebhookRetries {
		return c, fmt.Errorf("webhook config: RetrySchedule has %d entries, at most %d",
			len(c.RetrySchedule), maxWebhookRetries)
	}
	c.Timeout = orDuration(c.Timeout, 10*time.Second)
	if c.Timeout > webhookTaskTimeout/2 {
		return c, fmt.Errorf("webhook config: Timeout %s is longer than %s",
			c.Timeout, webhookTaskTimeout/2)
	}
	c.Retention = orDuration(c.Retention, 72*time.Hour)
	c.PollInterval = orDuration(c.PollInterval, time.Second)
	c.SweepInterval = orDuration(c.SweepInterval, time.Minute)
	if c.Queue == "" {
		c.Queue = WebhookQueue
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "dermq:"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 10
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}

	return c, nil
}

func orDuration(d, fallback time.Duration) time.Duration {
	if d <= 0 {
		return fallback
	}
	return d
}

// ParseWebhookRetrySchedule reads DERMQ_WEBHOOK_RETRY_SCHEDULE: Go durations
// separated by commas, such as "5s,5m,30m,2h,5h,10h". "none" means no retry.
func ParseWebhookRetrySchedule(value string) ([]time.Duration, error) {
	if strings.TrimSpace(value) == "none" {
		return []time.Duration{}, nil
	}

	var schedule []time.Duration
	for field := range strings.SplitSeq(value, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(field))
		if err != nil {
			return nil, fmt.Errorf("reading DERMQ_WEBHOOK_RETRY_SCHEDULE: %w", err)
		}
		if d <= 0 {
			return nil, fmt.Errorf(
				"reading DERMQ_WEBHOOK_RETRY_SCHEDULE: delay %s is not positive", d)
		}
		schedule = append(schedule, d)
	}

	return schedule, nil
}
