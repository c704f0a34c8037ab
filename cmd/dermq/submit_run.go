package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/dermq/dermq/jobs"
)

// maxListedFailures is how many failed images the summary names.
const maxListedFailures = 20

// submission is one run of dermq submit.
type submission struct {
	cfg    submitConfig
	dir    string
	stdout io.Writer
	stderr io.Writer
	tty    bool
	out    *outputDir
	state  *submitState
	client *batchClient
}

// newSubmission opens the output folder and its state file.
func newSubmission(cfg submitConfig, stdout io.Writer, stderr *os.File) (*submission, error) {
	dir, err := resolvePath(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("reading the folder to submit: %w", err)
	} else if !st.IsDir() {
		return nil, &exitCodeError{code: exitUsage, err: fmt.Errorf("%s is a file; dermq "+
			"submit takes a folder (dermq predict takes single images)", cfg.Dir)}
	}

	client, err := newBatchClient(cfg.Server, cfg.Concurrency)
	if err != nil {
		return nil, err
	}

	out, err := openOutputDir(cfg.Out)
	if err != nil {
		return nil, err
	}

	state, err := openState(out)
	if err != nil {
		out.Close()
		return nil, err
	}

	return &submission{
		cfg: cfg, dir: dir, stdout: stdout, stderr: stderr, tty: isTerminal(stderr),
		out: out, state: state, client: client,
	}, nil
}

// close releases the state file and the output folder.
func (s *submission) close() {
	s.state.Close()
	s.out.Close()
}

// run scans, uploads, and (with --wait) collects the results.
func (s *submission) run(ctx context.Context) error {
	scan, err := s.scan()
	if err != nil {
		return err
	}
	if len(scan.images) == 0 {
		return fmt.Errorf("no images found in %s (files are taken by their content, "+
			"not their name); nothing was submitted", s.cfg.Dir)
	}

	batch, sealed, err := s.ensureBatch(ctx)
	if err != nil {
		return err
	}
	if pending := s.pending(scan.images); sealed && len(pending) > 0 {
		return fmt.Errorf("batch %s in %s is sealed and cannot take the images of %s "+
			"added since (%d, the first: %s); submit them with another --out", batch,
			s.cfg.Out, s.cfg.Dir, len(pending), pending[0].rel)
	}

	if err := s.upload(ctx, batch, scan.images); err != nil {
		return err
	}

	if !s.cfg.Wait {
		fmt.Fprintf(s.stdout, "batch %s: %d images submitted; follow it at %s\n",
			batch, len(scan.images), s.client.url("batches", batch))
		return nil
	}

	info, err := s.wait(ctx, batch)
	if err != nil {
		return err
	}

	return s.collect(ctx, info, scan)
}

// scan walks the folder, leaving the output folder out when it lies inside.
func (s *submission) scan() (folderScan, error) {
	exclude, err := resolvePath(s.cfg.Out)
	if err != nil {
		return folderScan{}, err
	}

	scan, err := scanFolder(s.dir, exclude)
	if err != nil {
		return folderScan{}, err
	}

	fmt.Fprintf(s.stderr, "found %d images in %s (%d other files skipped, %d unusable)\n",
		len(scan.images), s.cfg.Dir, len(scan.skipped), len(scan.unusable))
	s.listFiles("skipped", scan.skipped)
	s.listFiles("unusable, counted as failed", scan.unusable)

	return scan, nil
}

// listedFiles is how many skipped or unusable files the scan names.
const listedFiles = 10

// listFiles names the first listedFiles files with why they were set aside.
func (s *submission) listFiles(what string, files []skippedFile) {
	for i, f := range files {
		if i == listedFiles {
			fmt.Fprintf(s.stderr, "  ... and %d more %s\n", len(files)-i, what)
			return
		}
		fmt.Fprintf(s.stderr, "  %s: %s (%s)\n", what, f.rel, f.reason)
	}
}

// ensureBatch resumes the batch named in the state file, or creates one,
// and says whether the batch is sealed already.
func (s *submission) ensureBatch(ctx context.Context) (string, bool, error) {
	if h := s.state.batch(); h != nil {
		return s.resume(ctx, h)
	}

	info, err := s.client.createBatch(ctx, s.cfg.Webhook)
	if err != nil {
		return "", false, err
	}

	err = s.state.record(stateRecord{
		Kind: "batch", Batch: info.ID, Server: s.cfg.Server, Dir: s.dir,
		Created: time.Now().UTC(),
	})
	if err != nil {
		return "", false, err
	}
	fmt.Fprintf(s.stderr, "created batch %s\n", info.ID)

	return info.ID, false, nil
}

// resume checks that the state file's batch is this folder's and still on
// the server, and says whether it is sealed.
func (s *submission) resume(ctx context.Context, h *stateRecord) (string, bool, error) {
	if h.Dir != s.dir || h.Server != s.cfg.Server {
		return "", false, fmt.Errorf("%s holds batch %s of %s on %s; choose another --out",
			s.cfg.Out, h.Batch, h.Dir, h.Server)
	}

	info, err := s.client.getBatch(ctx, h.Batch, 0, "")
	var api *apiError
	if errors.As(err, &api) && api.Status == http.StatusNotFound {
		return "", false, fmt.Errorf("batch %s is no longer on the server (expired?); "+
			"choose another --out to start over", h.Batch)
	}
	if err != nil {
		return "", false, err
	}
	fmt.Fprintf(s.stderr, "resuming batch %s\n", h.Batch)

	return h.Batch, info.Status != "receiving", nil
}

