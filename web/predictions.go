package web

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// slotWait is how long an upload waits for a memory slot before the server
// answers that it is busy.
const slotWait = 2 * time.Minute

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// create accepts an upload: it checks the size, the sniffed type and the
// image header, then queues the prediction and answers 202 at once.
func (s *server) create(c *fiber.Ctx) error {
	defer drain(c)

	// A body declared too large is refused at once, before it waits for a
	// slot it would only waste.
	if c.Request().Header.ContentLength() > s.bodyLimit {
		return s.tooLarge()
	}

	release, err := s.acquireSlot(c)
	if err != nil {
		return err
	}
	defer release()

	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufferPool.Put(buf)

	f, err := s.readForm(c, buf)
	if err != nil {
		return err
	}

	sub, err := s.check(f)
	if err != nil {
		return err
	}
	sub.BaseURL = c.BaseURL()

	p, err := s.submit(c, sub)
	if err != nil {
		return err
	}

	return s.accepted(c, p)
}

// acquireSlot waits until the upload memory has room for this request's
// body: its declared Content-Length, or the whole body limit when it
// declares none, so that small photos pass while large ones are read. The
// wait ends with a 503 after slotWait, or at once when the server shuts
// down (fasthttp closes the request context's Done only then). fasthttp
// does not tell a handler that its client went away: a client that hangs up
// while waiting keeps its place until it gets in, and then gives it back as
// soon as reading its body fails on the closed connection.
func (s *server) acquireSlot(c *fiber.Ctx) (func(), error) {
	size := int64(s.bodyLimit)
	if n := c.Request().Header.ContentLength(); n >= 0 && n < s.bodyLimit {
		size = int64(n)
	}

	ctx, cancel := context.WithTimeout(c.Context(), slotWait)
	defer cancel()
	if err := s.uploads.Acquire(ctx, size); err != nil {
		if c.Context().Err() != nil {
			return nil, apiError(fiber.StatusServiceUnavailable, "shutting_down",
				"The server is restarting. Please try again in a moment.")
		}
		return nil, apiError(fiber.StatusServiceUnavailable, "busy",
			"The server is busy receiving other uploads. Please try again.")
	}

	return func() { s.uploads.Release(size) }, nil
}

// check refuses what is not an image DermQ can read, before anything is
// stored.
func (s *server) check(f *form) (jobs.Submission, error) {
	if len(f.image) == 0 {
		return jobs.Submission{}, apiError(fiber.StatusBadRequest, "empty_file",
			"The uploaded file is empty.")
	}

	info, err := jobs.Inspect(f.image, s.cfg.MaxPixels)
	if err != nil {
		return jobs.Submission{}, inspectError(err)
	}

	events, err := s.checkWebhook(f)
	if err != nil {
		return jobs.Submission{}, err
	}

	return jobs.Submission{
		Upload: f.image,
		Input: jobs.Input{
			Class:  f.class,
			Format: info.Format,
			Width:  info.Width,
			Height: info.Height,
		},
		Webhook:             f.webhook,
		WebhookEventsFilter: events,
	}, nil
}

// inspectError maps a refused header to an HTTP status.
func inspectError(err error) error {
	var ie *jobs.InputError
	if !errors.As(err, &ie) {
		return apiError(fiber.StatusUnprocessableEntity, "unreadable_image", err.Error())
	}

	switch ie.Code {
	case "unsupported_format":
		return apiError(fiber.StatusUnsupportedMediaType, ie.Code, ie.Sentence())
	case "empty_file":
		return apiError(fiber.StatusBadRequest, ie.Code, ie.Sentence())
	}

	return apiError(fiber.StatusUnprocessableEntity, ie.Code, ie.Sentence())
}

func (s *server) accepted(c *fiber.Ctx, p *jobs.Prediction) error {
	view := newView(c, p)
	if wantsHTML(c) {
		return c.Redirect(view.URLs.Page, fiber.StatusSeeOther)
	}

	c.Location(view.URLs.Get)
	return c.Status(fiber.StatusAccepted).JSON(view)
}

func (s *server) get(c *fiber.Ctx) error {
	p, err := s.lookup(c)
	if err != nil {
		return err
	}

	return c.JSON(newView(c, p))
}

func (s *server) cancel(c *fiber.Ctx) error {
	id, err := predictionID(c)
	if err != nil {
		return err
	}

	p, err := s.cfg.Predictions.Cancel(c.UserContext(), id)
	if errors.Is(err, jobs.ErrWebhookNotRecorded) {
		return apiError(fiber.StatusServiceUnavailable, "webhook_not_queued",
			"The prediction was canceled, but its webhook could not be queued. "+
				"Cancel it again to queue the webhook.")
	}
	if err != nil {
		return notFoundOr(err)
	}

	if wantsHTML(c) {
		return c.Redirect(newView(c, p).URLs.Page, fiber.StatusSeeOther)
	}
	return c.JSON(newView(c, p))
}

// lookup reads the prediction named in the path.
func (s *server) lookup(c *fiber.Ctx) (*jobs.Prediction, error) {
	id, err := predictionID(c)
	if err != nil {
		return nil, err
	}

	p, err := s.cfg.Predictions.Get(c.UserContext(), id)
	if err != nil {
		return nil, notFoundOr(err)
	}

	return p, nil
}

func predictionID(c *fiber.Ctx) (string, error) {
	id := c.Params("id")
	if !jobs.ValidID(id) {
		return "", errNotFound()
	}

	return id, nil
}

func notFoundOr(err error) error {
	if errors.Is(err, jobs.ErrNotFound) {
		return errNotFound()
	}

	return err
}

func errNotFound() error {
	return apiError(fiber.StatusNotFound, "not_found",
		"No such prediction. Predictions expire after the retention period.")
}
