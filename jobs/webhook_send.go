package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// attemptOutcome is what one attempt tells the delivery to do next.
type attemptOutcome int

const (
	outcomeSucceeded attemptOutcome = iota // 2xx: done
	outcomeRetry                           // try again later, if retries remain
	outcomeStop                            // give up now: 410 Gone or a refused destination
)

// maxReceiverAnswer is how much of a receiver's answer is read; the rest is
// ignored.
const maxReceiverAnswer = 64 << 10

// sendAttempt posts a delivery's body once, signed with a fresh timestamp,
// and says how the attempt went.
func sendAttempt(ctx context.Context, client *http.Client, signer *WebhookSigner,
	d *WebhookDelivery, number int) (WebhookAttempt, attemptOutcome) {
	start := time.Now()
	attempt := WebhookAttempt{Number: number, At: start.UTC()}

	code, err := post(ctx, client, signer, d, start)
	attempt.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	attempt.StatusCode = code

	var refused *WebhookRefusedError
	switch {
	case errors.As(err, &refused):
		attempt.Error = refused.Error()
		return attempt, outcomeStop
	case err != nil:
		attempt.Error = err.Error()
		return attempt, outcomeRetry
	}

	return judgeAnswer(attempt)
}

// judgeAnswer turns the receiver's status code into an outcome.
func judgeAnswer(attempt WebhookAttempt) (WebhookAttempt, attemptOutcome) {
	code := attempt.StatusCode
	switch {
	case code >= 200 && code < 300:
		return attempt, outcomeSucceeded
	case code == http.StatusGone:
		attempt.Error = "receiver answered 410 Gone: no more retries"
		return attempt, outcomeStop
	case code >= 300 && code < 400:
		attempt.Error = fmt.Sprintf("receiver answered %d: redirects are not followed", code)
	default:
		attempt.Error = fmt.Sprintf("receiver answered %d", code)
	}
	return attempt, outcomeRetry
}

// post sends one signed request and returns the receiver's status code.
func post(ctx context.Context, client *http.Client, signer *WebhookSigner,
	d *WebhookDelivery, now time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, fmt.Errorf("building webhook request: %w", err)
	}

	timestamp := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "DermQ-Webhooks/1")
	req.Header.Set("DermQ-Event", string(d.Event))
	req.Header.Set(HeaderWebhookID, d.WebhookID)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(timestamp, 10))
	req.Header.Set(HeaderWebhookSignature, signer.Sign(d.WebhookID, timestamp, d.Body))

	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting webhook: %w", err)
	}
	defer resp.Body.Close()

	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReceiverAnswer))
	return resp.StatusCode, nil
}
