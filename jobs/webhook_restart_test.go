package jobs

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// waitRetryQueued waits until the bundle's queue holds one task waiting for
// its retry, that is, the failed attempt is safely in Redis.
func (b *webhookBundle) waitRetryQueued(t *testing.T) {
	t.Helper()

	inspector := asynq.NewInspectorFromRedisClient(b.cfg.Redis)
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-ticker.C:
		case <-deadline:
			t.Fatal("no task waited for a retry within 10 s")
		}

		retrying, err := inspector.ListRetryTasks(b.cfg.Queue)
		if err == nil && len(retrying) == 1 {
			return
		}
	}
}

func failOnce(n int, _ http.ResponseWriter, _ *http.Request) int {
	if n == 1 {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

func TestWebhookSurvivesAServerRestartBetweenAttempts(t *testing.T) {
	t.Parallel()

	// asynq keeps retry times in whole seconds: a 2 s delay waits 1 to 2 s.
	b := newWebhookBundle(t, webhookRedis(t), 2*time.Second)
	rc := newTestReceiver(t, b.secret, failOnce)
	first := b.startServer(t)

	b.emit(t, "pred-restart", rc.URL, WebhookEventCompleted)
	rc.next(t)
	b.waitRetryQueued(t)
	first.Shutdown()

	rc.none(t, 2500*time.Millisecond)
	b.startServer(t)

	if call := rc.next(t); call.number != 2 || call.verifyErr != nil {
		t.Fatalf("second request = %d (verify: %v), want a verified second attempt",
			call.number, call.verifyErr)
	}
	d := b.waitEnded(t, "pred-restart", WebhookEventCompleted)
	if d.Status != DeliverySucceeded || len(d.Attempts) != 2 {
		t.Fatalf("delivery %s after %d attempts, want succeeded after 2", d.Status, len(d.Attempts))
	}
}

// privateRedis is a redis-server of the test's own, persisting every write
// to an append-only file so that it can be killed and started again.
type privateRedis struct {
	dir, port string
	cmd       *exec.Cmd
}

func startPrivateRedis(t *testing.T, dir, port string) *privateRedis {
	t.Helper()

	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skipf("no redis-server: %v", err)
	}

	r := &privateRedis{dir: dir, port: port}
	r.cmd = exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "")
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(r.kill)

	return r
}

// kill stops the server at once, as a crash would.
func (r *privateRedis) kill() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

func freePort(t *testing.T) string {
	t.Helper()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// waitPing waits until rdb answers, as after a restart.
func waitPing(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()

	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		select {
		case <-ticker.C:
		case <-deadline:
			t.Fatal("the private redis-server did not answer within 10 s")
		}
	}
}

func TestWebhookSurvivesARedisRestartBetweenAttempts(t *testing.T) {
	t.Parallel()

	dir, port := t.TempDir(), freePort(t)
	server := startPrivateRedis(t, dir, port)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port})
	t.Cleanup(func() { rdb.Close() })
	waitPing(t, rdb)

	b := newWebhookBundle(t, rdb, 2*time.Second)
	rc := newTestReceiver(t, b.secret, failOnce)
	b.startServer(t)

	b.emit(t, "pred-redis", rc.URL, WebhookEventCompleted)
	rc.next(t)
	b.waitRetryQueued(t)

	server.kill()
	if err := rdb.Ping(context.Background()).Err(); err == nil {
		t.Fatal("Redis still answers after being killed")
	}
	startPrivateRedis(t, dir, port)
	waitPing(t, rdb)

	rc.next(t)
	d := b.waitEnded(t, "pred-redis", WebhookEventCompleted)
	if d.Status != DeliverySucceeded || len(d.Attempts) != 2 {
		t.Fatalf("delivery %s after %d attempts, want succeeded after 2", d.Status, len(d.Attempts))
	}
}
