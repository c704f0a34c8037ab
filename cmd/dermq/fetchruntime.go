package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/dermq/dermq/inference"
)

func init() {
	register(command{
		name:    "fetch-runtime",
		summary: "download and cache the ONNX Runtime library; print its path",
		run:     runFetchRuntime,
	})
}

// runFetchRuntime makes sure the ONNX Runtime library is present, fetching
// it with npm when it is not, and prints its path.
func runFetchRuntime(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fetch-runtime", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: dermq fetch-runtime\n\n"+
			"Finds libonnxruntime (%s, the cache, system paths) or downloads\n"+
			"onnxruntime-node@%s with npm pack, checks its pinned SHA-256 and\n"+
			"caches the library. Prints the library's path.\n", inference.LibraryEnv,
			inference.RuntimeVersion)
	}
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitCodeError{code: exitUsage, err: fmt.Errorf("unexpected arguments %v",
			fs.Args())}
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	path, err := inference.EnsureLibrary(ctx, logger)
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}
