package jobs

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DeliveryStatus is where one webhook delivery stands.
type DeliveryStatus string

// The states of a delivery.
const (
	// DeliveryPending: queued, being sent, waiting for a retry, or waiting
	// for the prediction's earlier delivery to end.
	DeliveryPending DeliveryStatus = "pending"
	// DeliverySucceeded: the receiver answered 2xx.
	DeliverySucceeded DeliveryStatus = "succeeded"
	// DeliveryFailed: retries are exhausted, or stopped; Reason says why.
	DeliveryFailed DeliveryStatus = "failed"
)

// ErrDeliveryNotFound means no delivery has that id for that prediction
// (never made, or expired).
var ErrDeliveryNotFound = errors.New("webhook delivery not found")

// ErrDeliveryPending means a delivery cannot be replayed while it is still
// being attempted.
var ErrDeliveryPending = errors.New("webhook delivery is still pending")

// WebhookDelivery is one event of one prediction sent to its webhook, with
// every attempt made so far.
type WebhookDelivery struct {
	ID           string         `json:"id"`
	PredictionID string         `json:"prediction_id"`
	Event        WebhookEvent   `json:"event"`
	URL          string         `json:"url"`
	WebhookID    string         `json:"webhook_id"`
	Status       DeliveryStatus `json:"status"`
	// Reason says why a delivery failed.
	Reason string `json:"reason,omitempty"`
	// After is the earlier delivery of the same prediction this one waits
	// for, so that the receiver sees events in order.
	After     string    `json:"after,omitempty"`
	Replays   int       `json:"replays"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Body is the JSON sent, as it was when the event happened.
	Body     json.RawMessage  `json:"body"`
	Attempts []WebhookAttempt `json:"attempts"`
}

// WebhookAttempt is one try at sending a delivery.
type WebhookAttempt struct {
	Number int       `json:"number"`
	At     time.Time `json:"at"`
	// StatusCode is the receiver's HTTP status; 0 when none came back.
	StatusCode int `json:"status_code,omitempty"`
	// Error says what went wrong, when anything did.
	Error      string  `json:"error,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// deliveryStore keeps delivery records in Redis:
//
//	PREFIX webhook:ID           hash of the delivery's fields
//	PREFIX webhook:ID:attempts  list of attempts as JSON
//	PREFIX webhooks:PRED        hash event -> delivery id
//	PREFIX webhooks:PRED:tail   the prediction's last delivery not yet ended
type deliveryStore struct {
	rdb       redis.UniversalClient
	prefix    string
	retention time.Duration
}

func (s deliveryStore) key(id string) string         { return s.prefix + "webhook:" + id }
func (s deliveryStore) attemptsKey(id string) string { return s.key(id) + ":attempts" }
func (s deliveryStore) indexKey(pred string) string  { return s.prefix + "webhooks:" + pred }
func (s deliveryStore) tailKey(pred string) string   { return s.indexKey(pred) + ":tail" }

// createScript records a new delivery unless the prediction already has one
// for the event, and chains it behind the prediction's delivery still in
// flight, if any. It returns {id, waiting}: the delivery that exists for the
// event, and 1 when it must wait for an earlier one.
var createScript = redis.NewScript(`
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then return {existing, -1} end
local ttl = tonumber(ARGV[3])
local waiting = 0
local tail = redis.call('GET', KEYS[3])
if tail and redis.call('EXISTS', ARGV[4] .. tail) == 1 then
  redis.call('HSET', ARGV[4] .. tail, 'next', ARGV[1])
  redis.call('HSET', KEYS[1], 'after', tail)
  waiting = 1
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('SET', KEYS[3], ARGV[1], 'PX', ttl)
return {ARGV[1], waiting}
`)

// create records d and reports whether it must wait for an earlier delivery.
// created is false when the prediction already had a delivery for the event.
func (s deliveryStore) create(ctx context.Context, d *WebhookDelivery) (
	created, waiting bool, err error,
) {
	keys := []string{s.key(d.ID), s.indexKey(d.PredictionID), s.tailKey(d.PredictionID)}
	args := []any{d.ID, string(d.Event), s.retention.Milliseconds(), s.prefix + "webhook:",
		"prediction_id", d.PredictionID, "event", string(d.Event), "url", d.URL,
		"webhook_id", d.WebhookID, "status", string(d.Status), "replays", 0,
		"created_at", d.CreatedAt.Format(time.RFC3339Nano),
		"updated_at", d.UpdatedAt.Format(time.RFC3339Nano), "body", []byte(d.Body)}

	res, err := createScript.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return false, false, fmt.Errorf("recording webhook delivery: %w", err)
	}

	id, _ := res[0].(string)
	flag, _ := res[1].(int64)
	if flag == -1 {
		d.ID = id
		return false, false, nil
	}
	return true, flag == 1, nil
}

