package jobs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// JobReportFDEnv names the environment variable through which a supervisor
// tells its worker the file descriptor to report job starts and ends on.
const JobReportFDEnv = "DERMQ_JOB_REPORT_FD"

// JobReports returns the writer a supervised worker reports its jobs on, or
// nil when the worker runs unsupervised.
func JobReports() io.Writer {
	fd, err := strconv.Atoi(os.Getenv(JobReportFDEnv))
	if err != nil || fd < 3 {
		return nil
	}
	return os.NewFile(uintptr(fd), "job-reports")
}

// JobRef names one asynq task.
type JobRef struct {
	Queue string
	ID    string
}

// heldJobs tracks the jobs a worker reported as started and not yet ended.
type heldJobs struct {
	mu   sync.Mutex
	jobs map[JobRef]bool
	done chan struct{}
}

// readJobReports follows the report lines on r until it ends.
func readJobReports(r io.Reader) *heldJobs {
	h := &heldJobs{jobs: map[JobRef]bool{}, done: make(chan struct{})}

	go func() {
		defer close(h.done)
		lines := bufio.NewScanner(r)
		for lines.Scan() {
			h.apply(lines.Text())
		}
	}()
	return h
}

// apply records one "start QUEUE ID" or "end QUEUE ID" line.
func (h *heldJobs) apply(line string) {
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return
	}

	h.mu.Lock()
	defer h.mu.Unlock()

	ref := JobRef{Queue: fields[1], ID: fields[2]}
	switch fields[0] {
	case "start":
		h.jobs[ref] = true
	case "end":
		delete(h.jobs, ref)
	}
}

// held waits for the reports to end (for at most a second: a grandchild
// may hold the pipe open) and returns the jobs still held.
func (h *heldJobs) held() []JobRef {
	select {
	case <-h.done:
	case <-time.After(time.Second):
	}

	h.mu.Lock()
	defer h.mu.Unlock()

	refs := make([]JobRef, 0, len(h.jobs))
	for ref := range h.jobs {
		refs = append(refs, ref)
	}
	return refs
}

// ReleaseLease lets asynq hand out at once a task whose worker died. asynq
// gives a running task a 30 s lease that its worker keeps extending; when
// the worker dies, a recovery sweep (every minute, and when a worker starts)
// retries tasks whose lease ran out more than 30 s ago. Backdating the lease
// makes the next worker's start-up sweep retry the task, so a supervised
// crash costs seconds instead of one to two minutes. It writes asynq's lease
// key (layout of asynq v0.26) and only if the task still holds a lease; were
// the layout to change, the task would still be recovered by the sweep.
func ReleaseLease(ctx context.Context, rdb redis.UniversalClient, job JobRef) error {
	key := "asynq:{" + job.Queue + "}:lease"
	past := float64(time.Now().Add(-2 * time.Minute).Unix())

	err := rdb.ZAddXX(ctx, key, redis.Z{Score: past, Member: job.ID}).Err()
	if err != nil {
		return fmt.Errorf("releasing the lease of task %s: %w", job.ID, err)
	}
	return nil
}
