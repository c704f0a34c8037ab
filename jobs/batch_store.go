package jobs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// batchStore keeps batches in Redis. Every key of one batch carries the id
// as a hash tag, so a clustered Redis keeps them together for the scripts:
//
//	PREFIX batch:{ID}:meta     hash: created_at, webhook, events, base_url,
//	                           total, sealed_at, completed_at, notified_at
//	                           and the ended counts n_succeeded, n_failed,
//	                           n_canceled
//	PREFIX batch:{ID}:items    hash: path -> prediction id
//	PREFIX batch:{ID}:order    list: paths in the order they arrived
//	PREFIX batch:{ID}:pending  set: prediction ids not yet seen ended
//	PREFIX batches:active      set: batches not yet completed and notified
//
// Each write renews the time to live of the batch's keys to the retention.
type batchStore struct {
	rdb       redis.UniversalClient
	prefix    string
	retention time.Duration
}

func newBatchStore(s *Store) batchStore {
	return batchStore{rdb: s.rdb, prefix: s.cfg.Prefix, retention: s.cfg.Retention}
}

// keys returns the four keys of batch id: meta, items, order, pending.
func (s batchStore) keys(id string) []string {
	base := s.prefix + "batch:{" + id + "}:"
	return []string{base + "meta", base + "items", base + "order", base + "pending"}
}

func (s batchStore) activeKey() string { return s.prefix + "batches:active" }

func (s batchStore) ttl() int64 { return s.retention.Milliseconds() }

// completeLua marks the batch in KEYS[1] completed when it is sealed and
// every image ended, and returns 1 only to the caller that did so.
const completeLua = `
local function complete(meta, now)
  local f = redis.call('HMGET', meta, 'sealed_at', 'completed_at', 'total',
    'n_succeeded', 'n_failed', 'n_canceled')
  if not f[1] or f[2] then return 0 end
  local ended = tonumber(f[4] or 0) + tonumber(f[5] or 0) + tonumber(f[6] or 0)
  if ended < tonumber(f[3] or 0) then return 0 end
  redis.call('HSET', meta, 'completed_at', now)
  return 1
end
local function renew(ttl)
  for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, ttl) end
end
`

// addItemScript: KEYS meta, items, order, pending; ARGV path, id, ttl.
// Returns {1, id} when added, {0, existing id} when the path was taken,
// -1 when the batch is sealed and -2 when it does not exist.
var addItemScript = redis.NewScript(completeLua + `
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {0, existing} end
if redis.call('HEXISTS', KEYS[1], 'sealed_at') == 1 then return -1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'total', 1)
renew(ARGV[3])
return {1, ARGV[2]}
`)

// endItemScript: KEYS meta, items, order, pending; ARGV id, status, now,
// ttl. Counts the image as ended once, then returns 1 when that completed
// the batch.
var endItemScript = redis.NewScript(completeLua + `
if redis.call('SREM', KEYS[4], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'n_' .. ARGV[2], 1)
  renew(ARGV[4])
end
return complete(KEYS[1], ARGV[3])
`)

// sealScript: KEYS meta, items, order, pending; ARGV now, ttl. Returns -2
// when the batch does not exist, else 1 when sealing completed it.
var sealScript = redis.NewScript(completeLua + `
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
redis.call('HSETNX', KEYS[1], 'sealed_at', ARGV[1])
renew(ARGV[2])
return complete(KEYS[1], ARGV[1])
`)

// create stores a new batch.
func (s batchStore) create(ctx context.Context, b *Batch) error {
	keys := s.keys(b.ID)
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, keys[0], "created_at", formatTime(b.CreatedAt),
			"webhook", b.Webhook, "events", strings.Join(b.WebhookEventsFilter, ","),
			"base_url", b.BaseURL, "total", 0)
		pipe.PExpire(ctx, keys[0], s.retention)
		pipe.SAdd(ctx, s.activeKey(), b.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing batch %s: %w", b.ID, err)
	}

	return nil
}

// meta reads a batch's own fields and ended counts.
func (s batchStore) meta(ctx context.Context, id string) (*Batch, error) {
	f, err := s.rdb.HGetAll(ctx, s.keys(id)[0]).Result()
	if err != nil {
		return nil, fmt.Errorf("reading batch %s: %w", id, err)
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("reading batch %s: %w", id, ErrBatchNotFound)
	}

	return decodeBatch(id, f), nil
}

// decodeBatch turns the meta hash into a Batch with its ended counts.
func decodeBatch(id string, f map[string]string) *Batch {
	b := &Batch{
		ID: id, Webhook: f["webhook"], BaseURL: f["base_url"],
		CreatedAt:   parseTime(f["created_at"]),
		SealedAt:    parseOptionalTime(f["sealed_at"]),
		CompletedAt: parseOptionalTime(f["completed_at"]),
		Counts:      map[Status]int{},
	}
	if f["events"] != "" {
		b.WebhookEventsFilter = strings.Split(f["events"], ",")
	}

	b.Total, _ = strconv.Atoi(f["total"])
	for _, st := range []Status{StatusSucceeded, StatusFailed, StatusCanceled} {
		n, _ := strconv.Atoi(f["n_"+string(st)])
		b.Counts[st] = n
		b.Ended += n
	}

	return b
}

