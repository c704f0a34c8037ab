package jobs

import (
	"cmp"
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

// WebhookDelivery is one event of one prediction or batch sent to its
// webhook, with every attempt made so far.
type WebhookDelivery struct {
	// ID names the delivery ("whd_..."); the replay route takes it.
	ID string `json:"id"`
	// PredictionID is the prediction the event is about; empty for a batch.
	PredictionID string `json:"prediction_id,omitempty"`
	// BatchID is the batch the event is about; empty for a prediction.
	BatchID string `json:"batch_id,omitempty"`
	// Event is what happened.
	Event WebhookEvent `json:"event"`
	// URL is the receiver called.
	URL string `json:"url"`
	// WebhookID is the webhook-id header, the same on every attempt and
	// replay, so a receiver can drop duplicates.
	WebhookID string `json:"webhook_id"`
	// Status is where the delivery stands.
	Status DeliveryStatus `json:"status"`
	// Reason says why a delivery failed.
	Reason string `json:"reason,omitempty"`
	// After is the earlier delivery of the same prediction this one waits
	// for, so that the receiver sees events in order.
	After string `json:"after,omitempty"`
	// Replays counts the replays asked for.
	Replays int `json:"replays"`
	// CreatedAt is when the event happened.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is the delivery's last change: an attempt, its end, a replay.
	UpdatedAt time.Time `json:"updated_at"`
	// Body is the JSON sent, as it was when the event happened.
	Body json.RawMessage `json:"body"`
	// Attempts lists every try so far, oldest first.
	Attempts []WebhookAttempt `json:"attempts"`

	// task is the id of the asynq task that sends the delivery now: the
	// delivery id, or one of its replays.
	task string
}

// owner is the id of the prediction or batch the delivery belongs to.
func (d *WebhookDelivery) owner() string {
	if d.BatchID != "" {
		return d.BatchID
	}
	return d.PredictionID
}

// WebhookAttempt is one try at sending a delivery.
type WebhookAttempt struct {
	// Number counts the attempts of the delivery from 1, replays included.
	Number int `json:"number"`
	// At is when the attempt started.
	At time.Time `json:"at"`
	// StatusCode is the receiver's HTTP status; 0 when none came back.
	StatusCode int `json:"status_code,omitempty"`
	// Error says what went wrong, when anything did.
	Error string `json:"error,omitempty"`
	// DurationMS is how long the attempt took, in milliseconds.
	DurationMS float64 `json:"duration_ms"`
}

// deliveryStore keeps delivery records in Redis. OWNER is the prediction or
// batch id (the hash field keeps the name prediction_id for both):
//
//	PREFIX webhook:ID           hash of the delivery's fields
//	PREFIX webhook:ID:attempts  list of attempts as JSON
//	PREFIX webhooks:OWNER       hash event -> delivery id
//	PREFIX webhooks:OWNER:tail  the owner's last delivery not yet ended
//	PREFIX webhooks:pending     sorted set of pending deliveries, scored by
//	                            the Unix milliseconds of their creation or
//	                            last replay, for the sweep
type deliveryStore struct {
	rdb       redis.UniversalClient
	prefix    string
	retention time.Duration
}

func (s deliveryStore) key(id string) string         { return s.prefix + "webhook:" + id }
func (s deliveryStore) attemptsKey(id string) string { return s.key(id) + ":attempts" }
func (s deliveryStore) indexKey(pred string) string  { return s.prefix + "webhooks:" + pred }
func (s deliveryStore) tailKey(pred string) string   { return s.indexKey(pred) + ":tail" }
func (s deliveryStore) pendingKey() string           { return s.prefix + "webhooks:pending" }

// createScript records a new delivery unless its owner already has one for
// the event, and chains it behind the owner's delivery still in flight, if
// any. It returns {id, waiting}: the delivery that exists for the event, and
// 1 when it must wait for an earlier one. KEYS: delivery, index, tail,
// pending. ARGV: id, event, ttl, delivery key prefix, score, fields...
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
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('SET', KEYS[3], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
return {ARGV[1], waiting}
`)

// create records d and reports whether it must wait for an earlier delivery.
// created is false when the owner already had a delivery for the event.
func (s deliveryStore) create(ctx context.Context, d *WebhookDelivery) (
	created, waiting bool, err error,
) {
	owner := d.owner()
	keys := []string{s.key(d.ID), s.indexKey(owner), s.tailKey(owner), s.pendingKey()}
	args := []any{d.ID, string(d.Event), s.retention.Milliseconds(), s.prefix + "webhook:",
		d.CreatedAt.UnixMilli(),
		"prediction_id", owner, "event", string(d.Event), "url", d.URL,
		"webhook_id", d.WebhookID, "status", string(d.Status), "replays", 0,
		"task", d.ID,
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
	d.task = d.ID
	return true, flag == 1, nil
}

// finishScript marks a delivery ended and hands the chain on. It returns the
// id of the delivery that was waiting for this one, or "".
var finishScript = redis.NewScript(`
redis.call('ZREM', KEYS[3], ARGV[1])
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
	keys := []string{s.key(d.ID), s.tailKey(d.owner()), s.pendingKey()}
	next, err := finishScript.Run(ctx, s.rdb, keys, d.ID, string(status), reason,
		time.Now().UTC().Format(time.RFC3339Nano), s.retention.Milliseconds()).Text()
	if err != nil {
		return "", fmt.Errorf("recording the end of webhook delivery %s: %w", d.ID, err)
	}

	d.Status, d.Reason = status, reason
	return next, nil
}

// replayScript sets a delivery that has ended back to pending, under the
// task id of its new replay, and hands it to the sweep. It returns the new
// replay count, 0 when the delivery is missing or -1 when it is still
// pending. KEYS: delivery, pending. ARGV: now, ttl, id, score.
var replayScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'status') == 'pending' then return -1 end
local n = redis.call('HINCRBY', KEYS[1], 'replays', 1)
redis.call('HSET', KEYS[1], 'status', 'pending', 'reason', '', 'updated_at', ARGV[1],
  'task', ARGV[3] .. '-replay-' .. n)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
