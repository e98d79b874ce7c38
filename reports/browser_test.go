package reports_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
)

// chromium finds Debian's chromium (or another Chrome) for the browser tests.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH: install it (apt-get install -y chromium) to run the headless-browser test")
	return ""
}

// runChromium runs headless chromium on a file and returns stdout and the
// console messages it logged (any console output is an error: the report's
// script never logs).
func runChromium(t *testing.T, bin string, args ...string) (stdout string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	for _, line := range strings.Split(errb.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	return out.String(), console
}

func artifactsDir(t *testing.T) string {
	if d := os.Getenv("GAMEDAY_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// svgAttrs returns the attributes of the chart SVG inside the figure with id.
func svgAttrs(t *testing.T, dom, id string) map[string]string {
	t.Helper()
	fig := regexp.MustCompile(`<figure class="chart[^"]*" id="` + regexp.QuoteMeta(id) + `">\s*(?:<figcaption>[^<]*</figcaption>)?\s*<svg([^>]*)>`).FindStringSubmatch(dom)
	if fig == nil {
		t.Fatalf("chart %s not in the DOM", id)
	}
	attrs := map[string]string{}
	for _, m := range regexp.MustCompile(`([a-z-]+)="([^"]*)"`).FindAllStringSubmatch(fig[1], -1) {
		attrs[m[1]] = m[2]
	}
	return attrs
}

func TestBrowserRendersReport(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	dir := t.TempDir()
	r := reportstest.New(reportstest.Options{Failing: true, Duration: 5 * time.Minute})
	if err := reports.WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.Join(dir, reports.HTMLFile)

	// A copy of the report with a probe that hovers the middle of the
	// latency chart and legend-clicks "max": the hover tooltip and the
	// toggle must work.
	doc, err := os.ReadFile(filepath.Join(dir, reports.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	probe := `<script>(function(){
var svg=document.querySelector("#latency svg"), r=svg.getBoundingClientRect();
svg.dispatchEvent(new MouseEvent("mousemove",{clientX:r.left+r.width/2,clientY:r.top+r.height/2,bubbles:true}));
var tip=document.querySelector(".tip");
document.body.setAttribute("data-probe-tip", tip.style.display+"|"+tip.textContent);
document.querySelector('#latency li[data-i="2"]').click();
document.body.setAttribute("data-probe-off", document.querySelectorAll("#latency path.series.off").length);
})();</script></body>`
	probed := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probed, bytes.Replace(doc, []byte("</body>"), []byte(probe), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, console := runChromium(t, bin, "--dump-dom", "file://"+probed)
	if len(console) > 0 {
		t.Errorf("console messages while loading the report:\n%s", strings.Join(console, "\n"))
	}
	charts := 3 + 1 // latency, throughput, errors, spectrum, and one per check with an SLI series
	for _, c := range r.Checks {
		if len(c.Series) > 0 {
			charts++
		}
	}
	if !strings.Contains(dom, `data-report-ready="`+itoa(charts)+`"`) {
		t.Fatalf("the report's script did not run over %d charts (no data-report-ready marker)", charts)
	}
	tip := regexp.MustCompile(`data-probe-tip="([^"]*)"`).FindStringSubmatch(dom)
	if tip == nil || !strings.HasPrefix(tip[1], "block|") || !strings.Contains(tip[1], "p50 ") || !strings.Contains(tip[1], "p99 ") || !strings.Contains(tip[1], "max ") {
		t.Errorf("hovering the latency chart shows tooltip %q, want p50, p99 and max values", tip)
	}
	if !strings.Contains(dom, `data-probe-off="1"`) {
		t.Error("clicking a legend entry did not hide its series")
	}
	lat := svgAttrs(t, dom, "latency")
	if lat["data-rendered-series"] != "3" || lat["data-rendered-names"] != "p50,p99,max" || lat["data-rendered-bands"] != "2" {
		t.Errorf("latency chart rendered %v, want series p50,p99,max and 2 fault bands", lat)
	}
	for _, id := range []string{"throughput", "errors"} {
		if a := svgAttrs(t, dom, id); a["data-rendered-series"] != "1" || a["data-rendered-bands"] != "2" {
			t.Errorf("%s chart rendered %v, want 1 series and 2 fault bands", id, a)
		}
	}
	spec := svgAttrs(t, dom, "spectrum")
	if spec["data-rendered-series"] != itoa(len(r.Phases)) || !strings.HasPrefix(spec["data-rendered-names"], "baseline,slow-payment") {
		t.Errorf("spectrum rendered %v, want one line per phase (%d)", spec, len(r.Phases))
	}
	if a := svgAttrs(t, dom, "sli-1"); a["data-rendered-series"] != "1" || a["data-rendered-bands"] != "1" {
		t.Errorf("SLI chart rendered %v, want its series and window", a)
	}

	shot := filepath.Join(artifactsDir(t), "report.png")
	if _, console := runChromium(t, bin, "--screenshot="+shot, "--window-size=1280,2400", url); len(console) > 0 {
		t.Errorf("console messages while taking the screenshot:\n%s", strings.Join(console, "\n"))
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
		t.Errorf("screenshot is %v, want 1280x2400", b)
	}
	t.Logf("screenshot: %s", shot)
}

// TestBrowserCatchesConsoleErrors proves that the console check above can
// fail: a page whose script throws is reported.
func TestBrowserCatchesConsoleErrors(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	page := filepath.Join(t.TempDir(), "boom.html")
	if err := os.WriteFile(page, []byte(`<!DOCTYPE html><body><script>throw new Error("boom")</script></body>`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, console := runChromium(t, bin, "--dump-dom", "file://"+page)
	if len(console) != 1 || !strings.Contains(console[0], "Uncaught Error: boom") {
		t.Errorf("console = %q, want the uncaught error", console)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
