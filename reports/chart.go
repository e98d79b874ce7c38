package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The Okabe-Ito palette: distinguishable with every common colour-vision
// deficiency; each series also has its own dash pattern, so charts survive
// greyscale printing.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}
var dashes = []string{"", "6 3", "2 2", "8 3 2 3", "1 3", "10 4", "4 2 1 2"}

// chart is the view model of one SVG chart; templates/report.html.tmpl
// draws it. Coordinates are in the viewBox.
type chart struct {
	ID     string
	Title  string
	YLabel string
	XLabel string
	W, H   int
	// plot area
	L, T, R, B float64
	XTicks     []axisTick
	YTicks     []axisTick
	Bands      []band
	Marks      []mark
	HLines     []hline
	Series     []series
	Small      bool
}

type axisTick struct {
	Pos   float64
	Label string
}

type band struct {
	X, W  float64
	Label string
	Title string
	Row   int // label row, so that close bands do not overlap
}

type mark struct {
	X     float64
	Label string
	Abort bool
}

type hline struct {
	Y     float64
	Label string
}

type series struct {
	Name   string
	Color  string
	Dash   string
	Width  float64
	D      string // path
	PX     string // x of each point, comma-separated (hover)
	Values string // label of each point, "|"-separated (hover)
	Hidden bool   // initially hidden (toggle on)
}

// PlotW and PlotH are the plot area's size (for the template).
func (c *chart) PlotW() float64 { return c.R - c.L }
func (c *chart) PlotH() float64 { return c.B - c.T }

// scale maps data values to a pixel range, linear or logarithmic.
type scale struct {
	min, max float64
	log      bool
	p0, p1   float64
}

func (s scale) at(v float64) float64 {
	lo, hi := s.min, s.max
	if s.log {
		v = math.Log10(math.Max(v, s.min))
		lo, hi = math.Log10(s.min), math.Log10(s.max)
	}
	if hi <= lo {
		return s.p0
	}
	f := (v - lo) / (hi - lo)
	f = math.Max(0, math.Min(1, f))
	return s.p0 + f*(s.p1-s.p0)
}

func newChart(id, title string, w, h int) *chart {
	c := &chart{ID: id, Title: title, W: w, H: h, L: 58, T: 26, R: float64(w) - 14, B: float64(h) - 30}
	if h <= 160 {
		c.Small = true
		c.T, c.B, c.L = 8, float64(h)-20, 46
	}
	return c
}

// niceStep returns a round step (1, 2, 5 × 10^n) giving about n ticks.
func niceStep(span float64, n int) float64 {
	if span <= 0 || n <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// niceMax rounds v up to a tick boundary.
func niceMax(v float64, n int) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	s := niceStep(v, n)
	return math.Ceil(v/s) * s
}

// timeScale sets the x axis to seconds 0..dur with readable tick labels.
func (c *chart) timeScale(dur float64) scale {
	if dur <= 0 {
		dur = 1
	}
	sx := scale{min: 0, max: dur, p0: c.L, p1: c.R}
	nt := 8
	if c.Small {
		nt = 4
	}
	step := niceTimeStep(dur / float64(nt))
	for t := 0.0; t <= dur+1e-9; t += step {
		c.XTicks = append(c.XTicks, axisTick{Pos: sx.at(t), Label: fmtOffset(t)})
	}
	return sx
}

func niceTimeStep(raw float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400} {
		if s >= raw {
			return s
		}
	}
	return 86400
}

// linearY sets a linear y axis from 0 to a round maximum above max.
func (c *chart) linearY(max float64, format func(float64) string) scale {
	n := 5
	if c.Small {
		n = 3
	}
	top := niceMax(max, n)
	sy := scale{min: 0, max: top, p0: c.B, p1: c.T}
	step := niceStep(top, n)
	for v := 0.0; v <= top+step/1e6; v += step {
		c.YTicks = append(c.YTicks, axisTick{Pos: sy.at(v), Label: format(v)})
	}
	return sy
}

// rangeY sets a linear y axis fitted to [lo, hi]: from zero when the
// values are spread, else zoomed on their range so that a dip from 0.999 to
// 0.95 shows.
func (c *chart) rangeY(lo, hi float64, format func(float64) string) scale {
	return c.rangeYCapped(lo, hi, math.Inf(1), format)
}

// rangeYCapped is rangeY with an axis that never runs past ceiling (1 for
// a ratio: availability cannot exceed 100 %).
func (c *chart) rangeYCapped(lo, hi, ceiling float64, format func(float64) string) scale {
	if !(lo > 0 && lo > 0.5*hi) {
		return c.linearY(hi, format)
	}
	n := 5
	if c.Small {
		n = 3
	}
	span := hi - lo
	if span <= 0 {
		span = math.Max(math.Abs(hi)*0.01, 1e-9)
	}
	step := niceStep(span*1.2, n)
	bottom := math.Floor((lo-span*0.1)/step) * step
	top := math.Ceil((hi+span*0.1)/step) * step
	if top > ceiling && hi <= ceiling {
		top = ceiling
	}
	sy := scale{min: bottom, max: top, p0: c.B, p1: c.T}
	for i := 0; ; i++ {
		v := bottom + float64(i)*step
		if v > top+step/1e6 {
			break
		}
		c.YTicks = append(c.YTicks, axisTick{Pos: sy.at(v), Label: format(v)})
	}
	return sy
}

