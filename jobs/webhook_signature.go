package jobs

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Standard Webhooks header names set on every delivery.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// Bounds on a decoded signing key, as the Standard Webhooks specification
// recommends for HMAC-SHA256 secrets.
const (
	minWebhookKeyBytes = 24
	maxWebhookKeyBytes = 64
)

// ErrNoWebhookSecret means DERMQ_WEBHOOK_SECRET is empty: DermQ then refuses
// predictions that ask for a webhook rather than send unsigned callbacks.
var ErrNoWebhookSecret = errors.New("no webhook signing secret configured (DERMQ_WEBHOOK_SECRET)")

// WebhookSigner signs webhook messages the Standard Webhooks way with one or
// more keys. Several keys exist while a secret is being rotated; the receiver
// accepts a message when any one signature matches its key.
type WebhookSigner struct {
	keys [][]byte
}

// ParseWebhookSecrets reads the value of DERMQ_WEBHOOK_SECRET: one or more
// "whsec_" secrets (base64 after the prefix) separated by spaces or commas.
// An empty value returns ErrNoWebhookSecret. Errors never repeat a secret.
func ParseWebhookSecrets(value string) (*WebhookSigner, error) {
	fields := strings.FieldsFunc(value, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n'
	})
	if len(fields) == 0 {
		return nil, ErrNoWebhookSecret
	}

	signer := &WebhookSigner{}
	for i, field := range fields {
		key, err := decodeWebhookSecret(field)
		if err != nil {
			return nil, fmt.Errorf("reading webhook secret %d of %d: %w", i+1, len(fields), err)
		}
		signer.keys = append(signer.keys, key)
	}

	return signer, nil
}

func decodeWebhookSecret(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New(`it does not start with "whsec_"`)
	}

	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, errors.New(`the part after "whsec_" is not standard base64`)
	}
	if len(key) < minWebhookKeyBytes || len(key) > maxWebhookKeyBytes {
		return nil, fmt.Errorf("its key is %d bytes; use %d to %d random bytes",
			len(key), minWebhookKeyBytes, maxWebhookKeyBytes)
	}

	return key, nil
}

// Sign returns the webhook-signature header value for one attempt: a
// "v1,<base64 HMAC-SHA256>" signature of "id.timestamp.body" per key,
// separated by spaces.
func (s *WebhookSigner) Sign(id string, timestamp int64, body []byte) string {
	signed := make([]string, 0, len(s.keys))
	for _, key := range s.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte("."))
		mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
		mac.Write([]byte("."))
		mac.Write(body)
		signed = append(signed, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}

	return strings.Join(signed, " ")
}

// Keys returns how many keys sign each message.
func (s *WebhookSigner) Keys() int { return len(s.keys) }
