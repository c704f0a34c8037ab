package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// apiError is an error answer from the server, {"error":{"code","message"}}.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
	}

	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// retryable reports whether asking again may help.
func (e *apiError) retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests ||
		e.Status == http.StatusRequestTimeout
}

// batchInfo is the server's view of a batch (GET /api/v1/batches/{id}).
type batchInfo struct {
	ID         string         `json:"id"`
	Status     string         `json:"status"`
	Total      int            `json:"total"`
	Ended      int            `json:"ended"`
	Counts     map[string]int `json:"counts"`
	Items      []batchItem    `json:"items"`
	NextCursor string         `json:"next_cursor"`
	URLs       map[string]string
}

// batchItem is one image of a batch as the server sees it.
type batchItem struct {
	Path   string    `json:"path"`
	ID     string    `json:"id"`
	Status string    `json:"status"`
	Error  *apiError `json:"error"`
}

// batchClient talks to a DermQ web server's batch API. Every call is safe to
// repeat (the server maps a re-sent image to the prediction it already
// made), so transport errors and 5xx answers are retried with backoff.
type batchClient struct {
	base     *url.URL
	http     *http.Client
	attempts int
	backoff  time.Duration
}

// newBatchClient prepares a client for the server at base, keeping enough
// idle connections for conns parallel requests.
func newBatchClient(base string, conns int) (*batchClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want an http or https URL", base)
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = conns + 2

	return &batchClient{
		base:     u,
		http:     &http.Client{Transport: transport, Timeout: 5 * time.Minute},
		attempts: 6,
		backoff:  250 * time.Millisecond,
	}, nil
}

// url joins API path elements onto the base URL, escaping each.
func (c *batchClient) url(elems ...string) string {
	u := *c.base
	escaped := make([]string, len(elems))
	for i, e := range elems {
		escaped[i] = url.PathEscape(e)
	}
	u.Path = path.Join(append([]string{"/", u.Path}, escaped...)...)

	return u.String()
}

// createBatch makes a new batch; webhook may be empty.
func (c *batchClient) createBatch(ctx context.Context, webhook string) (batchInfo, error) {
	body, err := json.Marshal(map[string]string{"webhook": webhook})
	if err != nil {
		return batchInfo{}, fmt.Errorf("encoding batch request: %w", err)
	}

	var info batchInfo
	err = c.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, c.url("api", "v1", "batches"),
			bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}, &info)
	if err != nil {
		return batchInfo{}, fmt.Errorf("creating batch: %w", err)
	}

	return info, nil
}

// getBatch reads a batch with one page of its items (pageSize 0: counts
// only).
func (c *batchClient) getBatch(ctx context.Context, id string, pageSize int,
	cursor string) (batchInfo, error) {
	q := url.Values{"page_size": {strconv.Itoa(pageSize)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	target := c.url("api", "v1", "batches", id) + "?" + q.Encode()

	var info batchInfo
	err := c.do(ctx, func() (*http.Request, error) {
		return http.NewRequest(http.MethodGet, target, nil)
	}, &info)
	if err != nil {
		return batchInfo{}, fmt.Errorf("reading batch %s: %w", id, err)
	}

	return info, nil
}

// seal tells the server no more images come, so the batch can complete.
func (c *batchClient) seal(ctx context.Context, id string) error {
	err := c.do(ctx, func() (*http.Request, error) {
		return http.NewRequest(http.MethodPost, c.url("api", "v1", "batches", id, "seal"), nil)
	}, nil)
	if err != nil {
		return fmt.Errorf("sealing batch %s: %w", id, err)
	}

	return nil
}

// upload sends one image as a multipart part named after its relative path.
// The file is streamed from disk with an exact Content-Length, so neither
// side holds it in memory. A file the server refuses (a bad name, too
// large) comes back as an *apiError with status 422.
func (c *batchClient) upload(ctx context.Context, batch string, img localImage) (batchItem, error) {
	var answer struct {
		Items   []batchItem `json:"items"`
		Refused []struct {
			Path  string   `json:"path"`
			Error apiError `json:"error"`
		} `json:"refused"`
	}
	target := c.url("api", "v1", "batches", batch, "images")
	err := c.do(ctx, func() (*http.Request, error) {
		return newUploadRequest(target, img)
	}, &answer)
	if err != nil {
		return batchItem{}, fmt.Errorf("uploading %s: %w", img.rel, err)
	}

	switch {
	case len(answer.Items) == 1 && answer.Items[0].Path == img.rel:
		return answer.Items[0], nil
	case len(answer.Refused) == 1:
		refusal := answer.Refused[0].Error
		refusal.Status = http.StatusUnprocessableEntity
		return batchItem{}, fmt.Errorf("uploading %s: %w", img.rel, &refusal)
	}

	return batchItem{}, fmt.Errorf("uploading %s: the server answered for %d other items",
		img.rel, len(answer.Items))
}

// newUploadRequest builds a request whose body is the multipart head, the
// file and the closing boundary, read one after the other.
func newUploadRequest(target string, img localImage) (*http.Request, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, err := mw.CreateFormFile(img.rel, path.Base(img.rel)); err != nil {
		return nil, fmt.Errorf("encoding multipart head: %w", err)
	}
	head := bytes.Clone(buf.Bytes())

	buf.Reset()
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("encoding multipart tail: %w", err)
	}
	tail := bytes.Clone(buf.Bytes())

	f, err := os.Open(img.abs)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", img.rel, err)
	}

	body := &uploadBody{
		Reader: io.MultiReader(bytes.NewReader(head), &exactReader{r: f, left: img.size},
			bytes.NewReader(tail)),
		file: f,
	}
	req, err := http.NewRequest(http.MethodPost, target, body)
	if err != nil {
		f.Close()
		return nil, err
	}
	req.ContentLength = int64(len(head)) + img.size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())

	return req, nil
}

