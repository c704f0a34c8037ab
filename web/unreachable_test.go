package web

import (
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// downApp is the web app with its Redis on a port nobody listens on.
func downApp(t *testing.T) *fiber.App {
	t.Helper()

	app, _ := downAppLogging(t, slog.New(slog.DiscardHandler))
	return app
}

// downAppLogging is downApp logging to logger; it also returns the address
// nobody listens on.
func downAppLogging(t *testing.T, logger *slog.Logger) (*fiber.App, string) {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()

	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	store := jobs.NewStore(rdb, jobs.StoreConfig{})
	enqueuer := jobs.NewEnqueuer(rdb, store, jobs.EnqueuerConfig{Logger: logger})
	app, err := New(Config{Predictions: enqueuer, Logger: logger})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return app, addr
}

func TestReadsAnswer503WhileRedisIsDown(t *testing.T) {
	t.Parallel()

	app := downApp(t)
	id := jobs.NewID()
	cases := []struct {
		name   string
		method string
		path   string
	}{
		{"reading a prediction", "GET", "/api/v1/predictions/" + id},
		{"reading a heatmap", "GET", "/api/v1/predictions/" + id + "/heatmap.png"},
		{"reading the display image", "GET", "/api/v1/predictions/" + id + "/image"},
		{"cancelling a prediction", "POST", "/api/v1/predictions/" + id + "/cancel"},
	}
	for _, c := range cases {
		t.Run(c.name+" answers 503 queue_unavailable", func(t *testing.T) {
			t.Parallel()

			resp := do(t, app, httptest.NewRequest(c.method, c.path, nil))
			if resp.StatusCode != fiber.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503", resp.StatusCode)
			}
			if got := errorCode(t, resp); got != "queue_unavailable" {
				t.Fatalf("error code = %q, want queue_unavailable", got)
			}
		})
	}
}
