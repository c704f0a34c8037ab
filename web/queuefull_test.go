package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// ownRedis starts a redis-server of the test's own on a free port, so that
// its memory limit touches no other test.
func ownRedis(t *testing.T) *redis.Client {
	t.Helper()

	bin, err := exec.LookPath("redis-server")
	if err != nil {
		requireOrSkip(t, "no redis-server on PATH: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	t.Cleanup(func() { _ = rdb.Close() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := rdb.Ping(context.Background()).Err()
		if err == nil {
			return rdb
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer: %v", port, err)
		}
	}
}

func TestAFullRedisAnswers503QueueFull(t *testing.T) {
	t.Parallel()

	rdb := ownRedis(t)
	store := jobs.NewStore(rdb, jobs.StoreConfig{})
	logger := slog.New(slog.DiscardHandler)
	enqueuer := jobs.NewEnqueuer(rdb, store, jobs.EnqueuerConfig{Logger: logger})
	app, err := New(Config{Predictions: enqueuer, Logger: logger})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	queued := upload(t, app, "image", tinyPNG(t, 1), "")
	if queued.StatusCode != fiber.StatusAccepted {
		t.Fatalf("upload before Redis is full: status = %d, want 202", queued.StatusCode)
	}
	var p struct{ ID string }
	if err := json.NewDecoder(queued.Body).Decode(&p); err != nil {
		t.Fatalf("decoding the accepted prediction: %v", err)
	}
	// Any memory in use is now over the limit: every write gets OOM.
	if err := rdb.ConfigSet(context.Background(), "maxmemory", "1").Err(); err != nil {
		t.Fatalf("setting maxmemory: %v", err)
	}

	cancel := httptest.NewRequest(http.MethodPost, "/api/v1/predictions/"+p.ID+"/cancel", nil)
	cases := []struct {
		name string
		resp func() *http.Response
	}{
		{"a new upload", func() *http.Response {
			return upload(t, app, "image", tinyPNG(t, 2), "")
		}},
		{"cancelling the queued prediction", func() *http.Response { return do(t, app, cancel) }},
	}
	for _, c := range cases {
		t.Run(c.name+" answers 503 queue_full", func(t *testing.T) {
			resp := c.resp()
			if resp.StatusCode != fiber.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503", resp.StatusCode)
			}
			if got := errorCode(t, resp); got != "queue_full" {
				t.Fatalf("error code = %q, want queue_full", got)
			}
		})
	}

	read := do(t, app, httptest.NewRequest(http.MethodGet, "/api/v1/predictions/"+p.ID, nil))
	if read.StatusCode != fiber.StatusOK {
		t.Fatalf("reading a prediction from a full Redis: status = %d, want 200",
			read.StatusCode)
	}
}

func TestHealthzHidesRedisAddressButLogsIt(t *testing.T) {
	t.Parallel()

	var logs bytes.Buffer
	app, addr := downAppLogging(t, slog.New(slog.NewTextHandler(&logs, nil)))

	resp := do(t, app, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if resp.StatusCode != fiber.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", resp.StatusCode)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if bytes.Contains(body.Bytes(), []byte(addr)) {
		t.Fatalf("/healthz shows Redis's address %s to anyone: %s", addr, body.String())
	}
	var answer errorBody
	if err := json.Unmarshal(body.Bytes(), &answer); err != nil ||
		answer.Error.Code != "redis_unavailable" {
		t.Fatalf("/healthz body = %s, want the redis_unavailable JSON error", body.String())
	}
	if !bytes.Contains(logs.Bytes(), []byte(addr)) {
		t.Fatalf("the log does not say which Redis failed (%s):\n%s", addr, logs.String())
	}
}
