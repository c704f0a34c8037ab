package jobs

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks specification's published test vector.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func newTestSecret(t testing.TB) string {
	t.Helper()

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("making a secret: %v", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

func vectorHeader(signature string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", specID)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", signature)
	return h
}

func TestWebhookSignerMatchesTheSpecVector(t *testing.T) {
	t.Parallel()

	signer, err := ParseWebhookSecrets(specSecret)
	if err != nil {
		t.Fatalf("ParseWebhookSecrets: %v", err)
	}

	got := signer.Sign(specID, specTimestamp, []byte(specPayload))
	if got != specSignature {
		t.Fatalf("Sign = %q, want %q", got, specSignature)
	}
}

func TestIndependentVerifierAcceptsTheSpecVector(t *testing.T) {
	t.Parallel()

	at := time.Unix(specTimestamp, 0)
	err := verifyStandardWebhook(specSecret, vectorHeader(specSignature), []byte(specPayload), at)
	if err != nil {
		t.Fatalf("the verifier refuses the spec vector: %v", err)
	}

	err = verifyStandardWebhook(specSecret, vectorHeader(specSignature), []byte(`{"test": 1}`), at)
	if err == nil {
		t.Fatal("the verifier accepts a changed body")
	}
}

func TestWebhookSignerRotation(t *testing.T) {
	t.Parallel()

	oldSecret, newSecret := newTestSecret(t), newTestSecret(t)
	signer, err := ParseWebhookSecrets(newSecret + ", " + oldSecret)
	if err != nil {
		t.Fatalf("ParseWebhookSecrets: %v", err)
	}

	now := time.Now()
	body := []byte(`{"id":"p1","status":"succeeded"}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_rotation")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", signer.Sign("msg_rotation", now.Unix(), body))

	if n := len(strings.Fields(h.Get("webhook-signature"))); n != 2 {
		t.Fatalf("got %d signatures, want 2", n)
	}
	for _, secret := range []string{oldSecret, newSecret} {
		if err := verifyStandardWebhook(secret, h, body, now); err != nil {
			t.Fatalf("a receiver holding one of the secrets refuses: %v", err)
		}
	}
	if err := verifyStandardWebhook(newTestSecret(t), h, body, now); err == nil {
		t.Fatal("a receiver holding another secret accepts")
	}
}

func TestParseWebhookSecretsRefusesBadValues(t *testing.T) {
	t.Parallel()

	short := "whsec_" + base64.StdEncoding.EncodeToString([]byte("too short"))
	cases := []struct {
		name, value, want string
	}{
		{"an empty value means no secret", "  ", "no webhook signing secret"},
		{"a secret without its prefix is refused", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			`does not start with "whsec_"`},
		{"a secret that is not base64 is refused", "whsec_not*base64", "not standard base64"},
		{"a secret shorter than 24 bytes is refused", short, "use 24 to 64 random bytes"},
		{"the second bad secret is named by position", specSecret + " whsec_x", "secret 2 of 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			_, err := ParseWebhookSecrets(tc.value)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "MfKQ9r8") {
				t.Fatalf("error %q repeats the secret", err)
			}
		})
	}

	if _, err := ParseWebhookSecrets(""); !errors.Is(err, ErrNoWebhookSecret) {
		t.Fatalf("empty value: error = %v, want ErrNoWebhookSecret", err)
	}
}
