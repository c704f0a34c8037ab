package web

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseBatchRequest(t *testing.T) {
	t.Parallel()

	hook := `{"webhook":"https://hooks.example.org/b","webhook_events_filter":["completed"]}`
	cases := []struct {
		name        string
		body        io.Reader
		code        string
		wantWebhook string
	}{
		{"an empty body asks for nothing", strings.NewReader("  \n"), "", ""},
		{"a webhook is read", strings.NewReader(hook), "", "https://hooks.example.org/b"},
		{"a body that breaks off is refused, not taken as empty",
			io.MultiReader(strings.NewReader(hook[:20]),
				iotest.ErrReader(errors.New("connection reset"))),
			"bad_request", ""},
		{"a body over the limit is refused",
			strings.NewReader(strings.Repeat(" ", batchRequestLimit+1)), "too_large", ""},
		{"broken JSON is refused", strings.NewReader(hook[:20]), "bad_json", ""},
		{"the start event is refused like a prediction's unknown event",
			strings.NewReader(`{"webhook_events_filter":["start"]}`), "invalid_webhook", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			req, err := parseBatchRequest(tc.body)
			if tc.code == "" {
				if err != nil || req.Webhook != tc.wantWebhook {
					t.Fatalf("parseBatchRequest = %+v, %v; want webhook %q", req, err,
						tc.wantWebhook)
				}
				return
			}
			if err == nil || asHTTPError(err).Code != tc.code {
				t.Fatalf("parseBatchRequest = %+v, %v; want code %s", req, err, tc.code)
			}
		})
	}
}
