package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/redis/go-redis/v9"
)

// batchWebhookStack is the web app with batches and webhooks wired as
// `dermq web` wires them, and a webhook server, over the batch tests'
// database with a queue and key prefix of its own.
func batchWebhookStack(t *testing.T, secret string) (*stack, *jobs.Batches) {
	t.Helper()

	rdb := batchTestRedis(t)
	logger := slog.New(slog.DiscardHandler)
	name := strings.ToLower(jobs.NewID())
	hooks := startWebhooks(t, jobs.WebhookConfig{Redis: rdb, RetrySchedule: []time.Duration{},
		Queue: "webhooks-" + name, KeyPrefix: "dermq-test-" + name + ":", Logger: logger},
		secret)

	store := jobs.NewStore(rdb, jobs.StoreConfig{Retention: time.Hour})
	enq := jobs.NewEnqueuer(rdb, store, jobs.EnqueuerConfig{Logger: logger})
	batches := jobs.NewBatches(enq, jobs.BatchesConfig{
		Logger: logger, ValidateWebhook: hooks.Validate,
		OnCompleted: func(ctx context.Context, b *jobs.Batch, body []byte) error {
			target := jobs.WebhookTarget{URL: b.Webhook,
				Events: []jobs.WebhookEvent{jobs.WebhookEventBatchCompleted}}
			return hooks.Emit(ctx, b.ID, target, jobs.WebhookEventBatchCompleted, body)
		},
	})

	s := serveStack(t, Config{Predictions: enq, Batches: batches, Webhooks: hooks,
		Logger: logger})
	return s, batches
}

// postJSON posts body and decodes the answer into out, checking its status.
func (s *stack) postJSON(t *testing.T, url, body string, want int, out any) {
	t.Helper()

	resp, err := s.client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s = %d %s, want %d", url, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("decoding %s: %v", raw, err)
		}
	}
}

// waitBatchDelivery polls the batch's deliveries until one has ended.
func (s *stack) waitBatchDelivery(t *testing.T, url string) jobs.WebhookDelivery {
	t.Helper()

	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(15 * time.Second)
	for {
		var listed deliveriesBody
		if err := json.Unmarshal(s.rawGet(t, url), &listed); err != nil {
			t.Fatalf("decoding deliveries: %v", err)
		}
		if len(listed.Deliveries) > 1 {
			t.Fatalf("the batch has %d deliveries, want one", len(listed.Deliveries))
		}
		if len(listed.Deliveries) == 1 && listed.Deliveries[0].Status != jobs.DeliveryPending {
			return listed.Deliveries[0]
		}

		select {
		case <-ticker.C:
		case <-deadline:
			t.Fatal("the batch delivery did not end within 15 s")
		}
	}
}

func TestBatchWebhookSendsTheBatchAsGETShowsIt(t *testing.T) {
	t.Parallel()

	secret := newWebhookSecret(t)
	s, batches := batchWebhookStack(t, secret)
	receiver, calls := hookReceiver(t, secret)

	var created jobs.BatchView
	s.postJSON(t, s.base+"/api/v1/batches",
		`{"webhook":"`+receiver.URL+`/batch","webhook_events_filter":["completed"]}`,
		http.StatusCreated, &created)
	// A file that is no image fails at once, so the batch completes when it
	// is sealed, without a worker.
	if _, err := batches.Add(context.Background(), created.ID, "notes/readme.png",
		[]byte("no image here")); err != nil {
		t.Fatalf("Add: %v", err)
	}
	s.postJSON(t, created.URLs.Seal, "", http.StatusOK, nil)

	call := nextCall(t, calls)
	t.Run("the event is batch.completed and the body is the GET answer", func(t *testing.T) {
		if call.event != string(jobs.WebhookEventBatchCompleted) {
			t.Fatalf("event = %q, want batch.completed", call.event)
		}
		if got := s.rawGet(t, created.URLs.Get); !bytes.Equal([]byte(call.body), got) {
			t.Fatalf("webhook body differs from GET:\n%s\n%s", call.body, got)
		}
	})

	d := s.waitBatchDelivery(t, created.URLs.Webhooks)
	t.Run("the delivery is listed under the batch", func(t *testing.T) {
		if d.BatchID != created.ID || d.PredictionID != "" || d.Status != jobs.DeliverySucceeded {
			t.Fatalf("delivery = %+v, want the batch's, succeeded", d)
		}
		if d.WebhookID != call.id || len(d.Attempts) != 1 {
			t.Fatalf("delivery %s with %d attempts, want %s with 1", d.WebhookID,
				len(d.Attempts), call.id)
		}
	})

	t.Run("a replay sends the same delivery again", func(t *testing.T) {
		var replayed jobs.WebhookDelivery
		s.postJSON(t, created.URLs.Webhooks+"/"+d.ID+"/replay", "", http.StatusAccepted,
			&replayed)
		again := nextCall(t, calls)
		if again.id != call.id || again.body != call.body || replayed.Replays != 1 {
			t.Fatalf("replay sent %s (replays %d), want %s with the same body", again.id,
				replayed.Replays, call.id)
		}
		s.postJSON(t, created.URLs.Webhooks+"/whd_unknown/replay", "", http.StatusNotFound,
			nil)
	})
}

func TestBatchWebhookRefusalsMatchPredictions(t *testing.T) {
	t.Parallel()

	secret := newWebhookSecret(t)
	signer, _ := jobs.ParseWebhookSecrets(secret)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	enabled, _ := jobs.NewWebhooks(jobs.WebhookConfig{Redis: rdb, Signer: signer})
	disabled, _ := jobs.NewWebhooks(jobs.WebhookConfig{Redis: rdb})

	cases := []struct {
		name, body, code string
		validate         func(string) error
	}{
		{"a loopback address is refused", `{"webhook":"http://127.0.0.1/x"}`,
			"invalid_webhook", enabled.Validate},
		{"an event other than completed is refused",
			`{"webhook":"https://hooks.example.org/","webhook_events_filter":["start"]}`,
			"invalid_webhook", enabled.Validate},
		{"no secret refuses webhooks", `{"webhook":"https://hooks.example.org/"}`,
			"webhooks_disabled", disabled.Validate},
		{"no webhook wiring refuses webhooks", `{"webhook":"https://hooks.example.org/"}`,
			"webhooks_disabled", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			logger := slog.New(slog.DiscardHandler)
			store := jobs.NewStore(rdb, jobs.StoreConfig{})
			enq := jobs.NewEnqueuer(rdb, store, jobs.EnqueuerConfig{Logger: logger})
			batches := jobs.NewBatches(enq, jobs.BatchesConfig{Logger: logger,
				ValidateWebhook: tc.validate})
			s := serveStack(t, Config{Predictions: enq, Batches: batches, Logger: logger})

			var answer struct{ Error jobs.ErrorInfo }
			s.postJSON(t, s.base+"/api/v1/batches", tc.body, http.StatusBadRequest, &answer)
			if answer.Error.Code != tc.code {
				t.Fatalf("code = %q (%s), want %s", answer.Error.Code, answer.Error.Message,
					tc.code)
			}
		})
	}
}
