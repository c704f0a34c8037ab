package main

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// postPhoto uploads one photo to a running dermq and fails unless it is
// accepted.
func postPhoto(t *testing.T, base string, photo []byte) {
	t.Helper()

	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, err := form.CreateFormFile("image", "photo.jpg")
	if err != nil {
		t.Fatalf("building the form: %v", err)
	}
	if _, err := part.Write(photo); err != nil {
		t.Fatalf("building the form: %v", err)
	}
	form.Close()

	resp, err := http.Post(base+"/api/v1/predictions", form.FormDataContentType(), &body)
	if err != nil {
		t.Fatalf("uploading: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload status = %d, want 202", resp.StatusCode)
	}
}

func TestRunWarnsHowManyPredictionsTheEmbeddedRedisDrops(t *testing.T) {
	t.Parallel()

	port := freePort(t)
	cmd := exec.Command(dermqTestBinary(t), "run", "--poll-interval", "1h")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "REDIS_URL=", "PORT="+port, "DERMQ_LOG_FORMAT=json")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("piping stderr: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dermq run: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	log := &logEvents{changed: make(chan struct{}, 1)}
	go log.follow(stderr)

	log.waitFor(t, "worker started", 1)
	photo := readPhoto(t)
	for range 3 {
		postPhoto(t, "http://127.0.0.1:"+port, photo)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stopping dermq run: %v", err)
	}

	warned := log.waitFor(t, "embedded redis stopped: queued and running predictions are lost", 1)
	// The worker may have taken the first upload before it went to sleep
	// for an hour; the others wait in the queue.
	if got := number(warned[0], "dropped"); got < 1 || got > 3 {
		t.Fatalf("dropped = %v, want 1 to 3 of the 3 uploads", got)
	}
	if !strings.Contains(stdout.String(), "keeps nothing across restarts") {
		t.Fatalf("the start-up banner does not say the embedded Redis keeps nothing:\n%s",
			stdout.String())
	}
}

// readPhoto returns one real photo of the shared test data.
func readPhoto(t *testing.T) []byte {
	t.Helper()

	photos := testPhotos(t, 1)
	data, err := os.ReadFile(photos[0])
	if err != nil {
		t.Fatalf("reading %s: %v", photos[0], err)
	}
	return data
}
