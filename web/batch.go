package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// Batches is what the web app needs for batch submissions. *jobs.Batches
// satisfies it.
type Batches interface {
	CreateBatch(ctx context.Context, opts jobs.BatchOptions) (*jobs.Batch, error)
	Add(ctx context.Context, batch, path string, data []byte) (*jobs.BatchItem, error)
	Seal(ctx context.Context, batch string) (*jobs.Batch, error)
	Get(ctx context.Context, batch string) (*jobs.Batch, error)
	Items(ctx context.Context, batch string, start, n int) ([]jobs.BatchItem, int, error)
	EachResult(ctx context.Context, batch string, fn func(jobs.BatchResult) error) error
	Heatmap(ctx context.Context, id string) ([]byte, error)
}

// Page sizes of a batch's item list. The default is also the size of the
// page the batch.completed webhook body holds.
const (
	defaultPageSize = jobs.DefaultBatchPageSize
	maxPageSize     = 1000
)

// batchRequestLimit bounds the JSON body that creates a batch.
const batchRequestLimit = 64 << 10

// batchRoutes adds the batch API and the batch page.
func (s *server) batchRoutes(app *fiber.App) {
	app.Get("/batches/:id", s.batchPage)

	api := app.Group("/api/v1/batches")
	api.Post("/", s.createBatch)
	api.Get("/:id", s.getBatch)
	api.Post("/:id/images", s.addImages)
	api.Post("/:id/seal", s.sealBatch)
	api.Get("/:id/results.csv", s.resultsCSV)
	api.Get("/:id/results.jsonl", s.resultsJSONL)
	api.Get("/:id/heatmaps.zip", s.heatmapsZip)
	if s.cfg.Webhooks != nil {
		api.Get("/:id/webhooks", s.listBatchWebhooks)
		api.Post("/:id/webhooks/:delivery/replay", s.replayBatchWebhook)
	}
}

// batchRequest is the optional body of POST /api/v1/batches.
type batchRequest struct {
	Webhook             string   `json:"webhook"`
	WebhookEventsFilter []string `json:"webhook_events_filter"`
}

// createBatch makes an empty batch and answers 201 with it.
func (s *server) createBatch(c *fiber.Ctx) error {
	defer drain(c)

	req, err := readBatchRequest(c)
	if err != nil {
		return err
	}

	b, err := s.cfg.Batches.CreateBatch(c.UserContext(), jobs.BatchOptions{
		BaseURL: c.BaseURL(), Webhook: req.Webhook, WebhookEventsFilter: req.WebhookEventsFilter,
	})
	switch {
	case errors.Is(err, jobs.ErrNoWebhookSecret):
		return errWebhooksDisabled()
	case errors.Is(err, jobs.ErrBadWebhook):
		return apiError(fiber.StatusBadRequest, "invalid_webhook", err.Error())
	case err != nil:
		return batchUnavailable(err)
	}

	view := jobs.NewBatchView(b, nil, 0, c.BaseURL())
	c.Location(view.URLs.Get)
	return c.Status(fiber.StatusCreated).JSON(view)
}

// readBatchRequest reads the JSON body, if any, within batchRequestLimit.
func readBatchRequest(c *fiber.Ctx) (batchRequest, error) {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return batchRequest{}, nil
	}

	return parseBatchRequest(stream)
}

// parseBatchRequest reads and checks a batch request. A body that cannot be
// read to its end is refused: reading part of it could drop the webhook.
func parseBatchRequest(r io.Reader) (batchRequest, error) {
	var req batchRequest
	body := &limitReader{r: r, left: batchRequestLimit}
	data, err := io.ReadAll(body)
	if errors.Is(err, errTooLarge) {
		return req, apiError(fiber.StatusRequestEntityTooLarge, "too_large",
			"The batch request is larger than 64 KB.")
	}
	if err != nil {
		return req, apiError(fiber.StatusBadRequest, "bad_request",
			"The batch request body could not be read: "+err.Error())
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return req, nil
	}

	if err := json.Unmarshal(data, &req); err != nil {
		return req, apiError(fiber.StatusBadRequest, "bad_json",
			"The batch request is not valid JSON: "+err.Error())
	}
	for _, e := range req.WebhookEventsFilter {
		if e != "completed" {
			return req, apiError(fiber.StatusBadRequest, "invalid_webhook",
				"A batch has one webhook event: completed (sent as batch.completed).")
		}
	}

	return req, nil
}

// getBatch answers the batch with fresh counts and one page of its items.
func (s *server) getBatch(c *fiber.Ctx) error {
	id, err := batchID(c)
	if err != nil {
		return err
	}

	size, start, err := pageQuery(c)
	if err != nil {
		return err
	}

	b, err := s.cfg.Batches.Get(c.UserContext(), id)
	if err != nil {
		return batchError(err)
	}

	var items []jobs.BatchItem
	next := 0
	if size > 0 {
		items, next, err = s.cfg.Batches.Items(c.UserContext(), id, start, size)
		if err != nil {
			return batchError(err)
		}
	}

	return c.JSON(jobs.NewBatchView(b, items, next, c.BaseURL()))
}

// sealBatch closes the batch to new images.
func (s *server) sealBatch(c *fiber.Ctx) error {
	id, err := batchID(c)
	if err != nil {
		return err
	}

	b, err := s.cfg.Batches.Seal(c.UserContext(), id)
	if err != nil {
		return batchError(err)
	}

	return c.JSON(jobs.NewBatchView(b, nil, 0, c.BaseURL()))
}

// pageQuery reads ?page_size= and ?cursor=.
func pageQuery(c *fiber.Ctx) (size, start int, err error) {
	size = defaultPageSize
	if v := c.Query("page_size"); v != "" {
		size, err = strconv.Atoi(v)
		if err != nil || size < 0 || size > maxPageSize {
			return 0, 0, apiError(fiber.StatusBadRequest, "bad_page_size",
				"page_size must be a number from 0 to "+strconv.Itoa(maxPageSize)+".")
		}
	}

	if v := c.Query("cursor"); v != "" {
		start, err = strconv.Atoi(v)
		if err != nil || start < 0 {
			return 0, 0, apiError(fiber.StatusBadRequest, "bad_cursor",
				"cursor must be a value from next_cursor.")
		}
	}

	return size, start, nil
}

// batchID reads and checks the id in the path.
func batchID(c *fiber.Ctx) (string, error) {
	id := c.Params("id")
	if !jobs.ValidID(id) {
		return "", apiError(fiber.StatusNotFound, "not_found", "No batch has this id.")
	}

	return id, nil
}

// batchError maps a batch operation's error to an answer.
func batchError(err error) error {
	switch {
	case errors.Is(err, jobs.ErrBatchNotFound):
		return apiError(fiber.StatusNotFound, "not_found",
			"No batch has this id, or it expired.")
	case errors.Is(err, jobs.ErrBatchSealed):
		return apiError(fiber.StatusConflict, "batch_sealed",
			"This batch is sealed: no more images can be added.")
	}

	return batchUnavailable(err)
}

// batchUnavailable is the 503 answer to a batch operation that failed for
// cause; the error handler logs the cause, the client sees only the message.
func batchUnavailable(cause error) error {
	return fmt.Errorf("%w: %w", apiError(fiber.StatusServiceUnavailable, "queue_unavailable",
		"The batch could not be reached. Please try again in a moment."), cause)
}

// mediaType is the request's content type without parameters.
func mediaType(c *fiber.Ctx) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil {
		return "", nil
	}

	return mt, params
}