// finishScript marks a delivery ended and hands the chain on. It returns the
// id of the delivery that was waiting for this one, or "".
var finishScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'reason', ARGV[3], 'updated_at', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
local nxt = redis.call('HGET', KEYS[1], 'next')
if nxt then return nxt end
return ''
`)

// finish records the end of a delivery and returns the delivery waiting for
// it, if any.
func (s deliveryStore) finish(ctx context.Context, d *WebhookDelivery, status DeliveryStatus,
	reason string) (string, error) {
	keys := []string{s.key(d.ID), s.tailKey(d.PredictionID)}
	next, err := finishScript.Run(ctx, s.rdb, keys, d.ID, string(status), reason,
		time.Now().UTC().Format(time.RFC3339Nano), s.retention.Milliseconds()).Text()
	if err != nil {
		return "", fmt.Errorf("recording the end of webhook delivery %s: %w", d.ID, err)
	}

	d.Status, d.Reason = status, reason
	return next, nil
}

// replayScript sets a delivery that has ended back to pending. It returns
// the new replay count, 0 when the delivery is missing or -1 when it is
// still pending.
var replayScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'status') == 'pending' then return -1 end
redis.call('HSET', KEYS[1], 'status', 'pending', 'reason', '', 'updated_at', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'replays', 1)
`)

// reopen sets an ended delivery back to pending for a replay and returns its
// replay number.
func (s deliveryStore) reopen(ctx context.Context, id string) (int, error) {
	n, err := replayScript.Run(ctx, s.rdb, []string{s.key(id)},
		time.Now().UTC().Format(time.RFC3339Nano), s.retention.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("reopening webhook delivery %s: %w", id, err)
	}

	switch n {
	case 0:
		return 0, ErrDeliveryNotFound
	case -1:
		return 0, ErrDeliveryPending
	}
	return n, nil
}

// addAttempt appends one attempt to the delivery's record.
func (s deliveryStore) addAttempt(ctx context.Context, id string, a WebhookAttempt) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encoding webhook attempt: %w", err)
	}

	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, s.attemptsKey(id), data)
		p.PExpire(ctx, s.attemptsKey(id), s.retention)
		p.HSet(ctx, s.key(id), "updated_at", a.At.Format(time.RFC3339Nano))
		p.PExpire(ctx, s.key(id), s.retention)
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording webhook attempt for %s: %w", id, err)
	}
	return nil
}

// get reads one delivery with its attempts.
func (s deliveryStore) get(ctx context.Context, id string) (*WebhookDelivery, error) {
	var fields *redis.MapStringStringCmd
	var attempts *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		fields = p.HGetAll(ctx, s.key(id))
		attempts = p.LRange(ctx, s.attemptsKey(id), 0, -1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading webhook delivery %s: %w", id, err)
	}
	if len(fields.Val()) == 0 {
		return nil, ErrDeliveryNotFound
	}

	d := decodeDelivery(id, fields.Val())
	for _, raw := range attempts.Val() {
		var a WebhookAttempt
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return nil, fmt.Errorf("decoding webhook attempt of %s: %w", id, err)
		}
		d.Attempts = append(d.Attempts, a)
	}

	return d, nil
}

func decodeDelivery(id string, f map[string]string) *WebhookDelivery {
	replays, _ := strconv.Atoi(f["replays"])
	created, _ := time.Parse(time.RFC3339Nano, f["created_at"])
	updated, _ := time.Parse(time.RFC3339Nano, f["updated_at"])

	return &WebhookDelivery{
		ID:           id,
		PredictionID: f["prediction_id"],
		Event:        WebhookEvent(f["event"]),
		URL:          f["url"],
		WebhookID:    f["webhook_id"],
		Status:       DeliveryStatus(f["status"]),
		Reason:       f["reason"],
		After:        f["after"],
		Replays:      replays,
		CreatedAt:    created,
		UpdatedAt:    updated,
		Body:         json.RawMessage(f["body"]),
		Attempts:     []WebhookAttempt{},
	}
}

// list reads every delivery of a prediction, oldest first.
func (s deliveryStore) list(ctx context.Context, pred string) ([]WebhookDelivery, error) {
	ids, err := s.rdb.HVals(ctx, s.indexKey(pred)).Result()
	if err != nil {
		return nil, fmt.Errorf("listing webhook deliveries of %s: %w", pred, err)
	}

	deliveries := make([]WebhookDelivery, 0, len(ids))
	for _, id := range ids {
		d, err := s.get(ctx, id)
		if errors.Is(err, ErrDeliveryNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		deliveries = append(deliveries, *d)
	}

	sort.Slice(deliveries, func(i, j int) bool {
		return deliveries[i].CreatedAt.Before(deliveries[j].CreatedAt)
	})
	return deliveries, nil
}

// newRandomID returns prefix followed by 20 random base32 characters, which
// hold no "." (the Standard Webhooks signed content uses it as a separator).
func newRandomID(prefix string) string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

// next returns the delivery waiting for id, or "".
func (s deliveryStore) next(ctx context.Context, id string) (string, error) {
	next, err := s.rdb.HGet(ctx, s.key(id), "next").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the delivery after %s: %w", id, err)
	}
	return next, nil
}
