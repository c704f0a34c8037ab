package web

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/dermq/dermq/jobs"
)

// TestPipeline runs every shared test image through the real service: web,
// Redis, worker and model, one image at a time through one worker.
func TestPipeline(t *testing.T) {
	s := startStack(t, realEngine(t))

	t.Run("every photo succeeds with a heatmap at display size", func(t *testing.T) {
		for _, name := range sharedFiles(t, "images") {
			data := readShared(t, filepath.Join("images", name))
			a := s.post(t, name, data)
			if a.status != http.StatusAccepted {
				t.Fatalf("%s: POST = %s, want 202", name, describe(a))
			}

			v := s.wait(t, a.view)
			if v.Status != jobs.StatusSucceeded {
				t.Fatalf("%s: status %s (%+v), want succeeded", name, v.Status, v.Error)
			}
			checkImages(t, s, name, v)
		}
	})

	t.Run("every awkward file succeeds or is refused with a reason", func(t *testing.T) {
		for _, name := range sharedFiles(t, "awkward") {
			a := s.post(t, name, readShared(t, filepath.Join("awkward", name)))
			if a.status >= 400 && a.status < 500 && a.err.Message != "" {
				t.Logf("%s: refused, %s", name, describe(a))
				continue
			}
			if a.status != http.StatusAccepted {
				t.Fatalf("%s: POST = %s, want 202 or a 4xx with a message", name, describe(a))
			}

			v := s.wait(t, a.view)
			switch {
			case v.Status == jobs.StatusSucceeded:
				t.Logf("%s: succeeded, %s", name, v.Output.Class.Label)
			case v.Status == jobs.StatusFailed && v.Error != nil && v.Error.Message != "":
				t.Logf("%s: failed, %s: %s", name, v.Error.Code, v.Error.Message)
			default:
				t.Fatalf("%s: ended %s with error %+v", name, v.Status, v.Error)
			}
		}
	})

	t.Run("a canceled prediction never runs", func(t *testing.T) {
		slow := s.post(t, "slow.jpg",
			readShared(t, "images/dermoscopy_10mp_3872x2592_no_jfif.jpg"))
		target := s.post(t, "target.jpg",
			readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg"))
		canceled := s.postCancel(t, target.view)
		after := s.post(t, "after.jpg",
			readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg"))

		s.wait(t, slow.view)
		s.wait(t, after.view)
		got := s.get(t, target.view.URLs.Get).view
		if canceled.Status != jobs.StatusCanceled || got.Status != jobs.StatusCanceled ||
			got.StartedAt != nil || got.Output != nil {
			t.Fatalf("canceled prediction = %+v, want canceled and never started", got)
		}
	})
}

func checkImages(t *testing.T, s *stack, name string, v view) {
	t.Helper()

	want := displaySize(v.Output.Width, v.Output.Height)
	contentType, format, size := s.imageSize(t, v.URLs.Heatmap)
	if contentType != "image/png" || format != "png" || !closeTo(size, want) {
		t.Fatalf("%s: heatmap is %s (%s) %v, want a PNG of about %v",
			name, format, contentType, size, want)
	}

	contentType, format, size = s.imageSize(t, v.URLs.Image)
	if contentType != "image/jpeg" || format != "jpeg" || !closeTo(size, want) {
		t.Fatalf("%s: display image is %s (%s) %v, want a JPEG of about %v",
			name, format, contentType, size, want)
	}
}

func (s *stack) postCancel(t *testing.T, v view) view {
	t.Helper()

	resp, err := s.client.Post(v.URLs.Cancel, "", nil)
	if err != nil {
		t.Fatalf("canceling %s: %v", v.ID, err)
	}

	a := readAnswer(t, resp)
	if a.status != http.StatusOK {
		t.Fatalf("cancel %s = %s", v.ID, describe(a))
	}
	return a.view
}
