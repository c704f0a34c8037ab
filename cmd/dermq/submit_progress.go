package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressBar shows how far one phase (uploading, waiting) has come: count,
// rate, ETA and failures. On a terminal it redraws one line in place; in a
// log or a pipe it prints a plain line at every whole percent (and at least
// every plainEvery when something moved), so the output stays short and
// readable.
type progressBar struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	label    string
	total    int
	done     int
	failed   int
	base     int
	start    time.Time
	lastPct  int
	lastLine time.Time
	lastDraw time.Time
}

// plainEvery is the longest pause between plain progress lines while work
// moves.
const plainEvery = 10 * time.Second

// drawEvery is how often a terminal bar is redrawn at most.
const drawEvery = 100 * time.Millisecond

// newProgressBar starts a phase of total items of which base are already
// done (a resumed run); the rate counts only what this run did.
func newProgressBar(w io.Writer, tty bool, label string, total, base int) *progressBar {
	p := &progressBar{
		w: w, tty: tty, label: label, total: total,
		done: base, base: base, start: time.Now(), lastPct: -1,
	}
	p.draw(true)

	return p
}

// isTerminal reports whether f is a character device, as a terminal is.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// add counts n items as done, failed of them unsuccessfully.
func (p *progressBar) add(n, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.done += n
	p.failed += failed
	p.draw(false)
}

// set replaces the counts (used while polling the server).
func (p *progressBar) set(done, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.done, p.failed = done, failed
	p.draw(false)
}

// finish draws the final state and ends the line.
func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.draw(true)
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

// draw writes the bar if it is due; force writes it regardless.
func (p *progressBar) draw(force bool) {
	now := time.Now()
	if p.tty {
		if force || now.Sub(p.lastDraw) >= drawEvery {
			fmt.Fprintf(p.w, "\r%s\033[K", p.line(now))
			p.lastDraw = now
		}
		return
	}

	pct := p.percent()
	if force || pct > p.lastPct || now.Sub(p.lastLine) >= plainEvery {
		fmt.Fprintln(p.w, p.line(now))
		p.lastPct, p.lastLine = pct, now
	}
}

// percent is the whole percentage done.
func (p *progressBar) percent() int {
	if p.total == 0 {
		return 100
	}

	return p.done * 100 / p.total
}

// line renders "label [####    ] 150/300 50% 42.0/s eta 3s failed 2".
func (p *progressBar) line(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %d/%d %3d%%", p.label, p.bar(), p.done, p.total, p.percent())

	elapsed := now.Sub(p.start).Seconds()
	if moved := p.done - p.base; moved > 0 && elapsed > 0 {
		rate := float64(moved) / elapsed
		eta := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
		fmt.Fprintf(&b, " %.1f/s eta %s", rate, eta.Round(time.Second))
	}
	fmt.Fprintf(&b, " failed %d", p.failed)

	return b.String()
}

// bar is a 20-cell bar.
func (p *progressBar) bar() string {
	const width = 20
	filled := width
	if p.total > 0 {
		filled = p.done * width / p.total
	}

	return "[" + strings.Repeat("#", filled) + strings.Repeat(" ", width-filled) + "]"
}
