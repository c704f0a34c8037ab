package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()

	a := newBatchTestApp(t)
	post := func(t *testing.T, key string, img []byte, want int) string {
		t.Helper()

		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		w, _ := mw.CreateFormFile("image", "photo.png")
		w.Write(img)
		mw.Close()

		req := httptest.NewRequest(http.MethodPost, "/api/v1/predictions", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Idempotency-Key", key)
		var answer struct{ ID string }
		a.do(t, req, want, &answer)
		return answer.ID
	}
	key := "retry-" + t.Name()
	first := post(t, key, tinyPNG(t, 40), fiber.StatusAccepted)

	t.Run("a retried upload gets the first prediction back", func(t *testing.T) {
		if again := post(t, key, tinyPNG(t, 40), fiber.StatusAccepted); again != first {
			t.Fatalf("retry got %q, want %q", again, first)
		}
	})

	t.Run("the key with another image is refused", func(t *testing.T) {
		post(t, key, tinyPNG(t, 41), fiber.StatusUnprocessableEntity)
	})

	t.Run("a key with control characters is refused", func(t *testing.T) {
		post(t, "bad\x01key", tinyPNG(t, 42), fiber.StatusBadRequest)
	})
}