// logY sets a logarithmic y axis covering [lo, hi] in whole decades.
func (c *chart) logY(lo, hi float64, format func(float64) string) scale {
	if lo <= 0 {
		lo = 0.1
	}
	if hi <= lo {
		hi = lo * 10
	}
	dlo := math.Pow(10, math.Floor(math.Log10(lo)))
	dhi := math.Pow(10, math.Ceil(math.Log10(hi)))
	if dhi <= dlo {
		dhi = dlo * 10
	}
	sy := scale{min: dlo, max: dhi, log: true, p0: c.B, p1: c.T}
	for v := dlo; v <= dhi*1.0001; v *= 10 {
		c.YTicks = append(c.YTicks, axisTick{Pos: sy.at(v), Label: format(v)})
	}
	return sy
}

// addSeries adds a line through (xs[i], ys[i]); labels are the hover texts.
func (c *chart) addSeries(name string, idx int, xs, ys []float64, sx, sy scale, labels []string) {
	var d, px strings.Builder
	d.Grow(len(xs) * 14)
	for i := range xs {
		x, y := sx.at(xs[i]), sy.at(ys[i])
		if i == 0 {
			d.WriteByte('M')
		} else {
			d.WriteByte('L')
			px.WriteByte(',')
		}
		d.WriteString(ftoa(x))
		d.WriteByte(' ')
		d.WriteString(ftoa(y))
		px.WriteString(ftoa(x))
	}
	c.Series = append(c.Series, series{
		Name:   name,
		Color:  palette[idx%len(palette)],
		Dash:   dashes[idx%len(dashes)],
		Width:  1.6,
		D:      d.String(),
		PX:     px.String(),
		Values: strings.Join(labels, "|"),
	})
}

// addBands shades the actual windows of the injected faults on a time axis.
func (c *chart) addBands(r *Run, sx scale) {
	lastEnd := []float64{}
	for _, f := range r.Faults {
		if f.InjectedAt == nil { // never injected: nothing to shade
			continue
		}
		s, e := f.Window()
		x0, x1 := sx.at(s), sx.at(e)
		row := 0
		for row < len(lastEnd) && lastEnd[row] > x0 {
			row++
		}
		label := f.Name
		if row == len(lastEnd) {
			lastEnd = append(lastEnd, 0)
		}
		lastEnd[row] = x0 + float64(len(label))*6.2 + 6
		c.Bands = append(c.Bands, band{
			X: x0, W: math.Max(x1-x0, 1.5), Label: label, Row: row,
			Title: fmt.Sprintf("%s (%s) %s → %s", f.Name, f.Type, fmtOffset(s), fmtOffset(e)),
		})
	}
}

// addPhaseMarks marks phase boundaries on a time axis.
func (c *chart) addPhaseMarks(r *Run, sx scale) {
	for i, p := range r.Phases {
		if i == 0 && p.Start <= 0 {
			continue
		}
		c.Marks = append(c.Marks, mark{X: sx.at(p.Start), Label: p.Name})
	}
	if a := r.Abort; a != nil {
		c.Marks = append(c.Marks, mark{X: sx.at(a.FiredAt), Label: "abort", Abort: true})
	}
}

func ftoa(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// fmtOffset formats seconds as m:ss or h:mm:ss.
func fmtOffset(s float64) string {
	neg := s < 0
	if neg {
		s = -s
	}
	t := int64(math.Round(s))
	h, m, sec := t/3600, (t/60)%60, t%60
	var out string
	if h > 0 {
		out = fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	} else {
		out = fmt.Sprintf("%d:%02d", m, sec)
	}
	if neg {
		return "-" + out
	}
	return out
}

// fmtMs formats a latency in milliseconds.
func fmtMs(v float64) string {
	switch {
	case v >= 10000:
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + " s"
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	default:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	}
}

// fmtNum formats a number compactly (axis labels, observed values).
func fmtNum(v float64) string {
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case a >= 10000:
		return strconv.FormatFloat(v/1000, 'f', 0, 64) + "k"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

func fmtPct(v float64) string {
	switch {
	case v == 0:
		return "0%"
	case v < 0.01:
		return strconv.FormatFloat(v, 'f', 3, 64) + "%"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64) + "%"
	default:
		return strconv.FormatFloat(v, 'f', 1, 64) + "%"
	}
}

func fmtRate(v float64) string {
	return fmtNum(v) + "/s"
}

// fmtAxis formats an axis tick value: no trailing zeros, k and M for large
// values.
func fmtAxis(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
	}
}
