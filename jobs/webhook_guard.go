package jobs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// WebhookRefusedError says a webhook destination was refused by the
// server-side request forgery guard.
type WebhookRefusedError struct {
	// Destination is the host or address that was refused.
	Destination string
	// Reason says why, in words a user understands.
	Reason string
}

// Error returns the refusal with a hint on how to allow the destination.
func (e *WebhookRefusedError) Error() string {
	return fmt.Sprintf("webhook destination %s refused: %s (DERMQ_WEBHOOK_ALLOW can permit it)",
		e.Destination, e.Reason)
}

// Address ranges no webhook may reach unless allow-listed, besides those
// netip.Addr already classifies (loopback, private, link-local, multicast,
// unspecified).
var forbiddenWebhookPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT (shared) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a network benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible IPv6 address"},
}

// Prefixes of IPv6 forms that embed an IPv4 address: NAT64 (last four
// bytes) and 6to4 (bytes 2 to 5).
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// forbiddenAddr says why addr may not be a webhook destination, or "" when
// it may.
func forbiddenAddr(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsPrivate():
		return "a private network address"
	case addr.IsLinkLocalUnicast():
		return "a link-local address (cloud metadata services live here)"
	case addr.IsMulticast():
		return "a multicast address"
	case addr.IsUnspecified():
		return "an unspecified address"
	}

	for _, f := range forbiddenWebhookPrefixes {
		if f.prefix.Contains(addr) {
			return f.reason
		}
	}

	return forbiddenEmbedded(addr)
}

// forbiddenEmbedded checks the IPv4 address inside NAT64 and 6to4 forms.
func forbiddenEmbedded(addr netip.Addr) string {
	b := addr.As16()
	var inner netip.Addr
	switch {
	case nat64Prefix.Contains(addr):
		inner = netip.AddrFrom4([4]byte(b[12:16]))
	case sixToFour.Contains(addr):
		inner = netip.AddrFrom4([4]byte(b[2:6]))
	default:
		return ""
	}

	if reason := forbiddenAddr(inner); reason != "" {
		return "an IPv6 form of " + reason
	}
	return ""
}

// webhookAllowList holds the hosts and networks a webhook may reach even
// though the guard would refuse them.
type webhookAllowList struct {
	hosts map[string]bool
	nets  []netip.Prefix
}

// ParseWebhookAllow reads the value of DERMQ_WEBHOOK_ALLOW: host names, IP
// addresses and CIDR prefixes separated by commas. It returns the entries,
// ready for ValidateWebhookURL and WebhookConfig.Allow.
func ParseWebhookAllow(value string) ([]string, error) {
	var entries []string
	for entry := range strings.SplitSeq(value, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if strings.Contains(entry, "/") {
			if _, err := netip.ParsePrefix(entry); err != nil {
				return nil, fmt.Errorf("reading DERMQ_WEBHOOK_ALLOW entry %q: %w", entry, err)
			}
		}
		entries = append(entries, entry)
	}

	return entries, nil
}

func newWebhookAllowList(entries []string) webhookAllowList {
	allow := webhookAllowList{hosts: map[string]bool{}}
	for _, entry := range entries {
		if prefix, err := netip.ParsePrefix(entry); err == nil {
			allow.nets = append(allow.nets, prefix.Masked())
			continue
		}
		if addr, err := netip.ParseAddr(entry); err == nil {
			allow.nets = append(allow.nets, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
			continue
		}
		allow.hosts[normalHost(entry)] = true
	}

	return allow
}

func (a webhookAllowList) allowsHost(host string) bool { return a.hosts[normalHost(host)] }

func (a webhookAllowList) allowsAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, prefix := range a.nets {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}

func normalHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// ValidateWebhookURL checks a webhook URL when a prediction is submitted: an
// absolute http or https URL whose host is not already known to be refused
// (a loopback, private, link-local or otherwise internal address literal, or
// a name such as localhost). allow holds DERMQ_WEBHOOK_ALLOW's entries.
// Names that resolve to refused addresses are caught when delivering.
func ValidateWebhookURL(raw string, allow ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("reading webhook URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("webhook URL must start with http:// or https://, not %q", raw)
	}

	host := u.Hostname()
	if host == "" {
		return errors.New("webhook URL has no host")
	}

	allowed := newWebhookAllowList(allow)
	if allowed.allowsHost(host) {
		return nil
	}

	return checkWebhookHost(host, allowed)
}

func checkWebhookHost(host string, allowed webhookAllowList) error {
	if addr, err := netip.ParseAddr(host); err == nil {
		if reason := forbiddenAddr(addr); reason != "" && !allowed.allowsAddr(addr) {
			return &WebhookRefusedError{Destination: host, Reason: "it is " + reason}
		}
		return nil
	}

	name := normalHost(host)
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return &WebhookRefusedError{Destination: host, Reason: "localhost names the server itself"}
	}
	if numericLooking(name) {
		return &WebhookRefusedError{
			Destination: host,
			Reason:      "it is a numeric host that is not a plain IP address",
		}
	}

	return nil
}

// numericLooking reports hosts such as "2130706433", "127.1" or
// "0x7f000001", which some resolvers read as IPv4 addresses. No real domain
// ends in a numeric label.
func numericLooking(name string) bool {
	last := name[strings.LastIndex(name, ".")+1:]
	digits := "0123456789"
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = hex, "0123456789abcdef"
	}
	if last == "" {
		return false
	}

	for _, r := range last {
		if !strings.ContainsRune(digits, r) {
			return false
		}
	}
	return true
}

// newWebhookHTTPClient returns the client that delivers webhooks. Every
// connection is checked on the address actually dialled, after DNS, so a
// name that resolves to an internal address is refused as well. Redirects
// are not followed (the 3xx response is returned as it is) and no proxy from
// the environment is used, since a proxy would hide the real destination.
func newWebhookHTTPClient(allow []string, timeout time.Duration) *http.Client {
	allowed := newWebhookAllowList(allow)
	guarded := &net.Dialer{Timeout: timeout, Control: guardControl(allowed)}
	open := &net.Dialer{Timeout: timeout}

	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err == nil && allowed.allowsHost(host) {
			return open.DialContext(ctx, network, address)
		}
		return guarded.DialContext(ctx, network, address)
	}

	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}

	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// guardControl refuses a connection to a forbidden address just before the
// socket connects.
func guardControl(allowed webhookAllowList) func(string, string, syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		addrPort, err := netip.ParseAddrPort(address)
		if err != nil {
			return &WebhookRefusedError{Destination: address, Reason: "it is not an IP address"}
		}

		addr := addrPort.Addr()
		reason := forbiddenAddr(addr)
		if reason == "" || allowed.allowsAddr(addr) {
			return nil
		}
		return &WebhookRefusedError{Destination: addr.String(), Reason: "it is " + reason}
	}
}
