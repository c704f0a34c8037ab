package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dermq/dermq/web"
)

// envVar is one line of DermQ's environment table.
type envVar struct {
	name   string
	def    string
	desc   string
	secret bool
	// positive refuses zero for a number or a duration.
	positive bool
}

// environment is every setting DermQ reads from the environment. It is the
// one source for --help, the start-up log line and the flags that override
// it.
var environment = []envVar{
	{name: "REDIS_URL", desc: "Redis to queue through, redis://[:password@]host:port[/db]; " +
		"'dermq run' embeds one when unset", secret: true},
	{name: "PORT", def: "8080", desc: "port the web server listens on"},
	{name: "DERMQ_MODEL", def: "models/demo.onnx",
		desc: "ONNX model; its manifest NAME.json sits beside it"},
	{name: "DERMQ_ORT_LIBRARY",
		desc: "ONNX Runtime shared library; empty means the cached download"},
	{name: "DERMQ_MAX_UPLOAD_BYTES", def: "10485760", positive: true,
		desc: "largest image accepted, in bytes"},
	{name: "DERMQ_MAX_PIXELS", def: "50000000", positive: true,
		desc: "most pixels an image may declare"},
	{name: "DERMQ_UPLOAD_SLOTS", def: "2", positive: true,
		desc: "upload memory, in uploads of the largest size; smaller ones share it"},
	{name: "DERMQ_RETENTION", def: "24h", positive: true,
		desc: "how long results, heatmaps and uploads are kept"},
	{name: "DERMQ_CONCURRENCY", def: "1", positive: true,
		desc: "predictions one worker runs at once"},
	{name: "DERMQ_POLL_INTERVAL", def: "10ms", positive: true,
		desc: "how often an idle worker asks for work; stopping it waits for the " +
			"sleep in hand, up to 1.5 times this"},
	{name: "DERMQ_JOB_TIMEOUT", def: "5m", positive: true,
		desc: "time limit of one prediction attempt"},
	{name: "DERMQ_MAX_RETRY", def: "6",
		desc: "retries after infrastructure errors or a worker that died"},
	{name: "DERMQ_MAX_RSS", def: "400MB",
		desc: "worker memory past which it recycles after the job in hand"},
	{name: "DERMQ_HARD_RSS", def: "480MB",
		desc: "worker memory past which the running job is stopped and retried"},
	{name: "DERMQ_MAX_JOBS", def: "0",
		desc: "recycle the worker after about this many jobs (jittered); 0: never"},
	{name: "DERMQ_IDLE_UNLOAD", def: "15m",
		desc: "recycle a worker idle this long after a job, releasing the model; 0: never"},
	{name: "DERMQ_CPU_ARENA", def: "false",
		desc: "ONNX Runtime's CPU memory arena (off measured leaner, docs/memory.md)"},
	{name: "DERMQ_WEBHOOK_SECRET", secret: true, desc: "webhook signing secret(s), " +
		"whsec_ + base64, several separated by spaces while rotating; unset refuses webhooks"},
	{name: "DERMQ_WEBHOOK_ALLOW",
		desc: "hosts, addresses and CIDRs webhooks may reach although internal, comma-separated"},
	{name: "DERMQ_WEBHOOK_RETRY_SCHEDULE", def: "5s,5m,30m,2h,5h,10h",
		desc: "delay before each webhook retry; none for no retry"},
	{name: "DERMQ_WEBHOOK_TIMEOUT", def: "10s", positive: true,
		desc: "time limit of one webhook attempt"},
	{name: "DERMQ_TRUSTED_PROXIES", def: strings.Join(web.DefaultTrustedProxies, ","),
		desc: "addresses and CIDRs whose X-Forwarded-For/-Proto/-Host are believed, " +
			"comma-separated; empty: none"},
	{name: "DERMQ_LOG_FORMAT", def: "text", desc: "log format: text or json"},
	{name: "DERMQ_LOG_LEVEL", def: "info", desc: "log level: debug, info, warn or error"},
}

// config holds the settings of one subcommand: the environment, overridden
// by flags.
type config struct {
	fs     *flag.FlagSet
	values map[string]*string
	used   []envVar
}

