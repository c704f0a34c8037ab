package jobs

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

func BenchmarkWebhookSign(b *testing.B) {
	signer, err := ParseWebhookSecrets(specSecret)
	if err != nil {
		b.Fatalf("ParseWebhookSecrets: %v", err)
	}
	body := make([]byte, 2048)

	for b.Loop() {
		signer.Sign(specID, specTimestamp, body)
	}
}

// BenchmarkWebhookDelivery measures one delivery from Emit to the
// receiver's verified request, through Redis and the webhook server, one at
// a time.
func BenchmarkWebhookDelivery(b *testing.B) {
	bundle := newWebhookBundle(b, webhookRedis(b))
	rc := newTestReceiver(b, bundle.secret, answerAlways(http.StatusOK))
	srv, err := NewWebhookServer(bundle.cfg)
	if err != nil {
		b.Fatalf("NewWebhookServer: %v", err)
	}
	if err := srv.Start(); err != nil {
		b.Fatalf("Start: %v", err)
	}
	defer srv.Shutdown()

	body := []byte(`{"id":"bench","status":"succeeded"}`)
	target := WebhookTarget{URL: rc.URL}
	n := 0
	for b.Loop() {
		n++
		pred := fmt.Sprintf("bench-%d", n)
		err := bundle.webhooks.Emit(context.Background(), pred, target, WebhookEventCompleted, body)
		if err != nil {
			b.Fatalf("Emit: %v", err)
		}
		if call := <-rc.calls; call.verifyErr != nil {
			b.Fatalf("verify: %v", call.verifyErr)
		}
	}
}