// pending returns the images the state file does not list as uploaded.
func (s *submission) pending(images []localImage) []localImage {
	var pending []localImage
	for _, img := range images {
		if _, done := s.state.item(img.rel); !done {
			pending = append(pending, img)
		}
	}
	return pending
}

// upload sends the images the state file does not list yet, then seals the
// batch.
func (s *submission) upload(ctx context.Context, batch string, images []localImage) error {
	pending := s.pending(images)

	bar := newProgressBar(s.stderr, s.tty, "uploading ", len(images),
		len(images)-len(pending))
	u := &uploader{client: s.client, state: s.state, batch: batch, bar: bar}
	err := u.run(ctx, pending, s.cfg.Concurrency)
	bar.finish()

	if ctx.Err() != nil {
		return s.interrupted()
	}
	if err != nil {
		return fmt.Errorf("uploading (run the same command again to resume): %w", err)
	}

	return s.client.seal(ctx, batch)
}

// interrupted is the error of a run stopped by a signal.
func (s *submission) interrupted() error {
	return &exitCodeError{
		code: exitInterrupted,
		err:  errors.New("interrupted; run the same command again to resume"),
	}
}

// wait polls the batch until every image ended.
func (s *submission) wait(ctx context.Context, batch string) (batchInfo, error) {
	var bar *progressBar
	for {
		info, err := s.client.getBatch(ctx, batch, 0, "")
		if ctx.Err() != nil {
			return info, s.interrupted()
		}
		if err != nil {
			return info, err
		}

		if bar == nil {
			bar = newProgressBar(s.stderr, s.tty, "processing", info.Total, info.Ended)
		}
		bar.set(info.Ended, info.Counts["failed"]+info.Counts["canceled"])
		if info.Status == "completed" {
			bar.finish()
			return info, nil
		}

		select {
		case <-ctx.Done():
			bar.finish()
			return info, s.interrupted()
		case <-time.After(s.cfg.Poll):
		}
	}
}

// collect writes results.csv, results.jsonl and the heatmaps, then prints
// the summary.
func (s *submission) collect(ctx context.Context, info batchInfo, scan folderScan) error {
	batch := info.ID
	w, err := newResultsWriter(s.out)
	if err != nil {
		return err
	}

	seen := map[string]bool{}
	if err := copyResults(ctx, s.client, batch, w, seen); err != nil {
		w.abort()
		return err
	}
	if len(seen) != info.Total {
		w.abort()
		return fmt.Errorf("the server sent %d result rows for %d images; "+
			"run the same command again to fetch them again", len(seen), info.Total)
	}
	if err := s.addLocalFailures(w, scan, seen); err != nil {
		w.abort()
		return err
	}
	if err := w.commit(); err != nil {
		return err
	}

	missing := fetchHeatmaps(ctx, s.client, s.out, w.sum.heatmaps, s.cfg.Concurrency)
	if ctx.Err() != nil {
		return s.interrupted()
	}

	return s.summarize(batch, scan, w.sum, missing)
}

// addLocalFailures adds rows for images that never reached the batch: files
// that could not be read or named, and uploads the server refused outright.
func (s *submission) addLocalFailures(w *resultsWriter, scan folderScan,
	seen map[string]bool) error {
	for _, f := range scan.unusable {
		row := jobs.BatchResult{
			Path: f.rel, Status: "failed", ErrorCode: "not_submitted", Error: f.reason,
		}
		if err := w.add(row); err != nil {
			return err
		}
	}

	for _, img := range scan.images {
		rec, ok := s.state.item(img.rel)
		if !ok || seen[img.rel] || rec.Status != "failed" {
			continue
		}
		row := jobs.BatchResult{
			Path: img.rel, Status: "failed", ErrorCode: "upload_refused", Error: rec.Error,
		}
		if err := w.add(row); err != nil {
			return err
		}
	}

	return nil
}

// summarize prints what happened and turns failures into the exit code.
func (s *submission) summarize(batch string, scan folderScan, sum resultsSummary,
	missing []skippedFile) error {
	fmt.Fprintf(s.stdout, "batch %s: %d images: %d succeeded, %d failed; "+
		"skipped as not images: %d\n",
		batch, sum.total, sum.succeeded, len(sum.failed), len(scan.skipped))

	if len(sum.failed) > 0 {
		fmt.Fprintln(s.stdout, "failed images:")
	}
	for i, row := range sum.failed {
		if i == maxListedFailures {
			fmt.Fprintf(s.stdout, "  ... and %d more (see results.csv)\n",
				len(sum.failed)-i)
			break
		}
		fmt.Fprintf(s.stdout, "  %s: %s: %s\n", row.Path, row.ErrorCode, row.Error)
	}

	for _, m := range missing {
		fmt.Fprintf(s.stdout, "no heatmap for %s: %s\n", m.rel, m.reason)
	}
	fmt.Fprintf(s.stdout, "results: %s/results.csv, %s/results.jsonl, %s/heatmaps/\n",
		s.cfg.Out, s.cfg.Out, s.cfg.Out)

	if len(sum.failed) > 0 {
		return &exitCodeError{
			code: exitImagesFailed,
			err:  fmt.Errorf("%d of %d images failed", len(sum.failed), sum.total),
		}
	}

	return nil
}
