package loadgen

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// Progress shows a run live: an mpb bar on a terminal, or one plain line per
// interval otherwise (CI logs, and a terminal whose size is 0×0 or cannot be
// read, where a bar would never render). Feed it with Update from
// OnInterval; Close it before printing anything else to w.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	total   time.Duration
	elapsed time.Duration
	line    string
	p       *mpb.Progress
	bar     *mpb.Bar
}

// NewProgress starts a progress display of a run lasting total. tty says
// whether w is an interactive terminal; when w is a file (a terminal's),
// its size is read too, and a size of 0×0 or one that cannot be read gives
// the plain lines.
func NewProgress(w io.Writer, tty bool, total time.Duration) *Progress {
	return newProgress(w, tty && sizeKnown(w), total)
}

// sizeKnown says whether a bar can render on w: w is not a file (a writer
// that stands for a terminal; the bar gets mpb's default width), or its
// terminal reports a size with both sides above 0. mpb renders as many rows
// as the terminal is high: none at all on a 0×0 terminal.
func sizeKnown(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return true
	}
	width, height, err := term.GetSize(int(f.Fd()))
	return err == nil && width > 0 && height > 0
}

func newProgress(w io.Writer, bar bool, total time.Duration) *Progress {
	pr := &Progress{w: w, total: total, line: "starting"}
	if bar {
		pr.p = mpb.New(mpb.WithOutput(w), mpb.WithAutoRefresh(), mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond))
		pr.bar = pr.p.AddBar(int64(total/time.Millisecond),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
				pr.mu.Lock()
				defer pr.mu.Unlock()
				return pr.elapsedLocked()
			}, decor.WCSyncWidth)),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				pr.mu.Lock()
				defer pr.mu.Unlock()
				return pr.line
			})),
		)
	}
	return pr
}

func (p *Progress) elapsedLocked() string {
	return fmt.Sprintf("%s / %s", roundS(p.elapsed), roundS(p.total))
}

func roundS(d time.Duration) string { return d.Round(time.Second).String() }

// Update shows the interval just finished.
func (p *Progress) Update(iv Interval) {
	var count, cancelled, errs int64
	corr := NewHistogram()
	for _, s := range iv.ByName {
		count += s.Count
		cancelled += s.Cancelled
		errs += s.ErrorCount()
		corr.Merge(s.Corrected)
	}
	rate := 0.0
	if iv.Duration > 0 {
		rate = float64(count) / iv.Duration.Seconds()
	}
	target := fmt.Sprintf("target %.0f/s", iv.TargetRate)
	if iv.TargetRate == 0 && iv.TargetVUs > 0 {
		target = fmt.Sprintf("%d VUs", iv.TargetVUs)
	}
	errRatio := 0.0
	if count > 0 {
		errRatio = 100 * float64(errs) / float64(count)
	}
	line := fmt.Sprintf("%.0f/s (%s)  in flight %d  p99 %s  errors %.2f%%", rate, target, iv.InFlight,
		ms(time.Duration(corr.ValueAtQuantile(99))), errRatio)
	if cancelled > 0 {
		line += fmt.Sprintf("  cancelled %d", cancelled)
	}
	p.mu.Lock()
	p.line = line
	p.elapsed = iv.Elapsed
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.SetCurrent(int64(min(iv.Elapsed, p.total) / time.Millisecond))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%s] %s\n", p.elapsedLocked(), line)
}

// Close stops the display (the bar is completed or left where the run stopped).
func (p *Progress) Close() {
	if p.bar == nil {
		return
	}
	p.bar.Abort(false)
	p.p.Wait()
}
