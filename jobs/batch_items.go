package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// resultsChunk is how many images one step of EachResult reads.
const resultsChunk = 200

// Items returns up to n images of a batch from position start, in the order
// they arrived, with their statuses, and the position of the next page (0
// when this page reaches the end).
func (b *Batches) Items(ctx context.Context, batch string, start, n int) (
	[]BatchItem, int, error) {
	if _, err := b.db.meta(ctx, batch); err != nil {
		return nil, 0, err
	}

	items, err := b.db.page(ctx, batch, start, n)
	if err != nil {
		return nil, 0, err
	}

	records, err := b.records(ctx, itemIDs(items))
	if err != nil {
		return nil, 0, err
	}
	for i, p := range records {
		items[i].Status, items[i].Error = p.Status, p.Error
		if p.Output != nil && len(p.Output.Top) > 0 {
			top := p.Output.Top[0]
			items[i].Class = &BatchResultClass{Label: top.Label, Name: top.Name,
				Probability: top.Probability}
		}
	}

	next := 0
	if len(items) == n {
		next = start + n
	}
	return items, next, nil
}

// EachResult calls fn with the result row of every image of a batch, in the
// order the images arrived, reading a chunk at a time so memory stays flat
// whatever the batch's size.
func (b *Batches) EachResult(ctx context.Context, batch string,
	fn func(BatchResult) error) error {
	if _, err := b.db.meta(ctx, batch); err != nil {
		return err
	}

	for start := 0; ; start += resultsChunk {
		items, err := b.db.page(ctx, batch, start, resultsChunk)
		if err != nil || len(items) == 0 {
			return err
		}

		records, err := b.records(ctx, itemIDs(items))
		if err != nil {
			return err
		}
		for i, p := range records {
			if err := fn(resultRow(items[i], p)); err != nil {
				return err
			}
		}
	}
}

// Heatmap returns the heatmap PNG of one prediction.
func (b *Batches) Heatmap(ctx context.Context, id string) ([]byte, error) {
	return b.enq.store.Heatmap(ctx, id)
}

// resultRow renders one image's record as a results row.
func resultRow(item BatchItem, p *Prediction) BatchResult {
	row := BatchResult{Path: item.Path, ID: item.ID, Status: string(p.Status)}
	if p.Error != nil {
		row.ErrorCode, row.Error = p.Error.Code, p.Error.Message
	}
	if p.Output == nil {
		return row
	}

	for _, c := range p.Output.Top {
		row.Top = append(row.Top, BatchResultClass{Label: c.Label, Name: c.Name,
			Probability: c.Probability})
	}
	if len(row.Top) > 0 {
		row.Label, row.Name, row.Probability = row.Top[0].Label, row.Top[0].Name,
			row.Top[0].Probability
	}

	return row
}

// itemIDs lists the prediction ids of items.
func itemIDs(items []BatchItem) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}

	return ids
}

// records reads prediction records in one round trip. A record that is
// gone (expired) reads as failed with a reason: it will never end otherwise.
func (b *Batches) records(ctx context.Context, ids []string) ([]*Prediction, error) {
	s := b.enq.store
	cmds, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, id := range ids {
			pipe.Get(ctx, s.key(id, "record"))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading prediction records: %w", err)
	}

	out := make([]*Prediction, len(ids))
	for i, cmd := range cmds {
		out[i] = decodeRecord(ids[i], cmd.(*redis.StringCmd))
	}

	return out, nil
}

// decodeRecord decodes one pipelined record read.
func decodeRecord(id string, cmd *redis.StringCmd) *Prediction {
	var p Prediction
	raw, err := cmd.Bytes()
	if err == nil {
		err = json.Unmarshal(raw, &p)
	}
	if err != nil {
		return &Prediction{ID: id, Status: StatusFailed, Error: &ErrorInfo{
			Code:    CodeUploadExpired,
			Message: "This image's record expired or could not be read.",
		}}
	}

	return &p
}
