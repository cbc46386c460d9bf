package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// series is every run of one peer, in the order they were made.
type series struct {
	name string
	runs []run
	skip string // why the peer was not measured, if it was not
}

func (s *series) walls() []time.Duration {
	w := make([]time.Duration, len(s.runs))
	for i, r := range s.runs {
		w[i] = r.wall
	}
	return w
}

func (s *series) median() time.Duration { return median(s.walls()) }

// median of ds; the mean of the middle two for an even count.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianInt(xs []int) int {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x)
	}
	return int(median(ds))
}

// spread renders min–max, the honest companion of a median of five.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	return secs(slices.Min(ds)) + "–" + secs(slices.Max(ds))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// requests renders the request total of the runs: one number when every run
// made the same requests, else the median and the range.
func requests(runs []run) string {
	totals := make([]int, len(runs))
	for i, r := range runs {
		totals[i] = r.total
	}
	lo, hi := slices.Min(totals), slices.Max(totals)
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d (%d–%d)", medianInt(totals), lo, hi)
}

func rounds(runs []run) int {
	xs := make([]int, len(runs))
	for i, r := range runs {
		xs[i] = r.rounds
	}
	return medianInt(xs)
}

// byOperation renders per-operation counts, sorted by name.
func byOperation(counts map[string]int) string {
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", op, counts[op]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// printPeerTables writes the wall-time, request and round-trip tables as
// Markdown, so the output can go into docs/performance.md unchanged.
func printPeerTables(w io.Writer, title string, all []*series) {
	fmt.Fprintf(w, "\n%s\n\n", title)
	fmt.Fprintln(w, "| Peer | Wall, median | Min–max | Requests | Sequential round trips | Wall − round trips × latency |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, s := range all {
		if s.skip != "" {
			fmt.Fprintf(w, "| %s | skipped: %s | | | | |\n", s.name, s.skip)
			continue
		}
		rt := rounds(s.runs)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s |\n", s.name, secs(s.median()), spread(s.walls()),
			requests(s.runs), rt, secs(s.median()-time.Duration(rt)*latency))
	}
	fmt.Fprintln(w, "\nRequests per operation (last iteration) and the round trips they formed (operations that overlapped in time share a round trip; → separates round trips):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Peer | Requests by operation | Round trips |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, s := range all {
		if s.skip != "" || len(s.runs) == 0 {
			continue
		}
		last := s.runs[len(s.runs)-1]
		fmt.Fprintf(w, "| %s | %s | %s |\n", s.name, byOperation(last.counts), last.waves)
	}
}

// ratio is one row of the comparison table.
type ratio struct {
	name   string
	num    *series
	den    *series
	target string
}

func printRatios(w io.Writer, rs []ratio) {
	fmt.Fprintln(w, "\n| Ratio of wall-time medians | Measured | Target (issue 6) |")
	fmt.Fprintln(w, "|---|---:|---:|")
	for _, r := range rs {
		v := "n/a (peer skipped)"
		if r.num.skip == "" && r.den.skip == "" && r.den.median() > 0 {
			v = fmt.Sprintf("%.3f×", r.num.median().Seconds()/r.den.median().Seconds())
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", r.name, v, r.target)
	}
}
