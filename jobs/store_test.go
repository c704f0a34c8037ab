package jobs

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testRedis(t)
	store := NewStore(rdb, StoreConfig{Prefix: "test:", Retention: time.Hour})

	p := &Prediction{ID: NewID(), Status: StatusStarting, CreatedAt: now()}
	if err := store.Create(ctx, p, []byte("photo")); err != nil {
		t.Fatalf("Create: %v", err)
	}

	t.Run("a created prediction reads back with its upload", func(t *testing.T) {
		got, err := store.Get(ctx, p.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if got.Status != StatusStarting || !got.CreatedAt.Equal(p.CreatedAt) {
			t.Fatalf("Get = %+v, want status starting created at %v", got, p.CreatedAt)
		}
		upload, err := store.Upload(ctx, p.ID)
		if err != nil || string(upload) != "photo" {
			t.Fatalf("Upload = %q, %v; want \"photo\"", upload, err)
		}
	})

	t.Run("every key expires after the retention", func(t *testing.T) {
		for _, part := range []string{"record", "upload"} {
			ttl := rdb.TTL(ctx, store.key(p.ID, part)).Val()
			if ttl <= 59*time.Minute || ttl > time.Hour {
				t.Fatalf("TTL of %s = %v, want about 1h", part, ttl)
			}
		}
	})

	t.Run("an unknown prediction is not found", func(t *testing.T) {
		_, err := store.Get(ctx, NewID())
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get error = %v, want ErrNotFound", err)
		}
	})

	t.Run("a finished prediction cannot change again", func(t *testing.T) {
		if _, err := store.MarkProcessing(ctx, p.ID); err != nil {
			t.Fatalf("MarkProcessing: %v", err)
		}
		if _, err := store.MarkCanceled(ctx, p.ID); err != nil {
			t.Fatalf("MarkCanceled: %v", err)
		}

		got, err := store.MarkSucceeded(ctx, p.ID, &Output{}, Metrics{}, nil, nil)
		if !errors.Is(err, ErrFinished) {
			t.Fatalf("MarkSucceeded after cancel error = %v, want ErrFinished", err)
		}
		if got.Status != StatusCanceled || got.CompletedAt == nil || got.StartedAt == nil {
			t.Fatalf("record = %+v, want canceled with start and completion times", got)
		}
	})
}
