package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disintegration/imaging"
)

// rssClients is how many clients upload at once in BenchmarkWebUploadRSS.
const rssClients = 50

// BenchmarkWebUploadRSS measures the peak resident memory of a real
// `dermq web` process while 50 clients upload a 5 MB photo each at once.
func BenchmarkWebUploadRSS(b *testing.B) {
	rdb := integrationRedis(b)
	photo := fiveMBPhoto(b)
	web := startWebProcess(b, rdb.Options().Addr)
	idle := vmKB(b, web.pid, "VmRSS")

	for b.Loop() {
		uploadAtOnce(b, web.base, photo)
		b.StopTimer()
		if err := rdb.FlushDB(context.Background()).Err(); err != nil {
			b.Fatalf("flushing uploads: %v", err)
		}
		b.StartTimer()
	}

	b.ReportMetric(float64(len(photo))/1e6, "photo-MB")
	b.ReportMetric(float64(idle)/1024, "idle-rss-MB")
	b.ReportMetric(float64(vmKB(b, web.pid, "VmHWM"))/1024, "peak-rss-MB")
}

// fiveMBPhoto makes a real photo of just over 5 MB: the largest shared
// photo enlarged and saved at full JPEG quality.
func fiveMBPhoto(b *testing.B) []byte {
	b.Helper()

	src, err := imaging.Open(filepath.Join(sharedData(b), "images",
		"dermoscopy_10mp_3872x2592_no_jfif.jpg"))
	if err != nil {
		b.Fatalf("opening the photo: %v", err)
	}

	width := src.Bounds().Dx()
	for {
		photo := encodeAt(b, src, width)
		if len(photo) >= 5_000_000 {
			return photo
		}
		// The size grows with the area: aim a little past 5 MB.
		width = int(float64(width) * math.Sqrt(5_100_000/float64(len(photo))))
	}
}

func encodeAt(b *testing.B, src image.Image, width int) []byte {
	b.Helper()

	var buf bytes.Buffer
	resized := imaging.Resize(src, width, 0, imaging.Lanczos)
	if err := jpeg.Encode(&buf, resized, &jpeg.Options{Quality: 100}); err != nil {
		b.Fatalf("encoding the photo: %v", err)
	}

	return buf.Bytes()
}

// webProcess is a `dermq web` child process.
type webProcess struct {
	pid  int
	base string
}

func startWebProcess(b *testing.B, redisAddr string) webProcess {
	b.Helper()

	bin := filepath.Join(b.TempDir(), "dermq")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dermq")
	build.Dir = repoRoot(b)
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building dermq: %v\n%s", err, out)
	}

	port := freePort(b)
	cmd := exec.Command(bin, "web")
	cmd.Env = append(os.Environ(), "PORT="+port,
		fmt.Sprintf("REDIS_URL=redis://%s/%d", redisAddr, integrationDB),
		"DERMQ_LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting dermq web: %v", err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})

	base := "http://127.0.0.1:" + port
	waitHealthy(b, base)
	return webProcess{pid: cmd.Process.Pid, base: base}
}

func freePort(b *testing.B) string {
	b.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()

	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func waitHealthy(b *testing.B, base string) {
	b.Helper()

	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-deadline:
			b.Fatalf("dermq web at %s never became healthy", base)
		case <-tick.C:
		}

		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
}

// uploadAtOnce starts rssClients uploads of photo together and checks that
// every one is accepted.
func uploadAtOnce(b *testing.B, base string, photo []byte) {
	b.Helper()

	start := make(chan struct{})
	errs := make(chan error, rssClients)
	var wg sync.WaitGroup
	for range rssClients {
		wg.Go(func() {
			<-start
			errs <- postPhoto(base, photo)
		})
	}
	close(start)
	wg.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

func postPhoto(base string, photo []byte) error {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", "photo.jpg")
	_, _ = part.Write(photo)
	_ = w.Close()

	client := &http.Client{Timeout: 5 * time.Minute}
	resp, err := client.Post(base+"/api/v1/predictions", w.FormDataContentType(), &body)
	if err != nil {
		return fmt.Errorf("uploading: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("uploading: status %d, want 202", resp.StatusCode)
	}

	return nil
}

// vmKB reads one memory line (VmRSS, VmHWM) of /proc/PID/status in KiB.
func vmKB(b *testing.B, pid int, field string) int {
	b.Helper()

	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("reading process status: %v", err)
	}
	defer f.Close()

	lines := bufio.NewScanner(f)
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), ":")
		if ok && name == field {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(value), " kB"))
			if err != nil {
				b.Fatalf("parsing %s: %v", field, err)
			}
			return kb
		}
	}

	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
