package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/dermq/dermq/inference"
)

func init() {
	register(command{
		name:    "predict",
		summary: "classify images and write Grad-CAM heatmaps, no server needed",
		run:     runPredict,
	})
}

// predictFlags are the options of `dermq predict`.
type predictFlags struct {
	model string
	out   string
	class string
	json  bool
	top   int
}

// predictUsage is printed by `dermq predict --help`.
const predictUsage = `usage: dermq predict IMAGE... [--model M] [--out DIR] [--class C]
                     [--json] [--top K]

Classifies each image, computes its Grad-CAM map and writes NAME.heatmap.png
into --out. When two images share a name (a/x.jpg, b/x.jpg), the first one
given keeps x.heatmap.png and the next get x-2.heatmap.png, x-3.heatmap.png,
and so on, in argument order. Flags may come before or after the images.
Exits 1 when any image failed; the others are still predicted.

environment:
  DERMQ_MODEL          model to use when --model is not given
                       (default: models/demo.onnx beside the binary or the working dir)
  DERMQ_ORT_LIBRARY    path of libonnxruntime.so (default: the dermq cache, then system paths)

flags:
`

// parsePredictFlags parses args, letting flags and image paths interleave.
func parsePredictFlags(args []string, stderr io.Writer) (predictFlags, []string, error) {
	var f predictFlags
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, predictUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.model, "model", "", "model file NAME.onnx, manifest NAME.json beside it")
	fs.StringVar(&f.out, "out", ".", "folder for the heatmap PNGs")
	fs.StringVar(&f.class, "class", "", "class (label or index) to explain (default: the top one)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per image")
	fs.IntVar(&f.top, "top", 5, "how many classes to list")

	var images []string
	for {
		if err := fs.Parse(args); err != nil {
			return f, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		images = append(images, fs.Arg(0))
		args = fs.Args()[1:]
	}

	if len(images) == 0 {
		fs.Usage()
		return f, nil, errors.New("no image given")
	}
	if f.top < 1 {
		return f, nil, fmt.Errorf("--top must be at least 1, got %d", f.top)
	}
	return f, images, nil
}

// runPredict is `dermq predict`.
func runPredict(ctx context.Context, args []string) error {
	f, images, err := parsePredictFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return &exitCodeError{code: exitOK}
	}
	if err != nil {
		return &exitCodeError{code: exitUsage, err: err}
	}

	model, err := findModel(f.model)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("creating output folder: %w", err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	engine, err := inference.NewEngine(inference.Options{
		ModelPath: model,
		TopK:      f.top,
		Logger:    logger,
	})
	if err != nil {
		return fmt.Errorf("loading model: %w", err)
	}
	defer engine.Close()
	if err := checkClass(f.class, engine.Manifest().Labels); err != nil {
		return &exitCodeError{code: exitUsage, err: err}
	}

	p := predictor{engine: engine, flags: f, stdout: os.Stdout, stderr: os.Stderr}
	return p.all(ctx, images)
}

// checkClass refuses a --class that names no class of the model, before
// any image is read. Labels lists the classes; an index is also accepted.
func checkClass(class string, labels []string) error {
	if class == "" || slices.Contains(labels, class) {
		return nil
	}
	i, err := strconv.Atoi(class)
	if err == nil && i >= 0 && (len(labels) == 0 || i < len(labels)) {
		return nil
	}
	if len(labels) == 0 {
		return fmt.Errorf("--class %q: give a class index (0 or more)", class)
	}
	return fmt.Errorf("--class %q is not a class of the model: use one of %s, or an "+
		"index from 0 to %d", class, strings.Join(labels, ", "), len(labels)-1)
}
