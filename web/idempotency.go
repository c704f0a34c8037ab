package web

import (
	"errors"
	"strings"
	"unicode"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// submit queues an accepted upload. With an Idempotency-Key header, a
// retried request (after a lost answer, or sent to another web instance)
// gets the prediction the first one made instead of running again.
func (s *server) submit(c *fiber.Ctx, sub jobs.Submission) (*jobs.Prediction, error) {
	key := c.Get("Idempotency-Key")
	if key == "" {
		p, err := s.cfg.Predictions.Submit(c.UserContext(), sub)
		if err != nil {
			return nil, queueError(err)
		}
		return p, nil
	}

	if len(key) > maxIdempotencyKey || strings.IndexFunc(key, isNotGraphic) >= 0 {
		return nil, apiError(fiber.StatusBadRequest, "bad_idempotency_key",
			"The Idempotency-Key must be 1 to 255 printable characters.")
	}

	p, _, err := s.cfg.Predictions.SubmitOnce(c.UserContext(), key, sub)
	if errors.Is(err, jobs.ErrIdempotencyMismatch) {
		return nil, apiError(fiber.StatusUnprocessableEntity, "idempotency_key_reused",
			"This Idempotency-Key was already used with a different image.")
	}
	if err != nil {
		return nil, queueError(err)
	}

	return p, nil
}

// isNotGraphic reports a character that has no place in a header token.
func isNotGraphic(r rune) bool { return r > unicode.MaxASCII || !unicode.IsGraphic(r) }

// queueError is the answer to an upload the queue did not take: full, or
// not reachable. The cause is logged, not shown.
func queueError(err error) error {
	if queueFull(err) {
		return errQueueFull(err)
	}

	return &httpError{
		Status:  fiber.StatusServiceUnavailable,
		Code:    "queue_unavailable",
		Message: "The prediction could not be queued. Please try again in a moment.",
		cause:   err,
	}
}
