// Command verify-webhook is a small DermQ webhook receiver. It checks every
// request's Standard Webhooks signature with the secret in
// DERMQ_WEBHOOK_SECRET, refuses timestamps more than five minutes away and
// webhook-ids it has already handled, and prints the prediction's status.
//
//	DERMQ_WEBHOOK_SECRET=whsec_... go run ./docs/examples/verify-webhook -addr 127.0.0.1:8090
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tolerance is how far a webhook-timestamp may be from the receiver's clock.
const tolerance = 5 * time.Minute

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	flag.Parse()

	secrets := strings.Fields(strings.ReplaceAll(os.Getenv("DERMQ_WEBHOOK_SECRET"), ",", " "))
	if len(secrets) == 0 {
		log.Fatal("set DERMQ_WEBHOOK_SECRET to the secret DermQ signs with")
	}

	log.Printf("listening on http://%s/", *addr)
	log.Fatal(http.ListenAndServe(*addr, newReceiver(secrets, os.Stdout)))
}

// receiver verifies and prints webhook calls.
type receiver struct {
	secrets []string
	out     io.Writer
	mu      sync.Mutex
	seen    map[string]bool
}

func newReceiver(secrets []string, out io.Writer) *receiver {
	return &receiver{secrets: secrets, out: out, seen: map[string]bool{}}
}

// ServeHTTP answers 204 to a verified new call, 200 to a repeated one (so
// DermQ stops retrying it) and 401 to anything unsigned or stale.
func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	if err := verifyAny(rc.secrets, r.Header, body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}

	if !rc.firstTime(r.Header.Get("webhook-id")) {
		w.WriteHeader(http.StatusOK)
		return
	}

	// A batch event's body is the batch, which counts its images.
	var event struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Total  *int   `json:"total"`
	}
	_ = json.Unmarshal(body, &event)
	kind := "prediction"
	if event.Total != nil {
		kind = "batch"
	}
	fmt.Fprintf(rc.out, "verified %s: %s %s is %s\n",
		r.Header.Get("webhook-id"), kind, event.ID, event.Status)
	w.WriteHeader(http.StatusNoContent)
}

// firstTime records id and reports whether it is new. A real receiver keeps
// these in its database for as long as retries can come (a day).
func (rc *receiver) firstTime(id string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()

	if rc.seen[id] {
		return false
	}
	rc.seen[id] = true
	return true
}

// verifyAny accepts the request when it verifies with any of the secrets.
func verifyAny(secrets []string, h http.Header, body []byte, now time.Time) error {
	err := errors.New("no secret configured")
	for _, secret := range secrets {
		if err = verify(secret, h, body, now); err == nil {
			return nil
		}
	}
	return err
}

// verify checks one request against one "whsec_" secret: the signed content
// is "webhook-id.webhook-timestamp.body", the key is the base64 after
// "whsec_", and the header holds one or more space-separated "v1,<base64>"
// HMAC-SHA256 signatures.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("decoding the secret: %w", err)
	}

	id, stamp := h.Get("webhook-id"), h.Get("webhook-timestamp")
	seconds, err := strconv.ParseInt(stamp, 10, 64)
	if id == "" || err != nil {
		return errors.New("missing or bad webhook-id or webhook-timestamp")
	}
	if age := now.Sub(time.Unix(seconds, 0)); age > tolerance || age < -tolerance {
		return errors.New("webhook-timestamp is too old or in the future")
	}

	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, stamp)
	mac.Write(body)
	expected := mac.Sum(nil)

	for _, signature := range strings.Fields(h.Get("webhook-signature")) {
		encoded, ok := strings.CutPrefix(signature, "v1,")
		decoded, err := base64.StdEncoding.DecodeString(encoded)
		if ok && err == nil && hmac.Equal(decoded, expected) {
			return nil
		}
	}
	return errors.New("no valid signature")
}
