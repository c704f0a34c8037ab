package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSubmitRefusesAFolderWithoutImages: a folder holding no image is an
// error that says so, and the server never hears of it.
func TestSubmitRefusesAFolderWithoutImages(t *testing.T) {
	t.Parallel()

	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "unexpected", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("no photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := submitConfig{Dir: dir, Server: srv.URL, Out: filepath.Join(t.TempDir(), "out"),
		Concurrency: 1}
	s, err := newSubmission(cfg, io.Discard, os.Stderr)
	if err != nil {
		t.Fatalf("newSubmission: %v", err)
	}
	defer s.close()

	err = s.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no images found") {
		t.Fatalf("run = %v, want an error saying no images were found", err)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("the server got %d requests, want none", n)
	}
}

// TestSubmitRefusesAFile: a file given for the folder is a usage error that
// says what to do instead.
func TestSubmitRefusesAFile(t *testing.T) {
	t.Parallel()

	file := filepath.Join(t.TempDir(), "photo.png")
	if err := os.WriteFile(file, []byte("\x89PNG"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := submitConfig{Dir: file, Server: "http://127.0.0.1:1",
		Out: filepath.Join(t.TempDir(), "out"), Concurrency: 1}
	_, err := newSubmission(cfg, io.Discard, os.Stderr)
	var coded *exitCodeError
	if !errors.As(err, &coded) || coded.code != exitUsage ||
		!strings.Contains(err.Error(), "takes a folder") {
		t.Fatalf("newSubmission = %v, want a usage error saying it takes a folder", err)
	}
}