// newConfig registers a flag for each named variable on fs, defaulting to
// the environment, and sets fs's usage to list flags and environment.
func newConfig(fs *flag.FlagSet, summary string, names ...string) *config {
	c := &config{fs: fs, values: map[string]*string{}}
	for _, name := range names {
		v := lookupVar(name)
		c.used = append(c.used, v)
		c.values[name] = fs.String(flagName(name), envOr(v), v.desc)
		if v.secret {
			// --help prints a flag's default, here read from the
			// environment: show it as the start-up log line does.
			f := fs.Lookup(flagName(name))
			f.DefValue = redact(f.DefValue)
		}
	}

	fs.Usage = func() { c.usage(fs, summary) }
	return c
}

func lookupVar(name string) envVar {
	for _, v := range environment {
		if v.name == name {
			return v
		}
	}

	panic("dermq: no environment variable " + name + " in the table")
}

func envOr(v envVar) string {
	if s, ok := os.LookupEnv(v.name); ok {
		return s
	}

	return v.def
}

// flagName turns DERMQ_MAX_PIXELS into max-pixels and REDIS_URL into
// redis-url.
func flagName(env string) string {
	name := strings.TrimPrefix(env, "DERMQ_")
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

func (c *config) usage(fs *flag.FlagSet, summary string) {
	w := fs.Output()
	fmt.Fprintf(w, "usage: dermq %s [flags]\n\n%s\n\nflags:\n", fs.Name(), summary)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nenvironment (flags override it):")
	writeEnvTable(w, c.used)
}

func writeEnvTable(w io.Writer, vars []envVar) {
	for _, v := range vars {
		def := v.def
		if def == "" {
			def = "(unset)"
		}
		fmt.Fprintf(w, "  %-28s %-19s %s\n", v.name, def, v.desc)
	}
}

// log writes the effective settings once, secrets redacted.
func (c *config) log(logger *slog.Logger, msg string) {
	attrs := make([]any, 0, len(c.used))
	for _, v := range c.used {
		value := *c.values[v.name]
		if v.secret {
			value = redact(value)
		}
		attrs = append(attrs, slog.String(strings.ToLower(v.name), value))
	}

	logger.Info(msg, attrs...)
}

// redact hides the password of a URL and anything that is not one.
func redact(s string) string {
	if s == "" {
		return ""
	}

	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(redacted)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}

	return u.String()
}

func (c *config) str(name string) string { return *c.values[name] }

func (c *config) int(name string) (int, error) {
	n, err := strconv.Atoi(c.str(name))
	if err != nil {
		return 0, fmt.Errorf("reading %s: %q is not a whole number", c.origin(name),
			c.str(name))
	}
	if least := c.least(name); n < least {
		return 0, fmt.Errorf("reading %s: %d is too small: it must be at least %d",
			c.origin(name), n, least)
	}

	return n, nil
}

func (c *config) duration(name string) (time.Duration, error) {
	d, err := time.ParseDuration(c.str(name))
	if err != nil {
		return 0, fmt.Errorf("reading %s: %q is not a duration like 24h or 20ms",
			c.origin(name), c.str(name))
	}
	if d < 0 || d == 0 && c.least(name) > 0 {
		want := "positive"
		if c.least(name) == 0 {
			want = "0 or positive"
		}
		return 0, fmt.Errorf("reading %s: %s is too small: it must be %s",
			c.origin(name), c.str(name), want)
	}

	return d, nil
}

// addresses reads a comma-separated list of IP addresses and CIDR ranges.
// An empty setting is an empty, non-nil list.
func (c *config) addresses(name string) ([]string, error) {
	out := []string{}
	for _, item := range strings.Split(c.str(name), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if _, err := netip.ParsePrefix(item); err != nil {
			if _, err := netip.ParseAddr(item); err != nil {
				return nil, fmt.Errorf("reading %s: %q is not an IP address or a CIDR range",
					c.origin(name), item)
			}
		}
		out = append(out, item)
	}

	return out, nil
}

// least is the smallest number a setting takes: 1 for a positive one, else 0.
func (c *config) least(name string) int {
	if lookupVar(name).positive {
		return 1
	}
	return 0
}

// origin names where a setting's value came from: its flag when one was
// given, else its environment variable (or its default).
func (c *config) origin(name string) string {
	origin := name
	c.fs.Visit(func(f *flag.Flag) {
		if f.Name == flagName(name) {
			origin = "--" + f.Name
		}
	})
	return origin
}

// env returns the settings as environment lines for a child process.
func (c *config) env() []string {
	out := make([]string, 0, len(c.used))
	for _, v := range c.used {
		out = append(out, v.name+"="+c.str(v.name))
	}

	return out
}
