package inference

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readPhoto reads one of the shared test photos.
func readPhoto(t *testing.T, name string) []byte {
	t.Helper()
	return readImageFile(t, filepath.Join(imageDataDir(t, "images"), name))
}

func TestEngineLoadsLazilyAndReloadsAfterUnload(t *testing.T) {
	t.Parallel()
	e := newFixtureEngine(t, "nchw_pool_dropout_linear")
	photo := readPhoto(t, "dermoscopy_isic_0000000_thumbnail_256x192.jpg")
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
	photo := readPhoto(t, "dermoscopy_isic_0000000_thumbnail_256x192.jpg")

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
	if len(res.Display) == 0 || len(res.Heatmap) == 0 {
		t.Fatalf("display %d bytes, heatmap %d bytes: want both", len(res.Display),
			len(res.Heatmap))
	}
}

func TestDemoModelExplainsARealPhoto(t *testing.T) {
	t.Parallel()
	e, err := NewEngine(Options{ModelPath: filepath.Join("..", "models", "demo.onnx"),
		LibraryPath: testLibrary})
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	photo := readPhoto(t, "dermoscopy_isic_0000001_1022x767.jpg")

	res, err := e.Predict(context.Background(), photo, Request{Class: "mel"})
	if err != nil {
		t.Fatalf("Predict: %v", err)
	}
	if res.GradCAMError != "" || len(res.CAM) == 0 || len(res.Heatmap) == 0 {
		t.Fatalf("gradcam_error %q, CAM %d rows, heatmap %d bytes", res.GradCAMError,
			len(res.CAM), len(res.Heatmap))
	}
	if res.Class.Label != "mel" || res.Width != 1022 || res.Height != 767 {
		t.Fatalf("class %+v, size %dx%d", res.Class, res.Width, res.Height)
	}
}

func TestPredictRequestedClass(t *testing.T) {
	t.Parallel()
	e := newFixtureEngine(t, "nchw_pool_silu_gelu")
	photo := readPhoto(t, "dermoscopy_isic_0000000_thumbnail_256x192.jpg")
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
			if !errors.As(err, &inputErr) || inputErr.Code != CodeUnknownClass {
				t.Fatalf("got %v, want an unknown_class InputError", err)
			}
		})
	}
}

func TestPredictHonoursContextAndClose(t *testing.T) {
	t.Parallel()
	e := newFixtureEngine(t, "nchw_pool_dropout_linear")
	photo := readPhoto(t, "dermoscopy_isic_0000000_thumbnail_256x192.jpg")

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
		if _, err := e.Predict(context.Background(), photo, Request{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("got %v, want ErrClosed", err)
		}
	})
}

func TestEngineIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newFixtureEngine(t, "nhwc_reducemean_softmax")
	input := fixtureInput(1, 32*32*3)
	want, err := e.predictTensor(context.Background(), input, -1)
	if err != nil {
		t.Fatal(err)
	}

	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			if i%4 == 0 {
				errs <- e.Unload()
				return
			}
			res, err := e.predictTensor(context.Background(), input, -1)
			if err == nil && res.Top[0] != want.Top[0] {
				err = fmt.Errorf("top %+v, want %+v", res.Top[0], want.Top[0])
			}
			errs <- err
		}()
	}
	for range 8 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("concurrent predictions did not finish")
		}
	}
}

func TestDynamicSizeNeedsTheManifestSize(t *testing.T) {
	t.Parallel()
	model, err := os.ReadFile(fixturePath("nchw_dynamic_size", ".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dynamic.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dynamic.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = NewEngine(Options{ModelPath: path, LibraryPath: testLibrary})
	if err == nil || !strings.Contains(err.Error(), "manifest field input.size:") {
		t.Fatalf("got %v, want an error naming input.size", err)
	}
}
