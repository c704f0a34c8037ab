package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
)

// uploader sends the images of one batch, a fixed number at a time, and
// journals each answer in the state file before counting it.
type uploader struct {
	client *batchClient
	state  *submitState
	batch  string
	bar    *progressBar
}

// run uploads every image in pending with n requests in flight. It stops at
// the first error that is not the image's own fault (the server is gone, the
// batch expired) or when ctx ends; what was journalled stays done.
func (u *uploader) run(ctx context.Context, pending []localImage, n int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	queue := make(chan localImage)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for img := range queue {
				if err := u.send(ctx, img); err != nil {
					cancel(err)
				}
			}
		})
	}

	feed(ctx, queue, pending)
	wg.Wait()

	return context.Cause(ctx)
}

// feed hands out images until they run out or ctx ends, then closes queue.
func feed(ctx context.Context, queue chan<- localImage, pending []localImage) {
	defer close(queue)

	for _, img := range pending {
		select {
		case <-ctx.Done():
			return
		case queue <- img:
		}
	}
}

// send uploads one image and journals the outcome. An image the server
// refuses on its own account (too large, a bad name) is journalled as
// failed; any other error is returned and the image stays pending.
func (u *uploader) send(ctx context.Context, img localImage) error {
	item, err := u.client.upload(ctx, u.batch, img)
	if ctx.Err() != nil {
		return nil
	}

	rec := stateRecord{Kind: "item", Path: img.rel}
	switch {
	case err != nil && !refusesImage(err):
		return err
	case err != nil:
		rec.Status, rec.Error = "failed", err.Error()
	default:
		rec.ID, rec.Status = item.ID, item.Status
		if item.Error != nil {
			rec.Error = item.Error.Message
		}
	}

	if err := u.state.record(rec); err != nil {
		return err
	}

	failed := 0
	if rec.Status == "failed" {
		failed = 1
	}
	u.bar.add(1, failed)

	return nil
}

// refusesImage reports an answer that is about the image itself, so sending
// it again cannot help.
func refusesImage(err error) bool {
	var api *apiError
	if !errors.As(err, &api) {
		return false
	}

	switch api.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return true
	}

	return false
}
