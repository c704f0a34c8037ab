package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/dermq/dermq/inference"
	"github.com/dermq/dermq/jobs"
)

// exitMemoryWarning is memtest's exit code when a figure passes a limit, so
// that deploy scripts can stop on it.
const exitMemoryWarning = 3

func init() {
	register(command{
		name:    "memtest",
		summary: "measure the worker's memory and time per prediction on this host",
		run:     runMemtest,
	})
}

// memtestOptions are memtest's flags.
type memtestOptions struct {
	model, library  string
	maxRSS, hardRSS uint64
	maxTime         time.Duration
	runs, cycles    int
	arena, spinning bool
	release         bool
	images          []string
}

func runMemtest(ctx context.Context, args []string) error {
	opts, err := parseMemtest(args)
	if err != nil {
		return err
	}

	report, err := measureMemory(ctx, opts)
	if err != nil {
		return err
	}

	warnings := report.print(os.Stdout, opts)
	if warnings > 0 {
		return &exitCodeError{code: exitMemoryWarning,
			err: fmt.Errorf("%d figure(s) past the limits", warnings)}
	}
	return nil
}

func parseMemtest(args []string) (memtestOptions, error) {
	fs := flag.NewFlagSet("memtest", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: dermq memtest [flags] [IMAGE...]\n\n"+
			"Loads the model in this process, runs predictions (with Grad-CAM) on the\n"+
			"images (a synthetic 1024x768 photo when none are given) and prints resident\n"+
			"memory before the load, after it, per prediction and after an unload, with\n"+
			"the time per prediction. Exits with code 3 when a figure passes a limit.\n\nflags:")
		fs.PrintDefaults()
	}

	var o memtestOptions
	var maxRSS, hardRSS string
	fs.StringVar(&o.model, "model", envDefault("DERMQ_MODEL", "models/demo.onnx"),
		"ONNX model; its manifest NAME.json sits beside it (env DERMQ_MODEL)")
	fs.StringVar(&o.library, "ort-library", os.Getenv("DERMQ_ORT_LIBRARY"),
		"ONNX Runtime shared library (env DERMQ_ORT_LIBRARY); empty means the cached one")
	fs.StringVar(&maxRSS, "max-rss", envDefault("DERMQ_MAX_RSS", "400MB"),
		"the worker's memory limit (env DERMQ_MAX_RSS)")
	fs.StringVar(&hardRSS, "hard-rss", envDefault("DERMQ_HARD_RSS", "480MB"),
		"the worker's hard memory limit (env DERMQ_HARD_RSS)")
	fs.DurationVar(&o.maxTime, "max-time", 5*time.Second, "longest time one prediction may take")
	fs.IntVar(&o.runs, "runs", 3, "predictions per image")
	fs.IntVar(&o.cycles, "cycles", 1,
		"load, predict and unload this many times, to see whether unloading leaks")
	fs.BoolVar(&o.arena, "cpu-arena", false,
		"ONNX Runtime's CPU memory arena (off is leaner once memory is released after each job)")
	fs.BoolVar(&o.spinning, "spinning", false, "let ONNX Runtime's idle threads spin")
	fs.BoolVar(&o.release, "release", true,
		"hand freed memory back to the system after the load and each prediction, "+
			"as the worker does")
	if err := fs.Parse(args); err != nil {
		return o, &exitCodeError{code: exitUsage, err: err}
	}

	var err error
	if o.maxRSS, err = parseMemorySize(maxRSS); err != nil {
		return o, fmt.Errorf("reading --max-rss: %w", err)
	}
	if o.hardRSS, err = parseMemorySize(hardRSS); err != nil {
		return o, fmt.Errorf("reading --hard-rss: %w", err)
	}
	if o.runs < 1 || o.cycles < 1 {
		return o, errors.New("--runs and --cycles must be at least 1")
	}
	o.images = fs.Args()
	return o, nil
}

// envDefault returns the environment variable name, or def when unset.
func envDefault(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// newMemtestEngine opens the model with the settings under test.
func newMemtestEngine(o memtestOptions) (*inference.Engine, error) {
	arena := o.arena
	engine, err := inference.NewEngine(inference.Options{
		ModelPath:     o.model,
		LibraryPath:   o.library,
		CPUArena:      &arena,
		AllowSpinning: o.spinning,
	})
	if err != nil {
		return nil, fmt.Errorf("opening model %s: %w", o.model, err)
	}
	return engine, nil
}

// releaseIf hands freed memory back when the run asks for it.
func releaseIf(o memtestOptions) {
	if o.release {
		jobs.ReleaseMemory()
	}
}
