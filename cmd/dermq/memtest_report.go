package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// print writes the report to w and returns how many figures passed a limit;
// each such figure gets a WARNING line.
func (r *memoryReport) print(w io.Writer, o memtestOptions) int {
	fmt.Fprintf(w, "model     %s\n", r.model)
	fmt.Fprintf(w, "settings  cpu arena %s, spinning %s, release memory %s, "+
		"release file pages %s, GLIBC_TUNABLES=%s\n", onOff(o.arena), onOff(o.spinning),
		onOff(o.release), onOff(o.release && o.releaseFiles), tunables())
	fmt.Fprintf(w, "images    %d, %d predictions each, %d load cycle(s)\n\n",
		r.images, o.runs, o.cycles)

	fmt.Fprintf(w, "rss before load            %s\n", mb(r.beforeLoad))
	fmt.Fprintf(w, "rss after load             %s  (after the first prediction, which "+
		"loads%s)\n", mb(r.afterLoad), ifOn(o.release, ", and the release a worker does then"))
	if mix := r.afterLoadMix; mix.known {
		fmt.Fprintf(w, "  of which                 %s anonymous, %s file pages, %s shared\n",
			mb(mix.anon), mb(mix.file), mb(mix.shmem))
	}
	fmt.Fprintf(w, "peak rss during the load   %s  (the first job: read, build the session, "+
		"predict)\n", mb(r.loadPeak))
	fmt.Fprintf(w, "peak rss during a job      %s  (model loaded: every prediction after "+
		"the first)\n", mb(r.peak))
	fmt.Fprintf(w, "added rss per prediction   %s  (median back to back, after the job; %s "+
		"at its peak)\n", signedMB(median(r.addedAfter)), signedMB(median(r.addedPeak)))
	fmt.Fprintf(w, "time per prediction        %d ms  (median back to back; the first, with "+
		"the load, %d ms)\n", median(r.times).Milliseconds(), r.firstTime.Milliseconds())
	if o.release {
		fmt.Fprintf(w, "rss when idle              %s  (after the release an idle worker "+
			"does: %d ms, file pages dropped %s)\n", mb(r.whenIdle),
			r.idleRelease.took.Milliseconds(), mb(r.idleRelease.files.Dropped))
		fmt.Fprintf(w, "next prediction            peak %s, %d ms  (after the idle release; "+
			"it faults back in the code it runs)\n", mb(r.afterIdle.peak),
			r.afterIdle.took.Milliseconds())
	}
	fmt.Fprintf(w, "rss after unload           %s  (in this process; an idle worker "+
		"recycles instead)\n", mb(r.afterUnloads[0]))
	if len(r.afterUnloads) > 1 {
		fmt.Fprintf(w, "rss after each unload      %s\n", mbList(r.afterUnloads))
	}

	return r.warn(w, o)
}

// warn writes one WARNING line per figure past a limit and counts them.
func (r *memoryReport) warn(w io.Writer, o memtestOptions) int {
	var warnings []string
	if r.afterLoad > o.maxRSS {
		warnings = append(warnings, fmt.Sprintf("rss after load %s passes --max-rss %s",
			mb(r.afterLoad), mb(o.maxRSS)))
	}
	peak := max(r.peak, r.loadPeak)
	if peak > o.maxRSS {
		warnings = append(warnings, fmt.Sprintf("peak rss %s passes --max-rss %s",
			mb(peak), mb(o.maxRSS)))
	}
	if peak > o.hardRSS {
		warnings = append(warnings, fmt.Sprintf("peak rss %s passes --hard-rss %s: "+
			"jobs would be stopped", mb(peak), mb(o.hardRSS)))
	}
	if took := median(r.times); took > o.maxTime {
		warnings = append(warnings, fmt.Sprintf("time per prediction %s passes --max-time %s",
			took.Round(time.Millisecond), o.maxTime))
	}

	for _, line := range warnings {
		fmt.Fprintln(w, "WARNING: "+line)
	}
	return len(warnings)
}

// ifOn returns s when on is true, else "".
func ifOn(on bool, s string) string {
	if on {
		return s
	}
	return ""
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func tunables() string {
	if v := os.Getenv("GLIBC_TUNABLES"); v != "" {
		return v
	}
	return "(unset)"
}

// mb formats bytes as megabytes with one decimal.
func mb(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func signedMB(b int64) string { return fmt.Sprintf("%+.1f MB", float64(b)/(1<<20)) }

func mbList(bs []uint64) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%.1f", float64(b)/(1<<20))
	}
	return strings.Join(parts, " ") + " MB"
}
