package web

import (
	"strconv"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// batchData fills the batch page.
type batchData struct {
	B           jobs.BatchView
	Done        bool
	StatusWords string
	Statuses    []jobs.Status
	PageSize    int
	// Cursor is the position of the page's first image; From and To number
	// the images shown, from 1.
	Cursor, From, To int
	// Prev and Next link the neighbouring pages; empty at either end.
	Prev, Next string
	Disclaimer string
}

// batchPage shows a batch's progress and one page of its images
// (?cursor= and ?page_size= as in the API); the page's script keeps both
// current until the batch completes, and links page through every image.
func (s *server) batchPage(c *fiber.Ctx) error {
	id, err := batchID(c)
	if err != nil {
		return err
	}

	size, start, err := pageQuery(c)
	if err != nil {
		return err
	}
	if size == 0 {
		size = defaultPageSize
	}

	b, err := s.cfg.Batches.Get(c.UserContext(), id)
	if err != nil {
		return batchError(err)
	}

	items, next, err := s.cfg.Batches.Items(c.UserContext(), id, start, size)
	if err != nil {
		return batchError(err)
	}

	data := batchData{
		B:           jobs.NewBatchView(b, items, next, c.BaseURL()),
		Done:        b.Status == jobs.BatchCompleted,
		StatusWords: batchWords[b.Status],
		Statuses: []jobs.Status{jobs.StatusStarting, jobs.StatusProcessing,
			jobs.StatusSucceeded, jobs.StatusFailed, jobs.StatusCanceled},
		PageSize:   size,
		Cursor:     start,
		From:       start + 1,
		To:         start + len(items),
		Disclaimer: Disclaimer,
	}
	pageLinks(&data, size, start, next)
	return s.render(c, fiber.StatusOK, "batch.html", data)
}

// pageLinks fills in the links to the pages before and after the one shown.
func pageLinks(data *batchData, size, start, next int) {
	link := func(cursor int) string {
		return "?cursor=" + strconv.Itoa(cursor) + "&page_size=" + strconv.Itoa(size)
	}

	if start > 0 {
		data.Prev = link(max(start-size, 0))
	}
	if next > 0 && next < data.B.Total {
		data.Next = link(next)
	}
}

// batchWords says in words where a batch is; batch.js holds the same words.
var batchWords = map[jobs.BatchStatus]string{
	jobs.BatchReceiving:  "Receiving images…",
	jobs.BatchProcessing: "Analysing the images…",
	jobs.BatchCompleted:  "Every image is done.",
}
