package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// ErrIdempotencyMismatch is returned when an Idempotency-Key comes back
// with a different image than the one it was first used with.
var ErrIdempotencyMismatch = errors.New("idempotency key reused with a different image")

// derivedID turns the parts of an idempotency key into a prediction id.
// Every web instance derives the same id from the same key, so the id is
// also the asynq task id that makes a retried upload run at most once.
func derivedID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return idEncoding.EncodeToString(sum[:16])
}

// contentHash is the hex SHA-256 of an upload.
func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// SubmitOnce is Submit for a request carrying an Idempotency-Key: the first
// request with key queues the prediction, every later one (from any web
// instance, within the retention) gets the same prediction back and
// duplicate set. The key is remembered in Redis with SET NX together with
// the image's hash; the same key with another image is refused with
// ErrIdempotencyMismatch.
func (e *Enqueuer) SubmitOnce(ctx context.Context, key string, sub Submission) (
	p *Prediction, duplicate bool, err error) {
	id := derivedID("idempotency-key", key)
	claim := e.store.cfg.Prefix + "idempotency:" + contentHash([]byte(key))
	value := id + " " + contentHash(sub.Upload)

	fresh, err := e.store.rdb.SetNX(ctx, claim, value, e.store.cfg.Retention).Result()
	if err != nil {
		return nil, false, fmt.Errorf("claiming idempotency key: %w", err)
	}
	if !fresh {
		held, err := e.store.rdb.Get(ctx, claim).Result()
		if err != nil {
			return nil, false, fmt.Errorf("reading idempotency key: %w", err)
		}
		if held != value {
			return nil, false, ErrIdempotencyMismatch
		}
	}

	p = e.newPrediction(id, sub)
	p, created, err := e.ensure(ctx, p, sub.Upload)
	if err != nil {
		return nil, false, err
	}
	if created {
		e.cfg.Logger.Info("prediction queued", "prediction_id", id, "bytes", p.Input.Bytes,
			"idempotent", true)
	}

	return p, !created, nil
}

// newPrediction builds the record of a new prediction with a given id.
func (e *Enqueuer) newPrediction(id string, sub Submission) *Prediction {
	p := &Prediction{
		ID:                  id,
		Status:              StatusStarting,
		CreatedAt:           now(),
		Input:               sub.Input,
		Webhook:             sub.Webhook,
		WebhookEventsFilter: sub.WebhookEventsFilter,
		BaseURL:             sub.BaseURL,
	}
	p.Input.Bytes = len(sub.Upload)

	return p
}

// ensure makes sure prediction p exists and, unless it already ended, is
// queued. The record is created only if absent (an earlier request may have
// made it), and queueing a task whose id is already queued is a no-op, so
// any number of concurrent or repeated calls run the prediction once. It
// returns the record as stored and whether this call created it.
func (e *Enqueuer) ensure(ctx context.Context, p *Prediction, upload []byte) (
	*Prediction, bool, error) {
	created, err := e.store.createOnce(ctx, p, upload)
	if err != nil {
		return nil, false, err
	}

	if !created {
		p, err = e.store.Get(ctx, p.ID)
		if err != nil {
			return nil, false, err
		}
	}

	if p.Status.Terminal() {
		return p, created, nil
	}

	err = e.enqueue(ctx, p)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil, false, err
	}

	return p, created, nil
}

// createOnceScript: KEYS record, upload; ARGV record, upload, ttl ms,
// with-upload. Stores the record (and the upload) only when no record
// exists; returns 1 when it did.
var createOnceScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then return 0 end
if ARGV[4] == '1' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
return 1
`)

// createOnce stores p and its upload unless a record with p's id exists. A
// nil upload stores the record alone (a prediction that failed at once).
func (s *Store) createOnce(ctx context.Context, p *Prediction, upload []byte) (bool, error) {
	record, err := json.Marshal(p)
	if err != nil {
		return false, fmt.Errorf("encoding prediction %s: %w", p.ID, err)
	}

	withUpload := "0"
	if upload != nil {
		withUpload = "1"
	}
	keys := []string{s.key(p.ID, "record"), s.key(p.ID, "upload")}
	n, err := createOnceScript.Run(ctx, s.rdb, keys, record, upload,
		s.cfg.Retention.Milliseconds(), withUpload).Int()
	if err != nil {
		return false, fmt.Errorf("storing prediction %s: %w", p.ID, err)
	}

	return n == 1, nil
}
