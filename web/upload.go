package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// formOverhead is the room a multipart body may take beyond the image: part
// headers, boundaries and the small text fields.
const formOverhead = 64 << 10

// fieldLimit is the largest text field accepted.
const fieldLimit = 4 << 10

// drainLimit bounds how much of a too-large body is read and thrown away so
// that the client gets to read the 413 answer instead of a reset connection.
const drainLimit = 256 << 20

// form is a parsed upload request.
type form struct {
	image               []byte
	hasImage            bool
	class               string
	webhook             string
	webhookEventsFilter []string
}

// errTooLarge marks a body or image over the limit.
var errTooLarge = errors.New("upload too large")

// readForm reads the multipart body as a stream, keeping only the image and
// the known text fields, and enforcing the size limits as it goes.
func (s *server) readForm(c *fiber.Ctx, buf *bytes.Buffer) (*form, error) {
	boundary, err := multipartBoundary(c.Get(fiber.HeaderContentType))
	if err != nil {
		return nil, err
	}

	if n := c.Request().Header.ContentLength(); n > 0 {
		buf.Grow(n)
	}

	body := &limitReader{r: c.Context().RequestBodyStream(), left: s.bodyLimit}
	reader := multipart.NewReader(body, boundary)
	f := &form{}
	for {
		part, err := reader.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, s.formError(err)
		}

		if err := s.readPart(part, f, buf); err != nil {
			return nil, err
		}
	}

	if !f.hasImage {
		return nil, apiError(fiber.StatusBadRequest, "missing_image",
			"The form has no image. Send the photo in a file field named \"image\".")
	}

	f.image = buf.Bytes()
	return f, nil
}

func (s *server) readPart(part *multipart.Part, f *form, buf *bytes.Buffer) error {
	defer part.Close()

	switch part.FormName() {
	case "image":
		return s.readImage(part, f, buf)
	case "class":
		return readField(part, &f.class)
	case "webhook":
		return readField(part, &f.webhook)
	case "webhook_events_filter":
		var v string
		if err := readField(part, &v); err != nil {
			return err
		}
		f.webhookEventsFilter = append(f.webhookEventsFilter, splitList(v)...)
	}

	return nil
}

func (s *server) readImage(part *multipart.Part, f *form, buf *bytes.Buffer) error {
	if f.hasImage {
		return apiError(fiber.StatusBadRequest, "too_many_images",
			"Send one image per request.")
	}

	n, err := buf.ReadFrom(io.LimitReader(part, int64(s.cfg.MaxUploadBytes)+1))
	if err != nil {
		return s.formError(err)
	}
	if n > int64(s.cfg.MaxUploadBytes) {
		return s.tooLarge()
	}

	f.hasImage = true
	return nil
}

func readField(part *multipart.Part, dst *string) error {
	b, err := io.ReadAll(io.LimitReader(part, fieldLimit+1))
	if err != nil {
		return apiError(fiber.StatusBadRequest, "bad_form", "The form could not be read.")
	}
	if len(b) > fieldLimit {
		return apiError(fiber.StatusBadRequest, "field_too_long",
			fmt.Sprintf("The field %q is longer than %d bytes.", part.FormName(), fieldLimit))
	}

	*dst = strings.TrimSpace(string(b))
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}

	return out
}

func multipartBoundary(contentType string) (string, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return "", apiError(fiber.StatusUnsupportedMediaType, "not_multipart",
			"Send the photo as multipart/form-data with a file field named \"image\".")
	}

	return params["boundary"], nil
}

// formError explains a body that ended early or broke the multipart rules;
// a body cut by the size limit reads as one of those too.
func (s *server) formError(err error) error {
	if errors.Is(err, errTooLarge) {
		return s.tooLarge()
	}

	return apiError(fiber.StatusBadRequest, "bad_form",
		"The upload could not be read as a multipart form: "+err.Error())
}

func (s *server) tooLarge() error {
	return apiError(fiber.StatusRequestEntityTooLarge, "too_large",
		fmt.Sprintf("The image is larger than the %s limit.", formatBytes(s.cfg.MaxUploadBytes)))
}

// drain reads and discards what is left of the request body, so that the
// client, still sending, gets to read the answer.
func drain(c *fiber.Ctx) {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return
	}

	n, _ := io.Copy(io.Discard, io.LimitReader(stream, drainLimit))
	if n >= drainLimit {
		c.Context().SetConnectionClose()
	}
}

func formatBytes(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}

	return fmt.Sprintf("%d bytes", n)
}

// limitReader reads at most left bytes and then fails with errTooLarge.
type limitReader struct {
	r    io.Reader
	left int
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, l.probe()
	}

	n, err := l.r.Read(p[:min(len(p), l.left)])
	l.left -= n
	return n, err
}

// probe tells the end of the body (io.EOF) from more bytes (errTooLarge).
func (l *limitReader) probe() error {
	var b [1]byte
	for {
		n, err := l.r.Read(b[:])
		if n > 0 {
			return errTooLarge
		}
		if err != nil {
			return err
		}
	}
}
