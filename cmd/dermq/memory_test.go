package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dermq/dermq/inference"
	"github.com/dermq/dermq/jobs"
	"github.com/redis/go-redis/v9"
	"github.com/shirou/gopsutil/v4/process"
)

// These tests run the real dermq worker (built with the dermqtest tag, which
// only adds the crash hook of jobs/crashhook_dermqtest.go) against real
// Redis and the real ONNX Runtime with the demo model. Each test has a Redis
// database of its own.

// memoryTestTimeout bounds every wait of these tests.
const memoryTestTimeout = 3 * time.Minute

var (
	testBinaryOnce sync.Once
	testBinary     string
	testBinaryErr  error
)

// dermqTestBinary builds dermq with the crash hook once for all tests.
func dermqTestBinary(t *testing.T) string {
	t.Helper()

	testBinaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dermq-memory-test")
		if err != nil {
			testBinaryErr = err
			return
		}
		testBinary = filepath.Join(dir, "dermq")
		out, err := exec.Command("go", "build", "-tags", "dermqtest", "-o", testBinary, ".").
			CombinedOutput()
		if err != nil {
			testBinaryErr = fmt.Errorf("building dermq: %w\n%s", err, out)
		}
	})
	if testBinaryErr != nil {
		t.Fatal(testBinaryErr)
	}
	return testBinary
}

// removeTestBinary deletes the binary dermqTestBinary built, if any; TestMain
// calls it once every test is done.
func removeTestBinary() {
	if testBinary != "" {
		_ = os.RemoveAll(filepath.Dir(testBinary))
	}
}

// needOrOut fails the test in CI and skips it elsewhere.
func needOrOut(t *testing.T, format string, args ...any) {
	t.Helper()

	if os.Getenv("CI") != "" {
		t.Fatalf(format+" (required in CI)", args...)
	}
	t.Skipf(format, args...)
}

// memoryRedis returns the URL and a client of a flushed Redis database.
func memoryRedis(t *testing.T, db int) (string, *redis.Client) {
	t.Helper()

	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://localhost:6379"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parsing REDIS_URL: %v", err)
	}
	opts.DB = db
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		needOrOut(t, "redis at %s unreachable: %v", opts.Addr, err)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("flushing database %d: %v", db, err)
	}

	base := strings.TrimRight(strings.SplitN(url, "?", 2)[0], "/")
	if i := strings.LastIndex(base, "/"); i > len("redis://") {
		base = base[:i]
	}
	return fmt.Sprintf("%s/%d", base, db), rdb
}

// logEvents collects the JSON log lines of the supervisor and its workers.
type logEvents struct {
	mu      sync.Mutex
	events  []map[string]any
	changed chan struct{}
}

func (l *logEvents) follow(r io.Reader) {
	lines := bufio.NewScanner(r)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		var e map[string]any
		if json.Unmarshal(lines.Bytes(), &e) != nil {
			continue
		}

		l.mu.Lock()
		l.events = append(l.events, e)
		l.mu.Unlock()
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}
}

// matching returns the events whose message is msg.
func (l *logEvents) matching(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()

	var out []map[string]any
	for _, e := range l.events {
		if e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// lastErrors returns up to n of the last events logged at level ERROR.
func (l *logEvents) lastErrors(n int) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()

	var out []map[string]any
	for i := len(l.events) - 1; i >= 0 && len(out) < n; i-- {
		if l.events[i]["level"] == "ERROR" {
			out = append(out, l.events[i])
		}
	}
	return out
}

// waitFor waits until at least n events say msg and returns them.
func (l *logEvents) waitFor(t *testing.T, msg string, n int) []map[string]any {
	t.Helper()

	deadline := time.After(memoryTestTimeout)
	for {
		if got := l.matching(msg); len(got) >= n {
			return got
		}
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("waited for %d log lines %q, saw %d", n, msg, len(l.matching(msg)))
		}
	}
}

