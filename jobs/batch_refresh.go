package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// readChunk is how many prediction records one pipelined read fetches.
const readChunk = 256

// notifyGrace is how long the sweep leaves a just-completed batch to the
// caller that completed it before it hands the batch to OnCompleted itself.
const notifyGrace = 10 * time.Second

// Get returns a batch with fresh counts: it first looks at the images not
// yet seen ended, so the answer is current even between sweeps.
func (b *Batches) Get(ctx context.Context, batch string) (*Batch, error) {
	processing, err := b.refresh(ctx, batch)
	if err != nil {
		return nil, err
	}

	bt, err := b.db.meta(ctx, batch)
	if err != nil {
		return nil, err
	}

	finishCounts(bt, processing)
	return bt, nil
}

// finishCounts fills in the live counts and the status.
func finishCounts(bt *Batch, processing int) {
	bt.Counts[StatusProcessing] = processing
	bt.Counts[StatusStarting] = max(bt.Total-bt.Ended-processing, 0)
	if bt.Total > 0 {
		bt.Progress = float64(bt.Ended) / float64(bt.Total)
	}

	switch {
	case bt.CompletedAt != nil:
		bt.Status = BatchCompleted
	case bt.SealedAt != nil:
		bt.Status = BatchProcessing
	default:
		bt.Status = BatchReceiving
	}
}

// refresh reads the status of every image not yet seen ended, counts those
// that ended now, and returns how many are being processed.
func (b *Batches) refresh(ctx context.Context, batch string) (int, error) {
	ids, err := b.db.pending(ctx, batch)
	if err != nil {
		return 0, err
	}

	processing := 0
	for start := 0; start < len(ids); start += readChunk {
		chunk := ids[start:min(start+readChunk, len(ids))]
		records, err := b.records(ctx, chunk)
		if err != nil {
			return 0, err
		}

		for i, p := range records {
			switch st := p.Status; {
			case st == StatusProcessing:
				processing++
			case st.Terminal():
				err = b.itemEnded(ctx, batch, chunk[i], st)
			}
			if err != nil {
				return 0, err
			}
		}
	}

	return processing, nil
}

// itemEnded counts one image as ended and, when that completed the batch,
// hands the batch to OnCompleted.
func (b *Batches) itemEnded(ctx context.Context, batch, id string, st Status) error {
	completed, err := b.db.endItem(ctx, batch, id, st)
	if err != nil {
		return err
	}
	if completed {
		b.notify(ctx, batch)
	}

	return nil
}

// notify hands a completed batch to OnCompleted and records that it did.
// Only the caller whose update completed the batch calls it at once; when
// that caller fails or dies, the sweep calls it again after notifyGrace.
func (b *Batches) notify(ctx context.Context, batch string) {
	log := b.cfg.Logger.With("batch_id", batch)
	bt, err := b.db.meta(ctx, batch)
	if err != nil {
		log.Error("reading completed batch", "error", err)
		return
	}
	finishCounts(bt, 0)

	body, err := b.viewJSON(ctx, bt)
	if err == nil {
		err = b.cfg.OnCompleted(ctx, bt, body)
	}
	if err != nil {
		log.Error("announcing completed batch", "error", err)
		return
	}

	if err := b.db.markNotified(ctx, batch); err != nil {
		log.Error("recording batch announcement", "error", err)
		return
	}
	log.Info("batch completed", "images", bt.Total, "failed", bt.Counts[StatusFailed])
}

// Run sweeps the active batches every SweepInterval until ctx ends: it
// counts images that ended and completes batches whose images all ended,
// so a batch completes (and its webhook fires) even when nobody polls it.
func (b *Batches) Run(ctx context.Context) {
	ticker := time.NewTicker(b.cfg.SweepInterval)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			b.sweep(ctx)
		}
	}
}

// sweep looks at every active batch once.
func (b *Batches) sweep(ctx context.Context) {
	ids, err := b.db.active(ctx)
	if err != nil {
		b.cfg.Logger.Warn("sweeping batches", "error", err)
		return
	}

	for _, id := range ids {
		if err := b.sweepOne(ctx, id); err != nil && ctx.Err() == nil {
			b.cfg.Logger.Warn("sweeping batch", "batch_id", id, "error", err)
		}
	}
}

// sweepOne refreshes one batch, retires it when it expired, and announces
// it when it completed but its announcement was lost.
func (b *Batches) sweepOne(ctx context.Context, id string) error {
	bt, err := b.db.meta(ctx, id)
	if errors.Is(err, ErrBatchNotFound) {
		return b.db.retire(ctx, id)
	}
	if err != nil {
		return err
	}

	if bt.CompletedAt == nil {
		_, err := b.refresh(ctx, id)
		return err
	}

	done, err := b.db.notified(ctx, id)
	if err == nil && !done && time.Since(*bt.CompletedAt) > notifyGrace {
		b.notify(ctx, id)
	}

	return err
}

// viewJSON renders bt as GET /api/v1/batches/{id} answers it by default:
// the batch and its first page of items.
func (b *Batches) viewJSON(ctx context.Context, bt *Batch) ([]byte, error) {
	items, next, err := b.Items(ctx, bt.ID, 0, DefaultBatchPageSize)
	if err != nil {
		return nil, err
	}

	body, err := json.Marshal(NewBatchView(bt, items, next, bt.BaseURL))
	if err != nil {
		return nil, fmt.Errorf("encoding batch %s: %w", bt.ID, err)
	}
	return body, nil
}
