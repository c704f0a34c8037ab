package web

import (
	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// batchData fills the batch page.
type batchData struct {
	B           batchView
	Done        bool
	StatusWords string
	Statuses    []jobs.Status
	PageSize    int
	Disclaimer  string
}

// batchPage shows a batch's progress and its first page of images; the
// page's script keeps both current until the batch completes.
func (s *server) batchPage(c *fiber.Ctx) error {
	id, err := batchID(c)
	if err != nil {
		return err
	}

	b, err := s.cfg.Batches.Get(c.UserContext(), id)
	if err != nil {
		return batchError(err)
	}

	items, _, err := s.cfg.Batches.Items(c.UserContext(), id, 0, defaultPageSize)
	if err != nil {
		return batchError(err)
	}

	view := newBatchView(c, b)
	view.Items = items
	return s.render(c, fiber.StatusOK, "batch.html", batchData{
		B:           view,
		Done:        b.Status == jobs.BatchCompleted,
		StatusWords: batchWords[b.Status],
		Statuses: []jobs.Status{jobs.StatusStarting, jobs.StatusProcessing,
			jobs.StatusSucceeded, jobs.StatusFailed, jobs.StatusCanceled},
		PageSize:   defaultPageSize,
		Disclaimer: Disclaimer,
	})
}

// batchWords says in words where a batch is; batch.js holds the same words.
var batchWords = map[jobs.BatchStatus]string{
	jobs.BatchReceiving:  "Receiving images…",
	jobs.BatchProcessing: "Analysing the images…",
	jobs.BatchCompleted:  "Every image is done.",
}
