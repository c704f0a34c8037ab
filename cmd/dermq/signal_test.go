package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// stuckDrainEnv makes the test binary, run again as a child, play a
// command whose graceful stop never ends.
const stuckDrainEnv = "DERMQ_TEST_STUCK_DRAIN"

func TestHelperStuckDrain(t *testing.T) {
	if os.Getenv(stuckDrainEnv) == "" {
		t.Skip("runs only as the child of TestASecondSignalForcesTheExit")
	}

	ctx, stop := stopSignals()
	defer stop()
	fmt.Println("ready")
	<-ctx.Done()
	fmt.Println("draining")
	select {}
}

func TestASecondSignalForcesTheExit(t *testing.T) {
	t.Parallel()

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()

			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStuckDrain$")
			cmd.Env = append(os.Environ(), stuckDrainEnv+"=1")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatalf("piping the child's output: %v", err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatalf("starting the child: %v", err)
			}
			lines := bufio.NewScanner(out)

			awaitLine(t, lines, "ready")
			signalChild(t, cmd, sig)
			awaitLine(t, lines, "draining")
			signalChild(t, cmd, sig)

			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case <-waited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("the child still ran 10 s after the second %s", sig)
			}
			if got := killedBy(cmd.ProcessState); got != sig {
				t.Fatalf("child ended with %s, want killed by %s", cmd.ProcessState, sig)
			}
		})
	}
}

// awaitLine reads lines until want, failing the test when the output ends.
func awaitLine(t *testing.T, lines *bufio.Scanner, want string) {
	t.Helper()

	for lines.Scan() {
		if lines.Text() == want {
			return
		}
	}
	t.Fatalf("the child's output ended before %q", want)
}

func signalChild(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) {
	t.Helper()

	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %s: %v", sig, err)
	}
}

// killedBy returns the signal that ended state's process, or 0.
func killedBy(state *os.ProcessState) syscall.Signal {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return 0
}
