package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// batchUpload is the answer to POST /api/v1/batches/{id}/images.
type batchUpload struct {
	// Items are the images added (or found already there), in order.
	Items []jobs.BatchItem `json:"items"`
	// Refused are files that were not added, with the reason: a name that
	// would escape the batch, a symlink in a zip, a file over the limit.
	Refused []refusedFile `json:"refused"`
	// Skipped are zip entries left out on purpose: folders' metadata and
	// hidden files.
	Skipped []string `json:"skipped"`
}

// refusedFile is one file of an upload that was not added.
type refusedFile struct {
	Path  string         `json:"path"`
	Error jobs.ErrorInfo `json:"error"`
}

// addImages adds the images of a multipart form (each file part named by
// its relative path) or of one zip file to a batch. Files are read one at a
// time into a single buffer, so the memory a request holds is one image,
// whatever the number of files.
func (s *server) addImages(c *fiber.Ctx) error {
	defer drain(c)

	id, err := batchID(c)
	if err != nil {
		return err
	}

	release, err := s.acquireSlot(c)
	if err != nil {
		return err
	}
	defer release()

	buf := bufferPool.Get().(*bytes.Buffer)
	defer bufferPool.Put(buf)

	up := &batchUploader{s: s, ctx: c.UserContext(), batch: id, buf: buf}
	switch mt, params := mediaType(c); {
	case mt == "multipart/form-data" && params["boundary"] != "":
		err = up.multipart(c.Context().RequestBodyStream(), params["boundary"])
	case mt == "application/zip":
		err = up.zip(c.Context().RequestBodyStream())
	default:
		err = apiError(fiber.StatusUnsupportedMediaType, "unsupported_upload",
			"Send images as multipart/form-data (one file part per image, named by its "+
				"relative path) or as one application/zip.")
	}
	if err != nil {
		return err
	}

	return c.Status(fiber.StatusAccepted).JSON(up.answer)
}

// batchUploader adds the files of one request.
type batchUploader struct {
	s      *server
	ctx    context.Context
	batch  string
	buf    *bytes.Buffer
	answer batchUpload
}

// multipart adds each file part of the form; text fields are ignored.
func (u *batchUploader) multipart(body io.Reader, boundary string) error {
	reader := multipart.NewReader(body, boundary)
	for {
		part, err := reader.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return u.s.formError(err)
		}

		if part.FileName() != "" {
			err = u.add(partPath(part), part)
		}
		part.Close()
		if err != nil {
			return err
		}
	}
}

// genericFields are form field names that name no image: the ones forms and
// tools use for files (an <input name="images" multiple>, curl -F
// image=@photo.jpg). A file sent under one of them is named by its file name.
var genericFields = map[string]bool{
	"image": true, "images": true, "file": true, "files": true,
	"image[]": true, "images[]": true, "file[]": true, "files[]": true,
}

// partPath is the path a file part is added under: its field name, or, for
// a generic field, the file name the client sent, with its folders (a
// browser sends them for a folder upload; Part.FileName drops them).
func partPath(part *multipart.Part) string {
	if !genericFields[strings.ToLower(part.FormName())] {
		return part.FormName()
	}

	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if err != nil || params["filename"] == "" {
		return part.FileName()
	}
	return params["filename"]
}

// add reads one form file and adds it under name; a body that breaks off
// ends the request.
func (u *batchUploader) add(name string, r io.Reader) error {
	fits, err := u.read(r)
	if err != nil {
		return u.s.formError(err)
	}
	if !fits {
		u.refuse(name, "too_large", u.s.tooLarge().Error())
		return nil
	}

	return u.addBuffered(name)
}

// read fills the buffer with one file and reports whether it fits the
// upload limit.
func (u *batchUploader) read(r io.Reader) (bool, error) {
	u.buf.Reset()
	n, err := u.buf.ReadFrom(io.LimitReader(r, int64(u.s.cfg.MaxUploadBytes)+1))

	return n <= int64(u.s.cfg.MaxUploadBytes), err
}

// addBuffered adds the buffered file under name. Problems with the file
// itself are recorded as refused; problems with the batch end the request.
func (u *batchUploader) addBuffered(name string) error {
	item, err := u.s.cfg.Batches.Add(u.ctx, u.batch, name, u.buf.Bytes())
	switch {
	case errors.Is(err, jobs.ErrBadItemPath):
		u.refuse(name, "bad_path", err.Error())
	case errors.Is(err, jobs.ErrBatchPathTaken):
		u.refuse(name, "path_taken", "Another image was already added at this path.")
	case err != nil:
		return batchError(err)
	default:
		u.answer.Items = append(u.answer.Items, *item)
	}

	return nil
}

// refuse records a file that was not added.
func (u *batchUploader) refuse(name, code, message string) {
	u.answer.Refused = append(u.answer.Refused, refusedFile{
		Path: strings.ToValidUTF8(name, "?"), Error: jobs.ErrorInfo{Code: code, Message: message},
	})
}
