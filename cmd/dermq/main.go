// Command dermq is DermQ's one binary: the web server, the worker, the local
// all-in-one mode and the command-line clients.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes shared by every subcommand.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one subcommand of dermq.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands holds every subcommand; each file registers its own in init.
var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// exitCodeError carries a specific exit code out of a subcommand.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		return exitUsage
	}

	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "dermq: unknown command %q\n\n", args[0])
		usage()
		return exitUsage
	}

	ctx, stop := stopSignals()
	defer stop()

	err := cmd.run(ctx, args[1:])
	if err == nil {
		return exitOK
	}

	var coded *exitCodeError
	if errors.As(err, &coded) {
		if coded.err != nil {
			fmt.Fprintf(os.Stderr, "dermq %s: %v\n", cmd.name, coded.err)
		}
		return coded.code
	}
	fmt.Fprintf(os.Stderr, "dermq %s: %v\n", cmd.name, err)
	return exitError
}

// stopSignals returns a context that the first SIGINT or SIGTERM ends, for
// a graceful stop. Once it has ended, the signals get their default action
// back, so a second one ends the process at once whatever it is doing: a
// two-stage shutdown. (The supervisor watches the signals itself as well and
// turns a second one into killing its worker.)
func stopSignals() (context.Context, context.CancelFunc) {
	signaled, unwatch := signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())

	// ctx ends only once the default action is back, so that a second
	// signal can never be caught by the first stop's handler.
	context.AfterFunc(signaled, func() {
		unwatch()
		cancel()
	})
	return ctx, func() {
		unwatch()
		cancel()
	}
}

func usage() {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)

	fmt.Fprintln(os.Stderr, "usage: dermq COMMAND [flags]")
	fmt.Fprintln(os.Stderr, "\ncommands:")
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "  %-14s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'dermq COMMAND --help' for a command's flags and environment.")
}
