package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dermq/dermq/jobs"
)

func TestVerifyAcceptsTheSpecVector(t *testing.T) {
	t.Parallel()

	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	body := []byte(`{"test": 2432232314}`)

	err := verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h, body, time.Unix(1614265330, 0))
	if err != nil {
		t.Fatalf("verify refuses the specification's vector: %v", err)
	}
}

// signedRequest signs body the way DermQ's webhook server does.
func signedRequest(t *testing.T, secrets string, body []byte, at time.Time) *http.Request {
	t.Helper()
	return signedRequestWithID(t, secrets, "msg_example", body, at)
}

// signedRequestWithID signs a call as DermQ does, with webhook-id id.
func signedRequestWithID(t *testing.T, secrets, id string, body []byte,
	at time.Time) *http.Request {
	t.Helper()

	signer, err := jobs.ParseWebhookSecrets(secrets)
	if err != nil {
		t.Fatalf("ParseWebhookSecrets: %v", err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("webhook-id", id)
	r.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	r.Header.Set("webhook-signature", signer.Sign(id, at.Unix(), body))
	return r
}

func newSecret(t *testing.T) string {
	t.Helper()

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("making a secret: %v", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

func TestReceiverHandlesDermQDeliveries(t *testing.T) {
	t.Parallel()

	secret, rotated := newSecret(t), newSecret(t)
	body := []byte(`{"id":"p1","status":"succeeded"}`)
	cases := []struct {
		name    string
		request *http.Request
		want    int
	}{
		{"a fresh signed call is accepted", signedRequest(t, secret, body, time.Now()), 204},
		{"the same webhook-id again is acknowledged only", signedRequest(t, secret, body,
			time.Now()), 200},
		{"a call signed while rotating is accepted", signedRequest(t, rotated+" "+secret,
			body, time.Now()), 200},
		{"a stale call is refused", signedRequest(t, secret, body,
			time.Now().Add(-time.Hour)), 401},
		{"a call signed with another secret is refused", signedRequest(t, newSecret(t), body,
			time.Now()), 401},
	}

	var out strings.Builder
	rc := newReceiver([]string{secret}, &out)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, tc.request)
			if w.Code != tc.want {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tc.want, w.Body.String())
			}
		})
	}

	if got := out.String(); got != "verified msg_example: prediction p1 is succeeded\n" {
		t.Fatalf("printed %q", got)
	}

	out.Reset()
	batch := []byte(`{"id":"b1","status":"completed","total":3,"ended":3}`)
	rc.ServeHTTP(httptest.NewRecorder(),
		signedRequestWithID(t, secret, "msg_batch", batch, time.Now()))
	if got := out.String(); got != "verified msg_batch: batch b1 is completed\n" {
		t.Fatalf("printed %q for a batch event", got)
	}
}
