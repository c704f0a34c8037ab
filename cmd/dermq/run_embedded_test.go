package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// postPhoto uploads one photo to a running dermq, fails unless it is
// accepted and returns the prediction's ID.
func postPhoto(t *testing.T, base string, photo []byte) string {
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
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload status = %d, want 202", resp.StatusCode)
	}

	var accepted struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&accepted); err != nil || accepted.ID == "" {
		t.Fatalf("reading the accepted prediction: %v (id %q)", err, accepted.ID)
	}
	return accepted.ID
}

func TestRunWarnsHowManyPredictionsTheEmbeddedRedisDrops(t *testing.T) {
	t.Parallel()

	port := freePort(t)
	// A long poll keeps the uploads queued. asynq sleeps between polls and
	// finishes the sleep before it stops, so not an hour.
	cmd := exec.Command(dermqTestBinary(t), "run", "--poll-interval", "5s")
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
	// The worker may have taken the first upload before it went to sleep;
	// the others wait in the queue.
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

func TestRunEmbeddedRedisForgetsPredictionsAfterTheRetention(t *testing.T) {
	t.Parallel()

	const retention = 8 * time.Second
	port := freePort(t)
	cmd := exec.Command(dermqTestBinary(t), "run", "--retention", retention.String())
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "REDIS_URL=", "PORT="+port, "DERMQ_LOG_FORMAT=json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("piping stderr: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dermq run: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	log := &logEvents{changed: make(chan struct{}, 1)}
	go log.follow(stderr)

	log.waitFor(t, "worker started", 1)
	base := "http://127.0.0.1:" + port
	id := postPhoto(t, base, readPhoto(t))
	api := base + "/api/v1/predictions/" + id
	waitStatus(t, api, http.StatusOK, `"status":"succeeded"`, time.Minute)
	if got := httpStatus(t, api+"/heatmap.png"); got != http.StatusOK {
		t.Fatalf("heatmap status right after success = %d, want 200", got)
	}

	finished := time.Now()
	waitStatus(t, api, http.StatusNotFound, "", retention+20*time.Second)
	if kept := time.Since(finished); kept < retention/2 {
		t.Fatalf("the record went after %v, well before the %v retention", kept, retention)
	}
	if got := httpStatus(t, api+"/heatmap.png"); got != http.StatusNotFound {
		t.Fatalf("heatmap status after the retention = %d, want 404", got)
	}
}

// waitStatus polls url until it answers status with a body containing
// want, and fails after limit.
func waitStatus(t *testing.T, url string, status int, want string, limit time.Duration) {
	t.Helper()

	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("reading %s: %v", url, err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == status && strings.Contains(body.String(), want) {
			return
		}

		last = fmt.Sprintf("%d %s", resp.StatusCode, body.String())
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %d %q within %v; last: %s", url, status, want, limit, last)
}

// httpStatus returns the status GET url answers.
func httpStatus(t *testing.T, url string) int {
	t.Helper()

	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
