package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Exit codes of dermq submit beyond the shared ones.
const (
	// exitImagesFailed: every image was handled, but some failed.
	exitImagesFailed = 3
	// exitInterrupted: stopped by a signal; running the same command again
	// resumes.
	exitInterrupted = 130
)

func init() {
	register(command{
		name:    "submit",
		summary: "upload a folder of images as one batch and collect the results",
		run:     runSubmit,
	})
}

// submitUsage is the top of `dermq submit --help`.
const submitUsage = `usage: dermq submit DIR [--server URL] [--out DIR] [--concurrency N] [--wait]

Uploads every image under DIR to a DermQ server as one batch. The state
kept in the output folder lets the same command, run again, resume where
it stopped. With --wait it waits for every image and writes the results
and heatmaps there.

flags:
`

// submitEnvironment is the end of `dermq submit --help`.
const submitEnvironment = `
environment (flags override it):
  DERMQ_SERVER   DermQ server URL (default http://localhost:8080)
`

// submitConfig is what dermq submit was asked to do.
type submitConfig struct {
	// Dir is the folder to submit. Required.
	Dir string
	// Server is the DermQ web server's base URL. Defaults to $DERMQ_SERVER,
	// then http://localhost:8080.
	Server string
	// Out holds the state file, results and heatmaps. Defaults to DIR with
	// "-dermq" appended.
	Out string
	// Concurrency is how many uploads run at once. Defaults to 4.
	Concurrency int
	// Wait polls until every image ended and writes the results. Defaults to
	// false.
	Wait bool
	// Poll is the pause between polls while waiting. Defaults to 2s.
	Poll time.Duration
	// Webhook is called once when the batch completes. Defaults to none.
	Webhook string
}

// parseSubmitFlags reads the command line; flags may come before or after
// DIR.
func parseSubmitFlags(args []string, stderr io.Writer) (submitConfig, error) {
	var cfg submitConfig
	fs := flag.NewFlagSet("dermq submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Server, "server", "", "DermQ server URL (default $DERMQ_SERVER, "+
		"then http://localhost:8080)")
	fs.StringVar(&cfg.Out, "out", "", "output folder for state, results and heatmaps "+
		"(default DIR-dermq)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 4, "uploads in flight at once")
	fs.BoolVar(&cfg.Wait, "wait", false, "wait for every image, then write the results")
	fs.DurationVar(&cfg.Poll, "poll", 2*time.Second, "pause between polls while waiting")
	fs.StringVar(&cfg.Webhook, "webhook", "", "URL called once when the batch completes")
	fs.Usage = func() {
		fmt.Fprint(stderr, submitUsage)
		fs.PrintDefaults()
		fmt.Fprint(stderr, submitEnvironment)
	}

	dirs, err := parseInterspersed(fs, args)
	if err != nil {
		return cfg, err
	}
	if len(dirs) != 1 {
		fs.Usage()
		return cfg, errors.New("want exactly one folder")
	}
	cfg.Dir = dirs[0]

	return cfg, cfg.fill()
}

// parseInterspersed parses flags that may sit before, between or after the
// positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// fill puts in the defaults and checks the values.
func (c *submitConfig) fill() error {
	if c.Server == "" {
		c.Server = os.Getenv("DERMQ_SERVER")
	}
	if c.Server == "" {
		c.Server = "http://localhost:8080"
	}
	if c.Out == "" {
		c.Out = filepath.Clean(c.Dir) + "-dermq"
	}

	switch {
	case c.Concurrency < 1:
		return fmt.Errorf("--concurrency %d: want at least 1", c.Concurrency)
	case c.Poll <= 0:
		return fmt.Errorf("--poll %s: want a positive duration", c.Poll)
	}

	return nil
}

// runSubmit is the submit command.
func runSubmit(ctx context.Context, args []string) error {
	cfg, err := parseSubmitFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return &exitCodeError{code: exitOK}
	}
	if err != nil {
		return &exitCodeError{code: exitUsage, err: err}
	}

	s, err := newSubmission(cfg, os.Stdout, os.Stderr)
	if err != nil {
		return err
	}
	defer s.close()

	return s.run(ctx)
}
