package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/dermq/dermq/web"
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// webShutdownTimeout is how long open requests get to finish on shutdown.
const webShutdownTimeout = 10 * time.Second

func init() {
	register(command{
		name:    "web",
		summary: "serve the upload page, the result page and the JSON API",
		run:     runWeb,
	})
}

// webVars are the settings the web process reads.
var webVars = append([]string{
	"REDIS_URL", "PORT", "DERMQ_MAX_UPLOAD_BYTES", "DERMQ_MAX_PIXELS", "DERMQ_RETENTION",
	"DERMQ_UPLOAD_SLOTS", "DERMQ_JOB_TIMEOUT", "DERMQ_MAX_RETRY", "DERMQ_TRUSTED_PROXIES",
	"DERMQ_LOG_FORMAT", "DERMQ_LOG_LEVEL",
}, webhookSettings...)

func runWeb(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	cfg := newConfig(fs, "Serves the web app. It queues predictions; it never loads the model.",
		webVars...)
	noWebhooks := fs.Bool("no-webhooks", false,
		"do not send webhook deliveries from this process (run 'dermq webhooks' instead)")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}

	logger, err := newLogger(cfg, "web")
	if err != nil {
		return err
	}
	cfg.log(logger, "starting web")

	rdb, err := openRedis(ctx, cfg.str("REDIS_URL"))
	if err != nil {
		return err
	}
	defer rdb.Close()

	hooks, stopWebhooks, err := startWebhooks(cfg, rdb, logger, !*noWebhooks)
	if err != nil {
		return err
	}
	defer stopWebhooks()

	app, err := buildWebApp(ctx, cfg, rdb, hooks, logger)
	if err != nil {
		return err
	}

	return serveWeb(ctx, app, ":"+cfg.str("PORT"), logger)
}

// buildWebApp wires the Fiber app to the job pipeline over rdb. The batch
// sweep it starts runs until ctx ends.
func buildWebApp(
	ctx context.Context, cfg *config, rdb *redis.Client, hooks *jobs.Webhooks,
	logger *slog.Logger,
) (*fiber.App, error) {
	store, err := newStore(cfg, rdb, hooks)
	if err != nil {
		return nil, err
	}

	enqueuer, err := newEnqueuer(cfg, rdb, store, logger)
	if err != nil {
		return nil, err
	}

	maxUpload, err := cfg.int("DERMQ_MAX_UPLOAD_BYTES")
	if err != nil {
		return nil, err
	}
	maxPixels, err := cfg.int("DERMQ_MAX_PIXELS")
	if err != nil {
		return nil, err
	}
	slots, err := cfg.int("DERMQ_UPLOAD_SLOTS")
	if err != nil {
		return nil, err
	}
	proxies, err := cfg.addresses("DERMQ_TRUSTED_PROXIES")
	if err != nil {
		return nil, err
	}

	batches := newBatches(enqueuer, hooks, maxPixels, logger)
	go batches.Run(ctx)

	return web.New(web.Config{
		Predictions:    enqueuer,
		Webhooks:       hooks,
		Batches:        batches,
		MaxUploadBytes: maxUpload,
		MaxPixels:      maxPixels,
		UploadSlots:    slots,
		TrustedProxies: proxies,
		Logger:         logger,
	})
}

// newStore returns the prediction store; hooks hears of starts and ends.
func newStore(cfg *config, rdb *redis.Client, hooks *jobs.Webhooks) (*jobs.Store, error) {
	retention, err := cfg.duration("DERMQ_RETENTION")
	if err != nil {
		return nil, err
	}

	return jobs.NewStore(rdb, jobs.StoreConfig{Retention: retention, Webhooks: hooks}), nil
}

func newEnqueuer(
	cfg *config, rdb *redis.Client, store *jobs.Store, logger *slog.Logger,
) (*jobs.Enqueuer, error) {
	timeout, err := cfg.duration("DERMQ_JOB_TIMEOUT")
	if err != nil {
		return nil, err
	}
	maxRetry, err := readMaxRetry(cfg)
	if err != nil {
		return nil, err
	}

	return jobs.NewEnqueuer(rdb, store, jobs.EnqueuerConfig{
		MaxRetry: maxRetry,
		Timeout:  timeout,
		Logger:   logger,
	}), nil
}

// serveWeb serves app on addr until ctx ends, then lets open requests
// finish.
func serveWeb(ctx context.Context, app *fiber.App, addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}

	return serveListener(ctx, app, ln, logger)
}

func serveListener(ctx context.Context, app *fiber.App, ln net.Listener, log *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	log.Info("web listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("serving http: %w", err)
	case <-ctx.Done():
	}

	log.Info("web shutting down")
	err := app.ShutdownWithTimeout(webShutdownTimeout)
	if errors.Is(err, context.DeadlineExceeded) {
		// A client that stalls mid-request must not turn a stop into a
		// failure: its connection is dropped with the process.
		log.Warn("closing connections still open after the shutdown wait",
			"wait", webShutdownTimeout.String())
		return nil
	}
	if err != nil {
		return fmt.Errorf("shutting down http: %w", err)
	}

	return nil
}

// usageError maps a flag parse error to the usage exit code; asking for
// help is not an error.
func usageError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return &exitCodeError{code: exitOK}
	}

	return &exitCodeError{code: exitUsage, err: err}
}