// uploadBody is a request body that closes its file when the transport is
// done with it, whether the request succeeded or not.
type uploadBody struct {
	io.Reader
	file *os.File
}

// Close closes the file.
func (b *uploadBody) Close() error { return b.file.Close() }

// errFileChanged is returned when a file's size changed while it was sent.
var errFileChanged = errors.New("the file changed size while it was being sent")

// exactReader reads exactly left bytes from r, so a file that shrinks
// mid-upload fails the request instead of corrupting the multipart body (one
// that grows is cut at the size it had when it was found).
type exactReader struct {
	r    io.Reader
	left int64
}

func (r *exactReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}

	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)

	if errors.Is(err, io.EOF) {
		if r.left > 0 {
			return n, errFileChanged
		}
		return n, nil
	}

	return n, err
}

// download opens a GET of an API path; the caller closes the body.
func (c *batchClient) download(ctx context.Context, elems ...string) (io.ReadCloser, error) {
	target := c.url(elems...)
	var body io.ReadCloser
	err := c.retry(ctx, func() error {
		resp, err := c.send(ctx, func() (*http.Request, error) {
			return http.NewRequest(http.MethodGet, target, nil)
		})
		if err == nil {
			body = resp.Body
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", strings.Join(elems, "/"), err)
	}

	return body, nil
}

// do sends a request built by build, retrying when that may help, and
// decodes a JSON answer into out (when out is not nil).
func (c *batchClient) do(ctx context.Context, build func() (*http.Request, error),
	out any) error {
	return c.retry(ctx, func() error {
		resp, err := c.send(ctx, build)
		if err != nil {
			return err
		}
		defer resp.Body.Close()

		if out == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("decoding answer: %w", err)
		}

		return nil
	})
}

// send performs one request and turns a non-2xx answer into an *apiError.
func (c *batchClient) send(ctx context.Context,
	build func() (*http.Request, error)) (*http.Response, error) {
	req, err := build()
	if err != nil {
		return nil, &permanentError{err}
	}

	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}

	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()

	return nil, readAPIError(resp)
}

// readAPIError decodes the server's error body, keeping the status.
func readAPIError(resp *http.Response) error {
	var body struct {
		Error apiError `json:"error"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))

	e := &apiError{Status: resp.StatusCode}
	if json.Unmarshal(data, &body) == nil && body.Error.Message != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	} else {
		e.Message = strings.TrimSpace(string(data))
	}

	return e
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// retry runs op until it succeeds, fails for good, or the attempts run out,
// doubling the pause between attempts.
func (c *batchClient) retry(ctx context.Context, op func() error) error {
	pause := c.backoff
	var err error
	for attempt := 1; ; attempt++ {
		err = op()
		if err == nil || attempt == c.attempts || !isTransient(ctx, err) {
			return err
		}

		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// isTransient reports whether err may go away when asked again.
func isTransient(ctx context.Context, err error) bool {
	var api *apiError
	var perm *permanentError
	switch {
	case ctx.Err() != nil, errors.As(err, &perm), errors.Is(err, errFileChanged):
		return false
	case errors.As(err, &api):
		return api.retryable()
	}

	return true
}
