package inference

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns a file of the team's shared test data, found at
// ../shared/data beside the repository root.
func sharedData(t *testing.T, rel string) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	return filepath.Join(dir, "..", "shared", "data", rel)
}

func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(sharedData(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEngineLoadsLazilyAndReloadsAfterUnload(t *testing.T) {
	t.Parallel()
	e := newFixtureEngine(t, "nchw_pool_dropout_linear")
	photo := readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")
	ctx := context.Background()

	if e.Loaded() {
		t.Fatal("Loaded() is true before the first Predict")
	}
	first, err := e.Predict(ctx, photo, Request{})
	if err != nil {
		t.Fatalf("first Predict: %v", err)
	}
	if !e.Loaded() {
		t.Fatal("Loaded() is false after Predict")
	}

	if err := e.Unload(); err != nil {
		t.Fatalf("Unload: %v", err)
	}
	if e.Loaded() {
		t.Fatal("Loaded() is true after Unload")
	}
	second, err := e.Predict(ctx, photo, Request{})
	if err != nil {
		t.Fatalf("Predict after Unload: %v", err)
	}
	if first.Top[0] != second.Top[0] {
		t.Fatalf("top class %+v after reload, was %+v", second.Top[0], first.Top[0])
	}
}

func TestPredictFillsTheResult(t *testing.T) {
	t.Parallel()
	e := newFixtureEngine(t, "nhwc_reducemean_softmax")
	photo := readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")

	res, err := e.Predict(context.Background(), photo, Request{Class: "class_2"})
	if err != nil {
		t.Fatalf("Predict: %v", err)
	}
	if res.Model.Name != "nhwc_reducemean_softmax" || res.Model.Version != "1" {
		t.Fatalf("model %+v", res.Model)
	}
	if res.Class.Index != 2 || res.Class.Label != "class_2" {
		t.Fatalf("explained class %+v, want class_2", res.Class)
	}
	if len(res.Top) != 5 || res.Top[0].Probability < res.Top[4].Probability {
		t.Fatalf("top %+v is not 5 classes, most probable first", res.Top)
	}
	if res.Width != 256 || res.Height != 192 {
		t.Fatalf("size %dx%d, want 256x192", res.Width, res.Height)
	}
	if len(res.CAM) != 8 || len(res.CAM[0]) != 8 || res.GradCAMError != "" {
		t.Fatalf("CAM %dx? with error %q, want 8x8", len(res.CAM), res.GradCAMError)
	}
	if len(res.Display) == 0 {
		t.Fatal("no display image")
	}
}

func TestPredictRequestedClass(t *testing.T) {
	t.Parallel()
	e := newFixtureEngine(t, "nchw_pool_silu_gelu")
	photo := readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")
	ctx := context.Background()

	t.Run("an index picks the class", func(t *testing.T) {
		res, err := e.Predict(ctx, photo, Request{Class: "3"})
		if err != nil || res.Class.Index != 3 {
			t.Fatalf("got %+v, %v; want class 3", res, err)
		}
	})
	for _, class := range []string{"melanoma", "5", "-1"} {
		t.Run("an unknown class "+class+" is an input error", func(t *testing.T) {
			_, err := e.Predict(ctx, photo, Request{Class: class})
			var inputErr *InputError
			if !errors.As(err, &inputErr) || inputErr.Code != "unknown_class" {
				t.Fatalf("got %v, want an unknown_class InputError", err)
			}
		})
	}
}

func TestPredictHonoursContextAndClose(t *testing.T) {
	t.Parallel()
	e := newFixtureEngine(t, "nchw_pool_dropout_linear")
	photo := readShared(t, "images/dermoscopy_isic_0000000_thumbnail_256x192.jpg")

	t.Run("a cancelled context stops the prediction", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := e.Predict(ctx, photo, Request{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
	t.Run("a closed engine refuses to predict", func(t *testing.T) {
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Predict(context.Background(), photo, Request{}); !errors.Is(err, errClosed) {
			t.Fatalf("got %v, want errClosed", err)
		}
	})
}
