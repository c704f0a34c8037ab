package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// stateFileName is the state file inside the output folder.
const stateFileName = "submit-state.jsonl"

// stateRecord is one line of the state file: either the batch header (first
// line) or one submitted image.
type stateRecord struct {
	// Kind is "batch" or "item".
	Kind string `json:"kind"`
	// Batch, Server and Dir identify the batch (kind "batch").
	Batch   string    `json:"batch,omitempty"`
	Server  string    `json:"server,omitempty"`
	Dir     string    `json:"dir,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// Path, ID, Status and Error describe one image (kind "item"). ID is the
	// prediction id; it is empty when the image failed before it was queued.
	Path   string `json:"path,omitempty"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// submitState is the append-only journal that lets an interrupted submit
// resume. Each record is written and fsynced before the work it describes
// counts as done, and a torn last line (the process died mid-write) is cut
// off when the file is opened again.
type submitState struct {
	mu     sync.Mutex
	f      *os.File
	header *stateRecord
	items  map[string]stateRecord
}

// openState opens or creates the state file in the output folder and loads
// what it holds.
func openState(out *outputDir) (*submitState, error) {
	if err := out.refuseSymlink(stateFileName); err != nil {
		return nil, err
	}

	f, err := out.root.OpenFile(stateFileName, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening state file: %w", err)
	}

	s := &submitState{f: f, items: map[string]stateRecord{}}
	if err := s.load(); err != nil {
		f.Close()
		return nil, err
	}

	return s, nil
}

// load reads every complete line and leaves the file positioned at its end.
func (s *submitState) load() error {
	data, err := io.ReadAll(s.f)
	if err != nil {
		return fmt.Errorf("reading state file: %w", err)
	}

	whole := bytes.LastIndexByte(data, '\n') + 1
	if err := s.f.Truncate(int64(whole)); err != nil {
		return fmt.Errorf("trimming state file: %w", err)
	}
	if _, err := s.f.Seek(int64(whole), io.SeekStart); err != nil {
		return fmt.Errorf("seeking state file: %w", err)
	}

	sc := bufio.NewScanner(bytes.NewReader(data[:whole]))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		if err := s.apply(sc.Bytes()); err != nil {
			return fmt.Errorf("reading state file line %d: %w", line, err)
		}
	}

	return sc.Err()
}

// apply takes one line into memory.
func (s *submitState) apply(line []byte) error {
	var rec stateRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return err
	}

	switch rec.Kind {
	case "batch":
		s.header = &rec
	case "item":
		s.items[rec.Path] = rec
	default:
		return fmt.Errorf("unknown record kind %q", rec.Kind)
	}

	return nil
}

// batch returns the header record, or nil when no batch was made yet.
func (s *submitState) batch() *stateRecord {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.header
}

// item returns the record of one image path.
func (s *submitState) item(path string) (stateRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	rec, ok := s.items[path]
	return rec, ok
}

// record appends rec, fsyncs it, and then takes it into memory.
func (s *submitState) record(rec stateRecord) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding state record: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	if _, err := s.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing state file: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("flushing state file: %w", err)
	}

	return s.apply(line)
}

// Close closes the file.
func (s *submitState) Close() error {
	err := s.f.Close()
	if errors.Is(err, fs.ErrClosed) {
		return nil
	}

	return err
}
