package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"

	"github.com/dermq/dermq/jobs"
	"github.com/redis/go-redis/v9"
)

func init() {
	register(command{
		name:    "webhooks",
		summary: "send queued webhook deliveries (no model; 'dermq web' also does)",
		run:     runWebhooks,
	})
}

// webhookSettings are the variables of webhook delivery, read by every
// process that serves the API or sends deliveries.
var webhookSettings = []string{
	"DERMQ_WEBHOOK_SECRET", "DERMQ_WEBHOOK_ALLOW", "DERMQ_WEBHOOK_RETRY_SCHEDULE",
	"DERMQ_WEBHOOK_TIMEOUT",
}

// webhooksVars are the settings `dermq webhooks` reads.
var webhooksVars = append([]string{"REDIS_URL", "DERMQ_LOG_FORMAT", "DERMQ_LOG_LEVEL"},
	webhookSettings...)

func runWebhooks(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("webhooks", flag.ContinueOnError)
	cfg := newConfig(fs, "Sends queued webhook deliveries, signed, with retries. It holds "+
		"no model; 'dermq web' runs the same server unless --no-webhooks.", webhooksVars...)
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}

	logger, err := newLogger(cfg, "webhooks")
	if err != nil {
		return err
	}
	cfg.log(logger, "starting webhooks")

	rdb, err := openRedis(ctx, cfg.str("REDIS_URL"))
	if err != nil {
		return err
	}
	defer rdb.Close()

	whcfg, err := webhookConfig(cfg, rdb, logger)
	if err != nil {
		return err
	}
	srv, err := jobs.NewWebhookServer(whcfg)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Shutdown()

	<-ctx.Done()
	return nil
}

// webhookConfig reads the webhook settings. No secret leaves Signer nil.
func webhookConfig(
	cfg *config, rdb redis.UniversalClient, logger *slog.Logger,
) (jobs.WebhookConfig, error) {
	signer, err := jobs.ParseWebhookSecrets(cfg.str("DERMQ_WEBHOOK_SECRET"))
	if err != nil && !errors.Is(err, jobs.ErrNoWebhookSecret) {
		return jobs.WebhookConfig{}, err
	}
	allow, err := jobs.ParseWebhookAllow(cfg.str("DERMQ_WEBHOOK_ALLOW"))
	if err != nil {
		return jobs.WebhookConfig{}, err
	}
	schedule, err := jobs.ParseWebhookRetrySchedule(cfg.str("DERMQ_WEBHOOK_RETRY_SCHEDULE"))
	if err != nil {
		return jobs.WebhookConfig{}, err
	}
	timeout, err := cfg.duration("DERMQ_WEBHOOK_TIMEOUT")
	if err != nil {
		return jobs.WebhookConfig{}, err
	}

	return jobs.WebhookConfig{
		Redis: rdb, Signer: signer, Allow: allow, RetrySchedule: schedule,
		Timeout: timeout, Logger: logger,
	}, nil
}

// startWebhooks returns the webhooks of a process that serves the API and,
// when serve is set, starts the delivery server in it; stop shuts that
// down. Without a secret nothing is sent and uploads asking for a webhook
// are refused, which the log says once.
func startWebhooks(
	cfg *config, rdb redis.UniversalClient, logger *slog.Logger, serve bool,
) (*jobs.Webhooks, func(), error) {
	whcfg, err := webhookConfig(cfg, rdb, logger)
	if err != nil {
		return nil, nil, err
	}
	hooks, err := jobs.NewWebhooks(whcfg)
	if err != nil {
		return nil, nil, err
	}

	switch {
	case whcfg.Signer == nil:
		logger.Warn("webhooks disabled: DERMQ_WEBHOOK_SECRET is not set, so uploads that " +
			"ask for a webhook are refused with 400 webhooks_disabled")
		return hooks, func() {}, nil
	case !serve:
		logger.Info("webhook deliveries left to 'dermq webhooks' (--no-webhooks)")
		return hooks, func() {}, nil
	}

	srv, err := jobs.NewWebhookServer(whcfg)
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, nil, err
	}
	return hooks, srv.Shutdown, nil
}

// emitOnlyWebhooks returns the webhooks of the model worker: it records and
// queues the deliveries its predictions ask for and never sends one.
func emitOnlyWebhooks(rdb redis.UniversalClient, logger *slog.Logger) (*jobs.Webhooks, error) {
	return jobs.NewWebhooks(jobs.WebhookConfig{Redis: rdb, Logger: logger})
}
