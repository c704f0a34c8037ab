package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dermq/dermq/inference"
	"github.com/shirou/gopsutil/v4/process"
)

// predictor runs `dermq predict` over a list of images.
type predictor struct {
	engine *inference.Engine
	flags  predictFlags
	stdout io.Writer
	stderr io.Writer
}

// prediction is what `dermq predict` reports for one image; with --json it
// is printed as is.
type prediction struct {
	Image        string              `json:"image"`
	Model        inference.ModelInfo `json:"model"`
	Top          []inference.Class   `json:"top"`
	Class        inference.Class     `json:"class"`
	CAM          [][]float32         `json:"cam"`
	GradCAMError string              `json:"gradcam_error,omitempty"`
	Heatmap      string              `json:"heatmap,omitempty"`
	Timings      inference.Timings   `json:"timings_ms"`
	RSSBytes     uint64              `json:"rss_bytes"`
}

// failure is what `dermq predict --json` prints for an image that failed.
type failure struct {
	Image string `json:"image"`
	Error string `json:"error"`
}

// all predicts every image; it returns an error when any of them failed.
func (p predictor) all(ctx context.Context, images []string) error {
	names := heatmapNames(images)
	failed := 0
	for _, path := range images {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := p.one(ctx, path, names[filepath.Clean(path)]); err != nil {
			failed++
			p.report(path, err)
		}
	}

	if failed > 0 {
		err := fmt.Errorf("%d of %d images failed", failed, len(images))
		return &exitCodeError{code: exitError, err: err}
	}
	return nil
}

// one predicts one image, writes its heatmap to heatmap in the output
// folder and prints the result.
func (p predictor) one(ctx context.Context, path, heatmap string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading image: %w", err)
	}

	res, err := p.engine.Predict(ctx, data, inference.Request{Class: p.flags.class})
	if err != nil {
		return err
	}

	out := prediction{
		Image: path, Model: res.Model, Top: res.Top, Class: res.Class,
		CAM: res.CAM, GradCAMError: res.GradCAMError, Timings: res.Timings,
	}
	if res.Heatmap != nil {
		out.Heatmap = filepath.Join(p.flags.out, heatmap)
		if err := os.WriteFile(out.Heatmap, res.Heatmap, 0o644); err != nil {
			return fmt.Errorf("writing heatmap: %w", err)
		}
	}
	out.RSSBytes = rss()

	if p.flags.json {
		return json.NewEncoder(p.stdout).Encode(out)
	}
	printPrediction(p.stdout, out)
	return nil
}

// report tells the user that one image failed.
func (p predictor) report(path string, err error) {
	if p.flags.json {
		if encErr := json.NewEncoder(p.stdout).Encode(failure{path, err.Error()}); encErr == nil {
			return
		}
	}
	fmt.Fprintf(p.stderr, "%s: %v\n", path, err)
}

// heatmapNames gives each image, by its cleaned path, the file name of its
// heatmap. In argument order, photo.jpg gets photo.heatmap.png unless an
// earlier image took that name; then it gets photo-2.heatmap.png,
// photo-3.heatmap.png and so on. The same path given twice keeps one name.
func heatmapNames(images []string) map[string]string {
	names := make(map[string]string, len(images))
	taken := make(map[string]bool, len(images))
	for _, path := range images {
		path = filepath.Clean(path)
		if _, ok := names[path]; ok {
			continue
		}
		base := filepath.Base(path)
		stem := strings.TrimSuffix(base, filepath.Ext(base))
		name := stem + ".heatmap.png"
		for n := 2; taken[name]; n++ {
			name = fmt.Sprintf("%s-%d.heatmap.png", stem, n)
		}
		taken[name] = true
		names[path] = name
	}
	return names
}

// rss returns this process's resident set size in bytes, or 0 when the
// system does not say.
func rss() uint64 {
	proc, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		return 0
	}
	mem, err := proc.MemoryInfo()
	if err != nil {
		return 0
	}
	return mem.RSS
}

// printPrediction writes one result for a person to read.
func printPrediction(w io.Writer, r prediction) {
	fmt.Fprintf(w, "%s\n  model    %s v%s\n", r.Image, r.Model.Name, r.Model.Version)
	for i, c := range r.Top {
		fmt.Fprintf(w, "  %d. %-10s %.4f", i+1, c.Label, c.Probability)
		if c.Name != "" {
			fmt.Fprintf(w, "  %s", c.Name)
		}
		fmt.Fprintln(w)
	}

	if r.GradCAMError != "" {
		fmt.Fprintf(w, "  grad-cam unavailable: %s\n", r.GradCAMError)
	} else {
		fmt.Fprintf(w, "  grad-cam for %s (%dx%d):\n", r.Class.Label, len(r.CAM[0]), len(r.CAM))
		for _, row := range r.CAM {
			fmt.Fprint(w, "   ")
			for _, v := range row {
				fmt.Fprintf(w, " %.2f", v)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "  heatmap  %s\n", r.Heatmap)
	}

	t := r.Timings
	fmt.Fprintf(w, "  timings  decode %.1f ms, inference %.1f ms, grad-cam %.1f ms, "+
		"render %.1f ms\n", t.DecodeMS, t.InferenceMS, t.GradCAMMS, t.RenderMS)
	fmt.Fprintf(w, "  rss      %.1f MiB\n", float64(r.RSSBytes)/(1<<20))
}