return n
`)

// reopen sets an ended delivery back to pending for a replay and returns its
// replay number.
func (s deliveryStore) reopen(ctx context.Context, id string) (int, error) {
	now := time.Now().UTC()
	n, err := replayScript.Run(ctx, s.rdb, []string{s.key(id), s.pendingKey()},
		now.Format(time.RFC3339Nano), s.retention.Milliseconds(), id, now.UnixMilli()).Int()
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

	d := &WebhookDelivery{
		ID:        id,
		Event:     WebhookEvent(f["event"]),
		URL:       f["url"],
		WebhookID: f["webhook_id"],
		Status:    DeliveryStatus(f["status"]),
		Reason:    f["reason"],
		After:     f["after"],
		Replays:   replays,
		CreatedAt: created,
		UpdatedAt: updated,
		Body:      json.RawMessage(f["body"]),
		Attempts:  []WebhookAttempt{},
		task:      cmp.Or(f["task"], id),
	}
	if d.Event.ForBatch() {
		d.BatchID = f["prediction_id"]
	} else {
		d.PredictionID = f["prediction_id"]
	}

	return d
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

// pendingSince lists up to n pending deliveries created or replayed before
// t, oldest first.
func (s deliveryStore) pendingSince(ctx context.Context, t time.Time, n int64) (
	[]string, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.pendingKey(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(t.UnixMilli(), 10), Count: n,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("listing pending webhook deliveries: %w", err)
	}
	return ids, nil
}

// forget drops a delivery that ended or expired from the pending set.
func (s deliveryStore) forget(ctx context.Context, id string) error {
	return wrapIf(s.rdb.ZRem(ctx, s.pendingKey(), id).Err(), "forgetting delivery "+id)
}

// replayTaskID is the asynq task id of a delivery's n-th replay.
func replayTaskID(id string, n int) string { return fmt.Sprintf("%s-replay-%d", id, n) }
