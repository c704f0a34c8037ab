package web

import (
	"bytes"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// Disclaimer is shown on the upload page and with every result. It is the
// model card's (models/MODEL_CARD.md), word for word; a test holds them
// together.
const Disclaimer = "DermQ's default model is a demo model, not a medical device. " +
	"Its output must not be used to diagnose or treat anyone."

// indexData fills the upload page.
type indexData struct {
	MaxUpload  string
	MaxBytes   int
	Error      *httpError
	Disclaimer string
}

// resultData fills the result page.
type resultData struct {
	P          view
	Done       bool
	Disclaimer string
}

func (s *server) index(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "index.html", s.indexData(nil))
}

func (s *server) indexData(he *httpError) indexData {
	return indexData{
		MaxUpload:  formatBytes(s.cfg.MaxUploadBytes),
		MaxBytes:   s.cfg.MaxUploadBytes,
		Error:      he,
		Disclaimer: Disclaimer,
	}
}

func (s *server) resultPage(c *fiber.Ctx) error {
	p, err := s.lookup(c)
	if err != nil {
		return err
	}

	return s.render(c, fiber.StatusOK, "result.html", resultData{
		P:          newView(c, p),
		Done:       p.Status.Terminal(),
		Disclaimer: Disclaimer,
	})
}

// renderError shows an error to a browser on the upload page, so that the
// person can pick another file at once.
func (s *server) renderError(c *fiber.Ctx, he *httpError) error {
	return s.render(c, he.Status, "index.html", s.indexData(he))
}

func (s *server) render(c *fiber.Ctx, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.cfg.Logger.Error("rendering page", "page", name, "error", err)
		return c.Status(fiber.StatusInternalServerError).SendString("page could not be rendered")
	}

	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// statusWords says in words where a prediction is.
func statusWords(s jobs.Status) string {
	switch s {
	case jobs.StatusStarting:
		return "Waiting in the queue…"
	case jobs.StatusProcessing:
		return "Analysing the photo…"
	case jobs.StatusSucceeded:
		return "Done"
	case jobs.StatusFailed:
		return "The photo could not be analysed"
	case jobs.StatusCanceled:
		return "Canceled"
	}

	return string(s)
}