// memoryWorld is one test's Redis database, enqueuer and supervised worker.
type memoryWorld struct {
	url   string
	enq   *jobs.Enqueuer
	store *jobs.Store
	log   *logEvents
	crash string
	hog   string
}

func newMemoryWorld(t *testing.T, db int) *memoryWorld {
	t.Helper()

	if _, err := inference.FindLibrary(""); err != nil {
		needOrOut(t, "no ONNX Runtime library: %v", err)
	}
	url, rdb := memoryRedis(t, db)
	store := jobs.NewStore(rdb, jobs.StoreConfig{Retention: time.Hour})
	return &memoryWorld{
		url:   url,
		store: store,
		enq:   jobs.NewEnqueuer(rdb, store, jobs.EnqueuerConfig{}),
		log:   &logEvents{changed: make(chan struct{}, 1)},
		crash: filepath.Join(t.TempDir(), "crash"),
		hog:   filepath.Join(t.TempDir(), "hog"),
	}
}

// startWorker runs `dermq worker` (supervised) with extra settings, and
// stops it with SIGTERM when the test ends.
func (w *memoryWorld) startWorker(t *testing.T, env ...string) {
	t.Helper()

	cmd := w.runWorker(t, []string{"worker"}, env...)
	t.Cleanup(func() { stopWorker(t, cmd, w.log) })
}

// runWorker starts dermq with args and extra settings on the world's Redis
// and crash file, its log followed, and returns it.
func (w *memoryWorld) runWorker(t *testing.T, args []string, env ...string) *exec.Cmd {
	t.Helper()

	cmd := exec.Command(dermqTestBinary(t), args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "REDIS_URL="+w.url, "DERMQ_LOG_FORMAT=json",
		"DERMQ_MODEL=models/demo.onnx", "DERMQ_TEST_CRASH_FILE="+w.crash,
		"DERMQ_TEST_HOG_FILE="+w.hog)
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("piping worker stderr: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting worker: %v", err)
	}
	go w.log.follow(stderr)
	return cmd
}

// stopWorker sends SIGTERM and expects a clean exit; a failure shows the
// supervisor's and workers' last error lines.
func stopWorker(t *testing.T, cmd *exec.Cmd, log *logEvents) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	select {
	case err := <-done:
		if err != nil {
			t.Errorf("worker supervisor exited with %v; last errors: %v", err,
				log.lastErrors(5))
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Errorf("worker supervisor did not stop within a minute of SIGTERM")
	}
}

// submit queues every image and returns the prediction ids.
func (w *memoryWorld) submit(t *testing.T, images []string) []string {
	t.Helper()

	ids := make([]string, 0, len(images))
	for _, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		p, err := w.enq.Submit(context.Background(), jobs.Submission{
			Upload: data,
			Input:  jobs.Input{Format: "jpeg", Bytes: len(data)},
		})
		if err != nil {
			t.Fatalf("submitting %s: %v", path, err)
		}
		ids = append(ids, p.ID)
	}
	return ids
}

// crashOn makes the next times attempts at id kill their worker.
func (w *memoryWorld) crashOn(t *testing.T, id string, times int) {
	t.Helper()
	writeHookFile(t, w.crash, id, times)
}

// hogOn makes the next times attempts at id hold 256 MB until stopped.
func (w *memoryWorld) hogOn(t *testing.T, id string, times int) {
	t.Helper()
	writeHookFile(t, w.hog, id, times)
}

// writeHookFile lists id times in a test hook's file.
func writeHookFile(t *testing.T, path, id string, times int) {
	t.Helper()

	lines := strings.Repeat(id+"\n", times)
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}

// await polls until prediction id reaches a terminal status.
func (w *memoryWorld) await(t *testing.T, id string) *jobs.Prediction {
	t.Helper()

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(memoryTestTimeout)
	for {
		p, err := w.store.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("reading prediction %s: %v", id, err)
		}
		if p.Status.Terminal() {
			return p
		}

		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("prediction %s still %s after %s", id, p.Status, memoryTestTimeout)
		}
	}
}

