package jobs

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// verifyStandardWebhook checks a request the way a receiver following the
// Standard Webhooks specification does. It is written from the
// specification alone and shares no code with the signer under test:
// decode the base64 key after "whsec_", HMAC-SHA256 "id.timestamp.body",
// base64 it, and accept when any "v1," entry of the signature header
// matches, within a tolerance on the timestamp.
func verifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("decoding secret: %w", err)
	}

	id := h.Get("webhook-id")
	stamp := h.Get("webhook-timestamp")
	if id == "" || stamp == "" || h.Get("webhook-signature") == "" {
		return errors.New("missing webhook headers")
	}

	seconds, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return fmt.Errorf("reading timestamp: %w", err)
	}
	if d := now.Sub(time.Unix(seconds, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s is too far from now", stamp)
	}

	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + stamp + "." + string(body)))
	want := mac.Sum(nil)

	for _, entry := range strings.Split(h.Get("webhook-signature"), " ") {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}
