package jobs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestForbiddenAddr(t *testing.T) {
	t.Parallel()

	cases := []struct {
		addr      string
		forbidden bool
	}{
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"169.254.169.254", true},
		{"fe80::1", true},
		{"224.0.0.1", true},
		{"ff02::1", true},
		{"0.0.0.0", true},
		{"::", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"255.255.255.255", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::127.0.0.1", true},
		{"64:ff9b::a9fe:a9fe", true},
		{"2002:7f00:1::", true},
		{"93.184.216.34", false},
		{"172.32.0.1", false},
		{"100.128.0.1", false},
		{"2606:4700:4700::1111", false},
		{"::ffff:93.184.216.34", false},
		{"64:ff9b::5db8:d822", false},
	}
	for _, tc := range cases {
		t.Run(tc.addr+" is judged correctly", func(t *testing.T) {
			t.Parallel()

			reason := forbiddenAddr(netip.MustParseAddr(tc.addr))
			if got := reason != ""; got != tc.forbidden {
				t.Fatalf("forbidden = %v (%q), want %v", got, reason, tc.forbidden)
			}
		})
	}
}

func TestValidateWebhookURL(t *testing.T) {
	t.Parallel()

	cases := []struct {
		name  string
		url   string
		allow []string
		want  string
	}{
		{"a public https URL is accepted", "https://hooks.example.com/dermq", nil, ""},
		{"a public http URL with a port is accepted", "http://93.184.216.34:8080/x", nil, ""},
		{"a domain on a hex-looking TLD is accepted", "https://beef.cafe/x", nil, ""},
		{"another scheme is refused", "ftp://example.com/x", nil, "http:// or https://"},
		{"a relative URL is refused", "/callback", nil, "http:// or https://"},
		{"a URL without host is refused", "http:///x", nil, "no host"},
		{"loopback is refused", "http://127.0.0.1:9000/x", nil, "loopback"},
		{"IPv6 loopback is refused", "http://[::1]/x", nil, "loopback"},
		{"a 10.x address is refused", "http://10.0.0.7/x", nil, "private"},
		{"the metadata address is refused", "http://169.254.169.254/latest", nil, "link-local"},
		{"an IPv4-mapped loopback is refused", "http://[::ffff:127.0.0.1]/x", nil, "loopback"},
		{"localhost is refused", "http://localhost:8080/x", nil, "localhost"},
		{"a localhost subdomain is refused", "http://api.LOCALHOST./x", nil, "localhost"},
		{"a decimal IPv4 host is refused", "http://2130706433/x", nil, "numeric host"},
		{"a short IPv4 host is refused", "http://127.1/x", nil, "numeric host"},
		{"a hex IPv4 host is refused", "http://0x7f000001/x", nil, "numeric host"},
		{"an allowed CIDR passes", "http://10.0.0.7/x", []string{"10.0.0.0/8"}, ""},
		{"an allowed address passes", "http://127.0.0.1:9/x", []string{"127.0.0.1"}, ""},
		{"an allowed host name passes", "http://localhost:9/x", []string{"localhost"}, ""},
		{"an allow-list for another net does not", "http://10.0.0.7/x", []string{"10.1.0.0/16"},
			"private"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			err := ValidateWebhookURL(tc.url, tc.allow...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ValidateWebhookURL(%q) = %v, want nil", tc.url, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateWebhookURL(%q) = %v, want an error with %q", tc.url, err, tc.want)
			}
		})
	}
}

func TestParseWebhookAllow(t *testing.T) {
	t.Parallel()

	got, err := ParseWebhookAllow(" hooks.internal, 10.0.0.0/8,,127.0.0.1 ")
	if err != nil {
		t.Fatalf("ParseWebhookAllow: %v", err)
	}
	if strings.Join(got, "|") != "hooks.internal|10.0.0.0/8|127.0.0.1" {
		t.Fatalf("entries = %q", got)
	}

	if _, err := ParseWebhookAllow("10.0.0.0/33"); err == nil {
		t.Fatal("a bad CIDR is accepted")
	}
}

// postRefused posts through a guarded client and returns the refusal.
func postRefused(t *testing.T, client *http.Client, url string) *WebhookRefusedError {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("building request: %v", err)
	}

	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("POST %s answered %d, want a refusal", url, resp.StatusCode)
	}
	var refused *WebhookRefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("POST %s: error %v is not a refusal", url, err)
	}
	return refused
}

func TestWebhookClientRefusesInternalDestinations(t *testing.T) {
	t.Parallel()

	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
	}))
	defer target.Close()
	port := target.URL[strings.LastIndex(target.URL, ":"):]

	client := newWebhookHTTPClient(nil, 2*time.Second)
	cases := []struct {
		name, url, reason string
	}{
		{"a loopback receiver is refused after dialling", target.URL, "loopback"},
		{"localhost is refused after resolving", "http://localhost" + port, "loopback"},
		{"a 10.x address is refused", "http://10.0.0.1:80/", "private"},
		{"the metadata service is refused", "http://169.254.169.254/latest/meta-data/",
			"link-local"},
		{"an IPv4-mapped loopback is refused", "http://[::ffff:127.0.0.1]" + port, "loopback"},
	}
	t.Run("each destination", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()

				refused := postRefused(t, client, tc.url)
				if !strings.Contains(refused.Reason, tc.reason) {
					t.Fatalf("reason = %q, want it to mention %q", refused.Reason, tc.reason)
				}
			})
		}
	})

	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
}

func TestWebhookClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()

	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		targetHits.Add(1)
	}))
	defer target.Close()
	port := target.URL[strings.LastIndex(target.URL, ":"):]

	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost"+port+"/internal", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	client := newWebhookHTTPClient([]string{"127.0.0.1"}, 2*time.Second)
	resp, err := client.Post(redirector.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("POST to the allowed redirector: %v", err)
	}
	resp.Body.Close()

	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("status = %d, want the redirect itself (307)", resp.StatusCode)
	}
	if n := targetHits.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}