// awaitSucceeded waits for every prediction and fails unless all succeeded.
func (w *memoryWorld) awaitSucceeded(t *testing.T, ids []string) []*jobs.Prediction {
	t.Helper()

	out := make([]*jobs.Prediction, 0, len(ids))
	for _, id := range ids {
		p := w.await(t, id)
		if p.Status != jobs.StatusSucceeded {
			t.Fatalf("prediction %s ended %s: %+v", id, p.Status, p.Error)
		}
		out = append(out, p)
	}
	return out
}

// testPhotos returns n photos from the shared test data, cycling through
// the small ones.
func testPhotos(t testing.TB, n int) []string {
	t.Helper()

	var small []string
	for _, path := range filesIn(t, filepath.Join(repoRoot(t), "..", "shared", "data", "images")) {
		if info, err := os.Stat(path); err == nil && info.Size() < 300<<10 {
			small = append(small, path)
		}
	}
	if len(small) == 0 {
		t.Fatalf("no small photos in the shared test data")
	}

	photos := make([]string, n)
	for i := range photos {
		photos[i] = small[i%len(small)]
	}
	return photos
}

// processRSS reads the resident memory of process pid.
func processRSS(t *testing.T, pid int) uint64 {
	t.Helper()

	proc, err := process.NewProcess(int32(pid))
	if err != nil {
		t.Fatalf("finding process %d: %v", pid, err)
	}
	info, err := proc.MemoryInfo()
	if err != nil {
		t.Fatalf("reading the memory of process %d: %v", pid, err)
	}
	return info.RSS
}

func number(e map[string]any, key string) float64 {
	n, _ := e[key].(float64)
	return n
}

func TestWorkerRecyclesPastMaxRSSWithoutLosingJobs(t *testing.T) {
	t.Parallel()

	w := newMemoryWorld(t, 1)
	ids := w.submit(t, testPhotos(t, 20))
	// Under what the demo model's session alone holds, so that every job ends
	// past it even after the guard hands memory back.
	w.startWorker(t, "DERMQ_MAX_RSS=10MB")

	for _, p := range w.awaitSucceeded(t, ids) {
		if p.Attempts != 1 {
			t.Fatalf("prediction %s took %d attempts, want 1: a recycle interrupted it",
				p.ID, p.Attempts)
		}
	}
	recycles := w.log.waitFor(t, "memory past the limit, recycling after this job", 2)
	for _, e := range recycles {
		if number(e, "rss_bytes") <= number(e, "limit_bytes") {
			t.Fatalf("recycle decision without its figures: %v", e)
		}
	}
	w.log.waitFor(t, "worker recycled, starting a fresh one", 2)
	t.Logf("20 predictions succeeded across %d recycles", len(recycles))
}

func TestWorkerKilledDuringAJobIsRestartedAndTheJobSucceeds(t *testing.T) {
	t.Parallel()

	w := newMemoryWorld(t, 2)
	ids := w.submit(t, testPhotos(t, 1))
	w.crashOn(t, ids[0], 1)
	w.startWorker(t)

	p := w.awaitSucceeded(t, ids)[0]
	if p.Attempts != 2 {
		t.Fatalf("prediction took %d attempts, want 2 (one killed, one done)", p.Attempts)
	}
	died := w.log.waitFor(t, "worker died", 1)[0]
	if died["status"] != "killed by signal killed" {
		t.Fatalf("supervisor reported %v, want the SIGKILL", died["status"])
	}
	released := w.log.waitFor(t, "released a dead worker's job", 1)[0]
	if released["task_id"] != ids[0] {
		t.Fatalf("released %v, want %s", released["task_id"], ids[0])
	}
}

