package main

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// startUnsupervised runs `dermq worker --no-supervise`, as Render does, and
// returns it; the test waits for it or stops it.
func (w *memoryWorld) startUnsupervised(t *testing.T) *exec.Cmd {
	t.Helper()

	return w.runWorker(t, []string{"worker", "--no-supervise"})
}

// TestAnUnsupervisedWorkerKilledDuringAJobLosesNothing is the platform's
// case: no supervisor releases the dead worker's job, so the job waits for
// asynq's lease to run out (30 s) and its recovery sweep (every minute),
// then the worker the platform started in the meantime completes it.
func TestAnUnsupervisedWorkerKilledDuringAJobLosesNothing(t *testing.T) {
	t.Parallel()

	w := newMemoryWorld(t, 6)
	ids := w.submit(t, testPhotos(t, 1))
	w.crashOn(t, ids[0], 1)

	first := w.startUnsupervised(t)
	err := waitExit(t, first, memoryTestTimeout)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || killedBy(exit.ProcessState) != syscall.SIGKILL {
		t.Fatalf("first worker ended with %v, want killed by SIGKILL", err)
	}

	second := w.startUnsupervised(t)
	t.Cleanup(func() { stopWorker(t, second, w.log) })
	p := w.awaitSucceeded(t, ids)[0]
	if p.Attempts != 2 {
		t.Fatalf("prediction took %d attempts, want 2 (one killed, one done)", p.Attempts)
	}
}

// waitExit waits for cmd to end, killing it and failing the test when it
// is still running after limit.
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) error {
	t.Helper()

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("worker still running %s after it was due to be killed", limit)
		return nil
	}
}