// notified reports whether the completion of batch id was already handed
// to OnCompleted.
func (s batchStore) notified(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.HExists(ctx, s.keys(id)[0], "notified_at").Result()
	if err != nil {
		return false, fmt.Errorf("reading batch %s: %w", id, err)
	}

	return n, nil
}

// addItem claims path for prediction id. It returns the id that holds the
// path and whether this call added it.
func (s batchStore) addItem(ctx context.Context, batch, path, id string) (string, bool, error) {
	res, err := addItemScript.Run(ctx, s.rdb, s.keys(batch), path, id, s.ttl()).Result()
	if err != nil {
		return "", false, fmt.Errorf("adding %s to batch %s: %w", path, batch, err)
	}

	switch v := res.(type) {
	case int64:
		if v == -1 {
			return "", false, fmt.Errorf("adding %s: %w", path, ErrBatchSealed)
		}
		return "", false, fmt.Errorf("adding %s: %w", path, ErrBatchNotFound)
	case []any:
		holder, _ := v[1].(string)
		return holder, v[0] == int64(1), nil
	}

	return "", false, fmt.Errorf("adding %s to batch %s: unexpected answer %v", path, batch, res)
}

// markPending records that prediction id exists and has yet to end.
func (s batchStore) markPending(ctx context.Context, batch, id string) error {
	key := s.keys(batch)[3]
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.SAdd(ctx, key, id)
		pipe.PExpire(ctx, key, s.retention)
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording %s as pending: %w", id, err)
	}

	return nil
}

// endItem counts prediction id as ended with status and reports whether
// that completed the batch.
func (s batchStore) endItem(ctx context.Context, batch, id string, st Status) (bool, error) {
	n, err := endItemScript.Run(ctx, s.rdb, s.keys(batch), id, string(st),
		formatTime(now()), s.ttl()).Int()
	if err != nil {
		return false, fmt.Errorf("ending %s in batch %s: %w", id, batch, err)
	}

	return n == 1, nil
}

// seal closes the batch to new images and reports whether that completed
// it (every image had already ended).
func (s batchStore) seal(ctx context.Context, batch string) (bool, error) {
	n, err := sealScript.Run(ctx, s.rdb, s.keys(batch), formatTime(now()), s.ttl()).Int()
	if err != nil {
		return false, fmt.Errorf("sealing batch %s: %w", batch, err)
	}
	if n == -2 {
		return false, fmt.Errorf("sealing batch %s: %w", batch, ErrBatchNotFound)
	}

	return n == 1, nil
}

// pending lists the prediction ids of batch not yet seen ended.
func (s batchStore) pending(ctx context.Context, batch string) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.keys(batch)[3]).Result()
	if err != nil {
		return nil, fmt.Errorf("listing pending images of %s: %w", batch, err)
	}

	return ids, nil
}

// page returns up to n items starting at position start, in arrival order,
// with their prediction ids.
func (s batchStore) page(ctx context.Context, batch string, start, n int) ([]BatchItem, error) {
	keys := s.keys(batch)
	paths, err := s.rdb.LRange(ctx, keys[2], int64(start), int64(start+n-1)).Result()
	if err != nil || len(paths) == 0 {
		return nil, wrapIf(err, "listing items of batch "+batch)
	}

	ids, err := s.rdb.HMGet(ctx, keys[1], paths...).Result()
	if err != nil {
		return nil, fmt.Errorf("listing items of batch %s: %w", batch, err)
	}

	items := make([]BatchItem, len(paths))
	for i, p := range paths {
		id, _ := ids[i].(string)
		items[i] = BatchItem{Path: p, ID: id}
	}

	return items, nil
}

// markNotified records that OnCompleted ran, which retires the batch from
// the sweep.
func (s batchStore) markNotified(ctx context.Context, batch string) error {
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, s.keys(batch)[0], "notified_at", formatTime(now()))
		pipe.SRem(ctx, s.activeKey(), batch)
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording batch %s as notified: %w", batch, err)
	}

	return nil
}

// active lists the batches the sweep still follows.
func (s batchStore) active(ctx context.Context) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.activeKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("listing active batches: %w", err)
	}

	return ids, nil
}

// retire drops a batch that no longer exists from the sweep.
func (s batchStore) retire(ctx context.Context, batch string) error {
	return wrapIf(s.rdb.SRem(ctx, s.activeKey(), batch).Err(), "retiring batch "+batch)
}

// wrapIf wraps err with what was being done, or returns nil.
func wrapIf(err error, doing string) error {
	if err == nil {
		return nil
	}

	return fmt.Errorf("%s: %w", doing, err)
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func parseOptionalTime(s string) *time.Time {
	if s == "" {
		return nil
	}

	t := parseTime(s)
	return &t
}
