package jobs

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"testing"
)

// recordHandler keeps every log record.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *recordHandler) WithGroup(string) slog.Handler { return h }

func TestGuardReleaseDropsTheExecutablesPages(t *testing.T) {
	t.Parallel()

	logs := &recordHandler{}
	g, err := NewGuard(GuardConfig{Logger: slog.New(logs)})
	if err != nil {
		t.Fatalf("NewGuard: %v", err)
	}

	g.release()

	if len(logs.records) != 1 || logs.records[0].Message != "memory released" {
		t.Fatalf("logged %d records, want one \"memory released\"", len(logs.records))
	}
	var dropped uint64
	logs.records[0].Attrs(func(a slog.Attr) bool {
		if a.Key == "file_pages_bytes" {
			dropped = a.Value.Uint64()
		}
		return true
	})
	if dropped == 0 {
		t.Fatalf("the release dropped %d bytes of the test binary's pages, want some",
			dropped)
	}
}

func TestGuardDropsTheModelsLibraryOnlyOnceTheModelIsLoaded(t *testing.T) {
	t.Parallel()

	path := writeTempFile(t, "libmodel.so", bytes.Repeat([]byte{1}, 1<<20))
	touch(mapFile(t, path, syscall.PROT_READ))
	model := &fakeModel{library: path}
	g, err := NewGuard(GuardConfig{Model: model,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("NewGuard: %v", err)
	}

	g.release()
	if rss := residentIn(t, path); rss < 1<<20 {
		t.Fatalf("%d bytes of the library resident after a release before the model "+
			"loaded, want all %d", rss, 1<<20)
	}

	model.loaded.Store(true)
	g.release()
	if rss := residentIn(t, path); rss != 0 {
		t.Fatalf("%d bytes of the library resident after a release with the model "+
			"loaded, want none", rss)
	}
}
