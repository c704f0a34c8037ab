package web

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"time"

	"github.com/dermq/dermq/jobs"
	"github.com/gofiber/fiber/v2"
)

// streamTimeout bounds one streamed download of a batch's results.
const streamTimeout = 30 * time.Minute

// resultsCSV streams results.csv: a header, then one row per image.
func (s *server) resultsCSV(c *fiber.Ctx) error {
	return s.streamResults(c, "text/csv; charset=utf-8", "results.csv",
		func(ctx context.Context, id string, w *bufio.Writer) error {
			cw := csv.NewWriter(w)
			if err := cw.Write(jobs.BatchResultColumns); err != nil {
				return err
			}

			err := s.cfg.Batches.EachResult(ctx, id, func(r jobs.BatchResult) error {
				return cw.Write(r.CSVRecord())
			})
			cw.Flush()
			return errors.Join(err, cw.Error())
		})
}

// resultsJSONL streams results.jsonl: one JSON object per image and line.
func (s *server) resultsJSONL(c *fiber.Ctx) error {
	return s.streamResults(c, "application/x-ndjson", "results.jsonl",
		func(ctx context.Context, id string, w *bufio.Writer) error {
			enc := json.NewEncoder(w)
			return s.cfg.Batches.EachResult(ctx, id, func(r jobs.BatchResult) error {
				return enc.Encode(r)
			})
		})
}

// heatmapsZip streams a zip of every heatmap, each named after its image's
// path with ".heatmap.png" appended. The archive is written straight into
// the response, one heatmap at a time; PNGs are stored, not recompressed.
func (s *server) heatmapsZip(c *fiber.Ctx) error {
	return s.streamResults(c, "application/zip", "heatmaps.zip",
		func(ctx context.Context, id string, w *bufio.Writer) error {
			zw := zip.NewWriter(w)
			err := s.cfg.Batches.EachResult(ctx, id, func(r jobs.BatchResult) error {
				return s.addHeatmap(ctx, zw, r)
			})

			return errors.Join(err, zw.Close())
		})
}

// addHeatmap writes one image's heatmap into the archive, if it has one.
func (s *server) addHeatmap(ctx context.Context, zw *zip.Writer, r jobs.BatchResult) error {
	if r.Status != string(jobs.StatusSucceeded) {
		return nil
	}

	png, err := s.cfg.Batches.Heatmap(ctx, r.ID)
	if errors.Is(err, jobs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}

	f, err := zw.CreateHeader(&zip.FileHeader{
		Name: r.Path + ".heatmap.png", Method: zip.Store, Modified: time.Now(),
	})
	if err != nil {
		return err
	}

	_, err = f.Write(png)
	return err
}

// streamResults checks the batch exists, then streams write's output as
// the response body. The body is written after the handler returns, so
// write gets its own context and must not touch c.
func (s *server) streamResults(c *fiber.Ctx, contentType, filename string,
	write func(ctx context.Context, id string, w *bufio.Writer) error) error {
	id, err := batchID(c)
	if err != nil {
		return err
	}
	if _, _, err := s.cfg.Batches.Items(c.UserContext(), id, 0, 1); err != nil {
		return batchError(err)
	}

	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	log := s.cfg.Logger.With("batch_id", id, "file", filename)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), streamTimeout)
		defer cancel()

		if err := write(ctx, id, w); err != nil {
			log.Warn("streaming batch results", "error", err)
		}
		w.Flush()
	})

	return nil
}
