package inference

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
)

// Options configures an Engine.
type Options struct {
	// ModelPath is the ONNX model file, NAME.onnx; its manifest NAME.json
	// sits beside it. Required.
	ModelPath string
	// LibraryPath is the ONNX Runtime shared library. Defaults to what
	// FindLibrary finds ($DERMQ_ORT_LIBRARY, the cache, system paths).
	LibraryPath string
	// IntraOpThreads is the number of threads one inference may use.
	// Defaults to runtime.NumCPU().
	IntraOpThreads int
	// CPUArena turns ONNX Runtime's CPU memory arena on or off. The arena
	// makes repeated runs faster but keeps its peak memory until Unload.
	// Defaults to true (on) when nil.
	CPUArena *bool
	// AllowSpinning lets idle intra-op threads spin for work instead of
	// sleeping, trading CPU time for a little latency. Defaults to false.
	AllowSpinning bool
	// MaxPixels is the largest width*height an image may declare; larger
	// images are refused before they are decoded. Defaults to 50e6.
	MaxPixels int
	// DisplaySize caps the longest side of the heatmap and display images.
	// Defaults to 1024.
	DisplaySize int
	// TopK is how many classes a Result lists. Defaults to 5.
	TopK int
	// Logger receives the engine's logs. Defaults to a logger that
	// discards everything.
	Logger *slog.Logger
}

// Option defaults; DefaultMaxPixels is the image decoder's.
const (
	DefaultDisplaySize = 1024
	DefaultTopK        = 5
)

// withDefaults returns a copy of o with every unset field at its default.
func (o Options) withDefaults() Options {
	if o.IntraOpThreads == 0 {
		o.IntraOpThreads = runtime.NumCPU()
	}
	if o.CPUArena == nil {
		on := true
		o.CPUArena = &on
	}
	if o.MaxPixels == 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.DisplaySize == 0 {
		o.DisplaySize = DefaultDisplaySize
	}
	if o.TopK == 0 {
		o.TopK = DefaultTopK
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// validate checks options after defaults are filled.
func (o Options) validate() error {
	switch {
	case o.ModelPath == "":
		return errors.New("Options.ModelPath is empty: name a NAME.onnx model file")
	case o.IntraOpThreads < 0:
		return fmt.Errorf("Options.IntraOpThreads is %d: want 0 (all CPUs) or more",
			o.IntraOpThreads)
	case o.MaxPixels < 0:
		return fmt.Errorf("Options.MaxPixels is %d: want a positive number", o.MaxPixels)
	case o.DisplaySize < 0:
		return fmt.Errorf("Options.DisplaySize is %d: want a positive number", o.DisplaySize)
	case o.TopK < 0:
		return fmt.Errorf("Options.TopK is %d: want a positive number", o.TopK)
	}
	return nil
}
