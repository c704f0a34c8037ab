package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned for a prediction, upload or image that does not
// exist or has expired.
var ErrNotFound = errors.New("not found")

// updateAttempts bounds the optimistic-locking retries of one update.
const updateAttempts = 8

// StoreConfig configures a Store.
type StoreConfig struct {
	// Prefix starts every key the store writes. Defaults to "dermq:".
	Prefix string
	// Retention is how long records, uploads and images live. Defaults to
	// 24 hours.
	Retention time.Duration
	// Webhooks is told when a prediction starts and ends, and queues the
	// webhook deliveries it asked for. Defaults to nil: no webhooks.
	Webhooks *Webhooks
}

func (c *StoreConfig) fillDefaults() {
	if c.Prefix == "" {
		c.Prefix = "dermq:"
	}
	if c.Retention <= 0 {
		c.Retention = 24 * time.Hour
	}
}

// Store keeps prediction records, uploads, display photos and heatmaps in
// Redis, each with the retention as its time to live.
type Store struct {
	rdb redis.UniversalClient
	cfg StoreConfig
}

// NewStore returns a Store over rdb.
func NewStore(rdb redis.UniversalClient, cfg StoreConfig) *Store {
	cfg.fillDefaults()

	return &Store{rdb: rdb, cfg: cfg}
}

// Retention returns how long the store keeps what it writes.
func (s *Store) Retention() time.Duration { return s.cfg.Retention }

func (s *Store) key(id, part string) string {
	return s.cfg.Prefix + "prediction:" + id + ":" + part
}

// Create stores a new prediction record and its upload.
func (s *Store) Create(ctx context.Context, p *Prediction, upload []byte) error {
	record, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding prediction %s: %w", p.ID, err)
	}

	cmds, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, s.key(p.ID, "upload"), upload, s.cfg.Retention)
		pipe.Set(ctx, s.key(p.ID, "record"), record, s.cfg.Retention)
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing prediction %s: %w", p.ID, txError(cmds, err))
	}

	return nil
}

// Get returns the record of prediction id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Prediction, error) {
	return s.getWith(ctx, s.rdb, id)
}

func (s *Store) getWith(ctx context.Context, c redis.Cmdable, id string) (*Prediction, error) {
	raw, err := c.Get(ctx, s.key(id, "record")).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading prediction %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading prediction %s: %w", id, err)
	}

	var p Prediction
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decoding prediction %s: %w", id, err)
	}

	return &p, nil
}

// Update applies change to the record of prediction id atomically and
// returns the record as it is afterwards. When change returns an error the
// record is left alone and that error is returned with the current record.
func (s *Store) Update(
	ctx context.Context, id string, change func(*Prediction) error,
) (*Prediction, error) {
	return s.update(ctx, id, change, nil)
}

// update is Update that also queues also's commands, when not nil, in the
// transaction that writes the changed record, so they happen if and only if
// the change does.
func (s *Store) update(
	ctx context.Context, id string, change func(*Prediction) error,
	also func(redis.Pipeliner),
) (*Prediction, error) {
	key := s.key(id, "record")
	for range updateAttempts {
		var result *Prediction
		var changeErr error
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			p, err := s.getWith(ctx, tx, id)
			if err != nil {
				return err
			}

			result = p
			if changeErr = change(p); changeErr != nil {
				return nil
			}

			return s.writeRecord(ctx, tx, key, p, also)
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, err
		}

		return result, changeErr
	}

	return nil, fmt.Errorf("updating prediction %s: too much contention", id)
}

func (s *Store) writeRecord(ctx context.Context, tx *redis.Tx, key string, p *Prediction,
	also func(redis.Pipeliner)) error {
	record, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding prediction %s: %w", p.ID, err)
	}

	cmds, err := tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, key, record, s.cfg.Retention)
		if also != nil {
			also(pipe)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing prediction %s: %w", p.ID, txError(cmds, err))
	}

	return nil
}

// Upload returns the uploaded bytes of prediction id, or ErrNotFound.
func (s *Store) Upload(ctx context.Context, id string) ([]byte, error) {
	return s.blob(ctx, id, "upload")
}

// DeleteUpload removes the upload of prediction id.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.key(id, "upload")).Err(); err != nil {
		return fmt.Errorf("deleting upload %s: %w", id, err)
	}

	return nil
}

// saveImages queues the commands that store the display photo and the
// heatmap of prediction id and delete its upload. A nil heatmap (Grad-CAM
// could not run) is not stored.
func (s *Store) saveImages(ctx context.Context, pipe redis.Pipeliner, id string,
	display, heatmap []byte) {
	pipe.Set(ctx, s.key(id, "display"), display, s.cfg.Retention)
	if heatmap != nil {
		pipe.Set(ctx, s.key(id, "heatmap"), heatmap, s.cfg.Retention)
	}
	pipe.Del(ctx, s.key(id, "upload"))
}

// Display returns the display-size JPEG of prediction id, or ErrNotFound.
func (s *Store) Display(ctx context.Context, id string) ([]byte, error) {
	return s.blob(ctx, id, "display")
}

// Heatmap returns the heatmap PNG of prediction id, or ErrNotFound.
func (s *Store) Heatmap(ctx context.Context, id string) ([]byte, error) {
	return s.blob(ctx, id, "heatmap")
}

func (s *Store) blob(ctx context.Context, id, part string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.key(id, part)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading %s of %s: %w", part, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s of %s: %w", part, id, err)
	}

	return b, nil
}

// txError is the error of a MULTI/EXEC. When Redis refuses a command as it
// is queued (out of memory, say) EXEC only answers EXECABORT; the refusal
// that says why is on the command.
func txError(cmds []redis.Cmder, err error) error {
	if !redis.HasErrorPrefix(err, "EXECABORT") {
		return err
	}

	for _, cmd := range cmds {
		if cmdErr := cmd.Err(); cmdErr != nil && !redis.HasErrorPrefix(cmdErr, "EXECABORT") {
			return cmdErr
		}
	}
	return err
}

// discard removes a prediction that could not be queued.
func (s *Store) discard(ctx context.Context, id string) {
	s.rdb.Del(ctx, s.key(id, "record"), s.key(id, "upload"))
}
