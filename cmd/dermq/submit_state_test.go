package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSubmitState(t *testing.T) {
	t.Parallel()

	t.Run("records survive a reopen", func(t *testing.T) {
		t.Parallel()

		out := newTestOutput(t)
		st := mustOpenState(t, out)
		records := []stateRecord{
			{Kind: "batch", Batch: "b1", Server: "http://x", Dir: "/d"},
			{Kind: "item", Path: "a.jpg", ID: "p1", Status: "starting"},
			{Kind: "item", Path: "b.jpg", Status: "failed", Error: "too large"},
		}
		for _, rec := range records {
			if err := st.record(rec); err != nil {
				t.Fatalf("record: %v", err)
			}
		}
		st.Close()

		again := mustOpenState(t, out)
		if h := again.batch(); h == nil || h.Batch != "b1" {
			t.Fatalf("batch() = %+v, want b1", h)
		}
		if rec, ok := again.item("a.jpg"); !ok || rec.ID != "p1" {
			t.Fatalf("item(a.jpg) = %+v, %v; want id p1", rec, ok)
		}
		if rec, ok := again.item("b.jpg"); !ok || rec.Error != "too large" {
			t.Fatalf("item(b.jpg) = %+v, %v; want its error", rec, ok)
		}
	})

	t.Run("a torn last line is cut off and appending goes on after it", func(t *testing.T) {
		t.Parallel()

		out := newTestOutput(t)
		torn := `{"kind":"batch","batch":"b1"}` + "\n" + `{"kind":"item","path":"a.j`
		if err := out.root.WriteFile(stateFileName, []byte(torn), 0o644); err != nil {
			t.Fatalf("writing state: %v", err)
		}

		st := mustOpenState(t, out)
		if _, ok := st.item("a.jpg"); ok {
			t.Fatalf("torn record was taken")
		}
		if err := st.record(stateRecord{Kind: "item", Path: "c.jpg", ID: "p3"}); err != nil {
			t.Fatalf("record: %v", err)
		}
		st.Close()

		again := mustOpenState(t, out)
		if rec, ok := again.item("c.jpg"); !ok || rec.ID != "p3" {
			t.Fatalf("item(c.jpg) = %+v, %v; want id p3", rec, ok)
		}
	})

	t.Run("a symlinked state file is refused", func(t *testing.T) {
		t.Parallel()

		out := newTestOutput(t)
		target := filepath.Join(t.TempDir(), "elsewhere.jsonl")
		if err := os.Symlink(target, filepath.Join(out.root.Name(), stateFileName)); err != nil {
			t.Fatalf("linking: %v", err)
		}

		if _, err := openState(out); err == nil {
			t.Fatalf("openState through a symlink succeeded")
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Fatalf("the link's target was created: %v", err)
		}
	})
}

// newTestOutput opens an empty output folder.
func newTestOutput(t *testing.T) *outputDir {
	t.Helper()

	out, err := openOutputDir(t.TempDir())
	if err != nil {
		t.Fatalf("opening output: %v", err)
	}
	t.Cleanup(func() { out.Close() })

	return out
}

// mustOpenState opens the state file of out.
func mustOpenState(t *testing.T, out *outputDir) *submitState {
	t.Helper()

	st, err := openState(out)
	if err != nil {
		t.Fatalf("openState: %v", err)
	}
	t.Cleanup(func() { st.Close() })

	return st
}
