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
	releaseFiles    bool
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

// memtestVars are the settings memtest reads, the worker's own.
var memtestVars = []string{
	"DERMQ_MODEL", "DERMQ_ORT_LIBRARY", "DERMQ_MAX_RSS", "DERMQ_HARD_RSS", "DERMQ_CPU_ARENA",
}

func parseMemtest(args []string) (memtestOptions, error) {
	fs := flag.NewFlagSet("memtest", flag.ContinueOnError)
	cfg := newConfig(fs, "Loads the model in this process, runs predictions (with Grad-CAM) on "+
		"IMAGE... (a synthetic 1024x768 photo when none are given) and prints resident "+
		"memory before the load, after it, per prediction, when idle and after an unload, "+
		"with the time per prediction. Exits with code 3 when a figure passes a limit.",
		memtestVars...)

	var o memtestOptions
	fs.DurationVar(&o.maxTime, "max-time", 5*time.Second, "longest time one prediction may take")
	fs.IntVar(&o.runs, "runs", 3, "predictions per image")
	fs.IntVar(&o.cycles, "cycles", 1,
		"load, predict and unload this many times, to see whether unloading leaks")
	fs.BoolVar(&o.spinning, "spinning", false, "let ONNX Runtime's idle threads spin")
	fs.BoolVar(&o.release, "release", true,
		"hand memory back to the system after the load and once the predictions are "+
			"done, as the worker does after the load and when idle")
	fs.BoolVar(&o.releaseFiles, "release-files", true,
		"with --release, also drop the clean file pages of dermq's and ONNX Runtime's "+
			"code, as the worker does; they fault back in when used")
	if err := fs.Parse(args); err != nil {
		return o, usageError(err)
	}

	err := o.read(cfg)
	o.images = fs.Args()
	return o, err
}

// read fills the options that come from the configuration.
func (o *memtestOptions) read(cfg *config) error {
	var err error
	o.model, o.library = cfg.str("DERMQ_MODEL"), cfg.str("DERMQ_ORT_LIBRARY")
	if o.library != "" {
		if err := inference.CheckLibrary(o.library, "DERMQ_ORT_LIBRARY"); err != nil {
			return err
		}
	}
	if o.maxRSS, err = cfg.memorySize("DERMQ_MAX_RSS"); err != nil {
		return err
	}
	if o.hardRSS, err = cfg.memorySize("DERMQ_HARD_RSS"); err != nil {
		return err
	}
	if o.arena, err = cfg.bool("DERMQ_CPU_ARENA"); err != nil {
		return err
	}
	if o.runs < 1 || o.cycles < 1 {
		return errors.New("--runs and --cycles must be at least 1")
	}
	return nil
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

// released is what one release did and how long it took.
type released struct {
	files jobs.FilePages
	took  time.Duration
}

// releaseIf hands memory back as the run asks: nothing, freed heap memory,
// or that and the clean file pages of dermq and of the library.
func releaseIf(o memtestOptions, library string) (released, error) {
	var r released
	if !o.release {
		return r, nil
	}

	start := time.Now()
	var err error
	if o.releaseFiles {
		r.files, err = jobs.ReleaseMemory(library)
	} else {
		jobs.ReleaseHeap()
	}
	r.took = time.Since(start)
	return r, err
}