func TestIdleUnloadBringsMemoryBackDown(t *testing.T) {
	t.Parallel()

	w := newMemoryWorld(t, 3)
	ids := w.submit(t, testPhotos(t, 1))
	w.startWorker(t, "DERMQ_IDLE_UNLOAD=3s")

	w.awaitSucceeded(t, ids)
	// The loaded worker's memory is what its guard reads as it decides to
	// recycle: a reading of our own right after the job could fall just
	// after the worker's idle release, before it faults its code back in.
	idle := w.log.waitFor(t, "idle, recycling to release the model", 1)[0]
	loaded := uint64(number(idle, "rss_bytes"))
	fresh := w.log.waitFor(t, "worker process started", 2)[1]
	w.log.waitFor(t, "worker started", 2)
	empty := processRSS(t, int(number(fresh, "pid")))

	t.Logf("rss with the model loaded %d MB, fresh worker %d MB", loaded>>20, empty>>20)
	if empty >= loaded || empty >= 40*jobs.MB {
		t.Fatalf("fresh worker holds %d MB, want under 40 MB and under the loaded %d MB",
			empty>>20, loaded>>20)
	}
}

func TestMaxJobsRecyclesWithJitterAndKeepsEveryResult(t *testing.T) {
	t.Parallel()

	w := newMemoryWorld(t, 4)
	ids := w.submit(t, testPhotos(t, 12))
	w.startWorker(t, "DERMQ_MAX_JOBS=5")

	w.awaitSucceeded(t, ids)
	limits := w.log.waitFor(t, "job limit reached, recycling", 2)
	for _, e := range limits {
		if n := number(e, "limit_jobs"); n < 4 || n > 6 || n == 5 {
			t.Fatalf("jittered job limit %v, want 4 or 6", n)
		}
	}
	w.log.waitFor(t, "worker recycled, starting a fresh one", 2)
}

func TestAJobThatAlwaysKillsItsWorkerEndsFailed(t *testing.T) {
	t.Parallel()

	w := newMemoryWorld(t, 5)
	ids := w.submit(t, testPhotos(t, 2))
	w.crashOn(t, ids[0], 10)
	w.startWorker(t)

	p := w.await(t, ids[0])
	if p.Status != jobs.StatusFailed || p.Error == nil || p.Error.Code != jobs.CodeWorkerCrashed {
		t.Fatalf("prediction ended %s with %+v, want failed with %s",
			p.Status, p.Error, jobs.CodeWorkerCrashed)
	}
	if want := jobs.CrashMessage(jobs.CrashLimit); p.Error.Message != want {
		t.Fatalf("message = %q, want %q", p.Error.Message, want)
	}
	if deaths := len(w.log.matching("worker died")); deaths != jobs.CrashLimit {
		t.Fatalf("worker died %d times, want %d", deaths, jobs.CrashLimit)
	}
	w.awaitSucceeded(t, ids[1:])
}

// TestAJobPastTheHardLimitIsStoppedAndRetried runs a real worker whose job
// holds memory past --hard-rss (a test hook standing in for an image too
// large for the host): the guard stops the job, the worker recycles, and the
// job succeeds on its second attempt in the fresh worker.
func TestAJobPastTheHardLimitIsStoppedAndRetried(t *testing.T) {
	t.Parallel()

	w := newMemoryWorld(t, 0)
	ids := w.submit(t, testPhotos(t, 1))
	w.hogOn(t, ids[0], 1)
	w.startWorker(t, "DERMQ_MAX_RSS=150MB", "DERMQ_HARD_RSS=200MB")

	p := w.awaitSucceeded(t, ids)[0]
	if p.Attempts != 2 {
		t.Fatalf("prediction took %d attempts, want 2 (one stopped, one done)", p.Attempts)
	}
	stop := w.log.waitFor(t, "memory past the hard limit, stopping the job", 1)[0]
	if stop["task_id"] != ids[0] || number(stop, "rss_bytes") <= number(stop, "limit_bytes") {
		t.Fatalf("hard-limit decision %v, want task %s with its figures", stop, ids[0])
	}
	w.log.waitFor(t, "recycling after a job stopped at the hard memory limit", 1)
	w.log.waitFor(t, "worker recycled, starting a fresh one", 1)
}
