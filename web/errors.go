package web

import (
	"errors"
	"strings"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// httpError is an error with the status and the JSON body a client gets.
type httpError struct {
	Status  int
	Code    string
	Message string
	// cause is the error behind the answer, logged but never shown.
	cause error
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

func (e *httpError) Unwrap() error { return e.cause }

// apiError returns the error a handler gives back to refuse a request.
func apiError(status int, code, message string) error {
	return &httpError{Status: status, Code: code, Message: message}
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// handleError turns any error a handler returns, or a panic the recover
// middleware caught, into a JSON error (or an HTML page for a browser form).
func (s *server) handleError(c *fiber.Ctx, err error) error {
	he := asHTTPError(err)
	if he.Status >= fiber.StatusInternalServerError {
		s.cfg.Logger.Error("request failed", "method", c.Method(), "path", c.Path(),
			"status", he.Status, "client_ip", c.IP(), "error", err)
	}

	if wantsHTML(c) {
		return s.renderError(c, he)
	}

	return c.Status(he.Status).JSON(errorBody{Error: errorDetail{he.Code, he.Message}})
}

func asHTTPError(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}

	var fe *fiber.Error
	if errors.As(err, &fe) {
		return &httpError{Status: fe.Code, Code: codeForStatus(fe.Code), Message: fe.Message}
	}

	if queueFull(err) {
		return errQueueFull(err)
	}

	if jobs.Unreachable(err) {
		return &httpError{
			Status:  fiber.StatusServiceUnavailable,
			Code:    "queue_unavailable",
			Message: "The queue could not be reached. Please try again in a moment.",
		}
	}

	return &httpError{
		Status:  fiber.StatusInternalServerError,
		Code:    "internal_error",
		Message: "Something went wrong on our side. Please try again.",
	}
}

// queueFull reports whether Redis refused a write because it is out of
// memory: with the noeviction policy DermQ asks for (an evicted key is a lost
// job) a full Redis answers OOM to every write. The text is checked too, for
// a library that passes the reply on without wrapping it.
func queueFull(err error) bool {
	return err != nil && (redis.IsOOMError(err) ||
		strings.Contains(err.Error(), "OOM command not allowed"))
}

// errQueueFull is the answer while Redis has no room for another upload.
func errQueueFull(cause error) *httpError {
	return &httpError{
		Status: fiber.StatusServiceUnavailable,
		Code:   "queue_full",
		Message: "The queue is full and cannot take more photos right now. " +
			"Please try again in a few minutes.",
		cause: cause,
	}
}

func codeForStatus(status int) string {
	switch status {
	case fiber.StatusNotFound:
		return "not_found"
	case fiber.StatusMethodNotAllowed:
		return "method_not_allowed"
	case fiber.StatusRequestEntityTooLarge:
		return "too_large"
	case fiber.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= fiber.StatusInternalServerError {
		return "internal_error"
	}

	return "bad_request"
}

// wantsHTML reports whether the client is a browser navigating (a form
// post or a page load) rather than a script asking for JSON.
func wantsHTML(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}
