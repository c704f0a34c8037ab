package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/dermq/dermq/jobs"
)

// resultsSummary counts the rows written.
type resultsSummary struct {
	total     int
	succeeded int
	failed    []jobs.BatchResult
	heatmaps  []heatmapJob
}

// heatmapJob is one heatmap to fetch.
type heatmapJob struct {
	id   string
	path string
}

// resultsWriter writes results.jsonl and results.csv side by side into the
// output folder, each becoming visible only when complete.
type resultsWriter struct {
	jsonl, csvFile *outputFile
	enc            *json.Encoder
	csv            *csv.Writer
	sum            resultsSummary
}

// newResultsWriter opens both files and writes the CSV header.
func newResultsWriter(out *outputDir) (*resultsWriter, error) {
	jsonl, err := out.create("results.jsonl")
	if err != nil {
		return nil, err
	}

	csvFile, err := out.create("results.csv")
	if err != nil {
		jsonl.abort()
		return nil, err
	}

	w := &resultsWriter{
		jsonl: jsonl, csvFile: csvFile,
		enc: json.NewEncoder(jsonl), csv: csv.NewWriter(csvFile),
	}
	if err := w.csv.Write(jobs.BatchResultColumns); err != nil {
		w.abort()
		return nil, fmt.Errorf("writing results.csv: %w", err)
	}

	return w, nil
}

// add writes one row to both files.
func (w *resultsWriter) add(row jobs.BatchResult) error {
	if err := w.enc.Encode(row); err != nil {
		return fmt.Errorf("writing results.jsonl: %w", err)
	}
	if err := w.csv.Write(row.CSVRecord()); err != nil {
		return fmt.Errorf("writing results.csv: %w", err)
	}

	w.sum.total++
	switch {
	case row.Status == "succeeded":
		w.sum.succeeded++
		w.sum.heatmaps = append(w.sum.heatmaps, heatmapJob{id: row.ID, path: row.Path})
	default:
		w.sum.failed = append(w.sum.failed, row)
	}

	return nil
}

// commit flushes both files into place.
func (w *resultsWriter) commit() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		w.abort()
		return fmt.Errorf("writing results.csv: %w", err)
	}

	if err := w.jsonl.commit(); err != nil {
		w.csvFile.abort()
		return err
	}

	return w.csvFile.commit()
}

// abort drops both files.
func (w *resultsWriter) abort() {
	w.jsonl.abort()
	w.csvFile.abort()
}

// copyResults streams the server's results.jsonl into w, row by row.
func copyResults(ctx context.Context, c *batchClient, batch string, w *resultsWriter,
	seen map[string]bool) error {
	body, err := c.download(ctx, "api", "v1", "batches", batch, "results.jsonl")
	if err != nil {
		return err
	}
	defer body.Close()

	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row jobs.BatchResult
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return fmt.Errorf("reading results.jsonl from the server: %w", err)
		}
		seen[row.Path] = true
		if err := w.add(row); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading results.jsonl from the server: %w", err)
	}

	return nil
}

// heatmapName is where the heatmap of an image goes in the output folder.
func heatmapName(path string) string {
	return "heatmaps/" + path + ".heatmap.png"
}

// fetchHeatmaps downloads the heatmaps not already in the output folder, n
// at a time. It returns the images whose heatmap could not be fetched, with
// the reason.
func fetchHeatmaps(ctx context.Context, c *batchClient, out *outputDir, list []heatmapJob,
	n int) []skippedFile {
	var mu sync.Mutex
	var missing []skippedFile

	queue := make(chan heatmapJob)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for job := range queue {
				if err := fetchHeatmap(ctx, c, out, job); err != nil {
					mu.Lock()
					missing = append(missing, skippedFile{job.path, err.Error()})
					mu.Unlock()
				}
			}
		})
	}

	for _, job := range list {
		if !out.exists(heatmapName(job.path)) {
			queue <- job
		}
	}
	close(queue)
	wg.Wait()

	return missing
}

// fetchHeatmap downloads one heatmap into place.
func fetchHeatmap(ctx context.Context, c *batchClient, out *outputDir, job heatmapJob) error {
	body, err := c.download(ctx, "api", "v1", "predictions", job.id, "heatmap.png")
	if err != nil {
		return err
	}
	defer body.Close()

	f, err := out.create(heatmapName(job.path))
	if err != nil {
		return err
	}

	if _, err := io.Copy(f, body); err != nil {
		f.abort()
		return fmt.Errorf("saving heatmap of %s: %w", job.path, err)
	}

	return f.commit()
}
