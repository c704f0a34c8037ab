package web

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"golang.org/x/sync/semaphore"
)

// Predictions is what the web app needs from the job pipeline.
// *jobs.Enqueuer satisfies it.
type Predictions interface {
	Submit(ctx context.Context, sub jobs.Submission) (*jobs.Prediction, error)
	SubmitOnce(ctx context.Context, key string, sub jobs.Submission) (
		*jobs.Prediction, bool, error)
	Get(ctx context.Context, id string) (*jobs.Prediction, error)
	Cancel(ctx context.Context, id string) (*jobs.Prediction, error)
	Display(ctx context.Context, id string) ([]byte, error)
	Heatmap(ctx context.Context, id string) ([]byte, error)
	Ping(ctx context.Context) error
}

// DefaultTrustedProxies are loopback and the private ranges, where a
// platform's load balancer connects from.
var DefaultTrustedProxies = []string{
	"127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
}

// Config configures the web app.
type Config struct {
	// Predictions queues and reads predictions. Required.
	Predictions Predictions
	// MaxUploadBytes is the largest image accepted. Defaults to 10 MB.
	MaxUploadBytes int
	// MaxPixels is the most pixels an image header may declare. Defaults to
	// 50 million.
	MaxPixels int
	// Webhooks checks webhook URLs at submission and lists and replays
	// deliveries. Defaults to nil: uploads asking for a webhook are refused
	// and the webhook routes are left out.
	Webhooks Webhooks
	// Batches serves batch submissions; nil leaves the batch API out.
	// Defaults to nil.
	Batches Batches
	// MaxBatchZipBytes is the largest zip a batch upload may send. It is
	// spooled to a temporary file, never held in memory. Defaults to 2 GB.
	MaxBatchZipBytes int
	// UploadSlots sets the memory uploads may hold at once: that many
	// uploads of the largest size. Each upload takes the part of it that its
	// Content-Length declares (all of one slot when it declares none); the
	// others wait, their bytes still in the network buffers, which keeps
	// the web process's memory flat under load. A slow client holds its
	// part while it sends, at most ReadTimeout; an upload that waits two
	// minutes gets a 503. Defaults to 2.
	UploadSlots int
	// TrustedProxies are the addresses or CIDR ranges whose X-Forwarded-For,
	// X-Forwarded-Proto and X-Forwarded-Host headers are believed: they give
	// the client address in logs and the scheme and host of the URLs in
	// answers. An empty, non-nil list trusts no one. Defaults to
	// DefaultTrustedProxies.
	TrustedProxies []string
	// Logger receives the app's logs. Defaults to slog.Default().
	Logger *slog.Logger
}

func (c *Config) fillDefaults() error {
	if c.Predictions == nil {
		return fmt.Errorf("web config: Predictions is required")
	}
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = 10 << 20
	}
	if c.MaxPixels <= 0 {
		c.MaxPixels = 50_000_000
	}
	if c.MaxBatchZipBytes <= 0 {
		c.MaxBatchZipBytes = 2 << 30
	}
	if c.UploadSlots <= 0 {
		c.UploadSlots = 2
	}
	if c.TrustedProxies == nil {
		c.TrustedProxies = DefaultTrustedProxies
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}

	return nil
}

// server holds the app's handlers and what they share.
// ReadTimeout is the longest a client may take to send one request, body
// included: a stalled upload gives its memory back and its connection is
// closed. It is long enough for a 2 GB batch zip at 4 MB/s and for a 10 MB
// photo at 17 KB/s.
const ReadTimeout = 10 * time.Minute

// idleTimeout closes a kept-alive connection that sends no new request.
const idleTimeout = time.Minute

type server struct {
	cfg       Config
	pages     *template.Template
	uploads   *semaphore.Weighted
	bodyLimit int
}

// New builds the Fiber app.
func New(cfg Config) (*fiber.App, error) {
	if err := cfg.fillDefaults(); err != nil {
		return nil, err
	}

	pages, err := parsePages()
	if err != nil {
		return nil, err
	}

	bodyLimit := cfg.MaxUploadBytes + formOverhead
	s := &server{
		cfg:       cfg,
		pages:     pages,
		uploads:   semaphore.NewWeighted(int64(cfg.UploadSlots) * int64(bodyLimit)),
		bodyLimit: bodyLimit,
	}
	app := fiber.New(fiber.Config{
		AppName:                      "dermq",
		BodyLimit:                    s.bodyLimit,
		StreamRequestBody:            true,
		ReadTimeout:                  ReadTimeout,
		IdleTimeout:                  idleTimeout,
		DisablePreParseMultipartForm: true,
		DisableStartupMessage:        true,
		EnableTrustedProxyCheck:      true,
		TrustedProxies:               cfg.TrustedProxies,
		ProxyHeader:                  fiber.HeaderXForwardedFor,
		ErrorHandler:                 s.handleError,
	})
	app.Use(recover.New(recover.Config{EnableStackTrace: true,
		StackTraceHandler: s.logPanic}))
	s.routes(app)

	return app, nil
}

func (s *server) routes(app *fiber.App) {
	app.Get("/", s.index)
	app.Get("/healthz", s.health)
	app.Get("/predictions/:id", s.resultPage)
	app.Use("/static", staticHandler())

	api := app.Group("/api/v1/predictions")
	api.Post("/", s.create)
	api.Get("/:id", s.get)
	api.Get("/:id/heatmap.png", s.heatmap)
	api.Get("/:id/image", s.display)
	api.Post("/:id/cancel", s.cancel)
	if s.cfg.Webhooks != nil {
		api.Get("/:id/webhooks", s.listWebhooks)
		api.Post("/:id/webhooks/:delivery/replay", s.replayWebhook)
	}

	if s.cfg.Batches != nil {
		s.batchRoutes(app)
	}
}

func (s *server) logPanic(c *fiber.Ctx, e any) {
	s.cfg.Logger.Error("handler panicked", "path", c.Path(), "error", fmt.Sprint(e))
}

func (s *server) health(c *fiber.Ctx) error {
	if err := s.cfg.Predictions.Ping(c.UserContext()); err != nil {
		// The detail names Redis's host and port: for the log, not for
		// whoever asks.
		s.cfg.Logger.Warn("health check: redis unreachable", "error", err)
		return apiError(fiber.StatusServiceUnavailable, "redis_unavailable",
			"Redis cannot be reached.")
	}

	return c.JSON(fiber.Map{"status": "ok"})
}
