package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
)

// WebhookServer sends queued webhook deliveries: a light asynq server on the
// webhook queue alone, run by `dermq web` or `dermq webhooks`, never by the
// model worker.
type WebhookServer struct {
	webhooks *Webhooks
	client   *http.Client
	srv      *asynq.Server

	// stopSweep ends the sweep; swept is closed when it has returned.
	stopSweep context.CancelFunc
	swept     chan struct{}
}

// NewWebhookServer returns a server for the deliveries cfg describes. It
// refuses to run without a signing secret.
func NewWebhookServer(cfg WebhookConfig) (*WebhookServer, error) {
	webhooks, err := NewWebhooks(cfg)
	if err != nil {
		return nil, err
	}
	if !webhooks.Enabled() {
		return nil, ErrNoWebhookSecret
	}

	cfg = webhooks.cfg
	s := &WebhookServer{
		webhooks: webhooks,
		client:   newWebhookHTTPClient(cfg.Allow, cfg.Timeout),
	}
	s.srv = asynq.NewServerFromRedisClient(cfg.Redis, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   map[string]int{cfg.Queue: 1},
		RetryDelayFunc:           s.retryDelay,
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		ShutdownTimeout:          cfg.Timeout + 5*time.Second,
		Logger:                   asynqLogger{logger: cfg.Logger.With("component", "webhooks")},
		LogLevel:                 asynq.WarnLevel,
	})

	return s, nil
}

// Start begins sending deliveries in the background.
func (s *WebhookServer) Start() error {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeWebhookDelivery, s.deliver)
	if err := s.srv.Start(mux); err != nil {
		return fmt.Errorf("starting webhook server: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.stopSweep, s.swept = cancel, make(chan struct{})
	go s.runSweep(ctx)

	cfg := s.webhooks.cfg
	cfg.Logger.Info("webhook server started", "queue", cfg.Queue,
		"retry_schedule", fmt.Sprint(cfg.RetrySchedule), "timeout", cfg.Timeout.String(),
		"signing_keys", cfg.Signer.Keys(), "allow", fmt.Sprint(cfg.Allow))
	return nil
}

// Shutdown stops the sweep, waits for the attempts in flight, up to the
// attempt timeout, and stops. Deliveries waiting for a retry stay queued in
// Redis for the next server.
func (s *WebhookServer) Shutdown() {
	if s.stopSweep != nil {
		s.stopSweep()
		<-s.swept
	}
	s.srv.Shutdown()
}

// retryDelay follows the configured schedule: the n-th retry waits its
// n-th entry.
func (s *WebhookServer) retryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	schedule := s.webhooks.cfg.RetrySchedule
	if len(schedule) == 0 {
		return time.Second
	}
	return schedule[min(n, len(schedule)-1)]
}

// deliver runs one attempt of one delivery. It returns an error only to ask
// asynq for a retry; every ending (success, 410, refused destination, last
// attempt) is recorded on the delivery and returns nil.
func (s *WebhookServer) deliver(ctx context.Context, task *asynq.Task) error {
	id := string(task.Payload())
	store := s.webhooks.store
	d, err := store.get(ctx, id)
	if errors.Is(err, ErrDeliveryNotFound) {
		s.webhooks.cfg.Logger.Warn("webhook delivery expired before sending", "delivery_id", id)
		return nil
	}
	if err != nil {
		return err
	}
	if d.Status != DeliveryPending {
		return s.handOn(ctx, d, "")
	}

	attempt, outcome := sendAttempt(ctx, s.client, s.webhooks.cfg.Signer, d, len(d.Attempts)+1)
	if err := store.addAttempt(ctx, id, attempt); err != nil {
		return err
	}
	s.logAttempt(d, attempt)

	return s.conclude(ctx, d, attempt, outcome)
}

// conclude records how the delivery ends after an attempt, or asks for a
// retry.
func (s *WebhookServer) conclude(ctx context.Context, d *WebhookDelivery, attempt WebhookAttempt,
	outcome attemptOutcome) error {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry := len(s.webhooks.cfg.RetrySchedule)

	switch {
	case outcome == outcomeSucceeded:
		return s.end(ctx, d, DeliverySucceeded, "")
	case outcome == outcomeStop:
		return s.end(ctx, d, DeliveryFailed, attempt.Error)
	case retried >= maxRetry:
		reason := fmt.Sprintf("gave up after %d attempts; last: %s", retried+1, attempt.Error)
		return s.end(ctx, d, DeliveryFailed, reason)
	}

	return fmt.Errorf("webhook attempt %d of delivery %s: %s", attempt.Number, d.ID, attempt.Error)
}

// end records the delivery's ending and queues the delivery that waited for
// it.
func (s *WebhookServer) end(ctx context.Context, d *WebhookDelivery, status DeliveryStatus,
	reason string) error {
	next, err := s.webhooks.store.finish(ctx, d, status, reason)
	if err != nil {
		return err
	}

	attrs := []any{"delivery_id", d.ID, "owner_id", d.owner(), "event", d.Event,
		"status", status}
	if reason != "" {
		attrs = append(attrs, "reason", reason)
	}
	s.webhooks.cfg.Logger.Info("webhook delivery ended", attrs...)
	return s.handOn(ctx, d, next)
}

// handOn queues the delivery that waited for d. When next is "" it is read
// from the record, which makes a repeated task (asynq redelivers after a
// crash) finish the hand-over; a failed hand-over is retried by asynq,
// whose retry limit lies far beyond the delivery schedule.
func (s *WebhookServer) handOn(ctx context.Context, d *WebhookDelivery, next string) error {
	if next == "" {
		waiting, err := s.webhooks.store.next(ctx, d.ID)
		if err != nil || waiting == "" {
			return err
		}
		next = waiting
	}

	_, err := s.webhooks.enqueue(ctx, next, next)
	return err
}

func (s *WebhookServer) logAttempt(d *WebhookDelivery, a WebhookAttempt) {
	attrs := []any{"delivery_id", d.ID, "event", d.Event, "attempt", a.Number,
		"status_code", a.StatusCode, "duration_ms", a.DurationMS}
	if a.Error != "" {
		attrs = append(attrs, "error", a.Error)
	}
	s.webhooks.cfg.Logger.Info("webhook attempt", attrs...)
}
