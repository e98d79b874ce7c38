package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"

	"github.com/gameday/gameday/reports"
	"github.com/gameday/gameday/reports/reportstest"
)

// reportState is an in-process CLI with its own streams and working directory.
func reportState(t *testing.T, wd string) (*GlobalState, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	return &GlobalState{
		Ctx:    context.Background(),
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Env:    map[string]string{},
		Getwd:  func() (string, error) { return wd, nil },
		Now:    func() time.Time { return reportstest.Start },
	}, &out, &errb
}

func saveReportRun(t *testing.T, dir string, r *reports.Run) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "run.json")
	if err := r.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReportCommandWritesAllFormats(t *testing.T) {
	wd := t.TempDir()
	saveReportRun(t, filepath.Join(wd, "runs", "a"), reportstest.New(reportstest.Options{Failing: true}))
	gs, out, errb := reportState(t, wd)
	if code := Execute(gs, []string{"report", "runs/a/run.json"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"report.html", "junit.xml", "summary.md"} {
		p := filepath.Join(wd, "runs", "a", f)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
		if !strings.Contains(out.String(), p) {
			t.Errorf("stdout does not list %s:\n%s", p, out.String())
		}
	}
	suites, err := junit.IngestFile(filepath.Join(wd, "runs", "a", "junit.xml"))
	if err != nil || len(suites) != 1 {
		t.Fatalf("junit.xml: %v", err)
	}
	suites[0].Aggregate()
	if suites[0].Totals.Failed != 2 {
		t.Errorf("junit.xml has %d failures, want 2", suites[0].Totals.Failed)
	}
}

func TestReportCommandOutAndFormat(t *testing.T) {
	wd := t.TempDir()
	saveReportRun(t, filepath.Join(wd, "run1"), reportstest.Short())
	gs, _, errb := reportState(t, wd)
	// A run directory works as well as its run.json.
	if code := Execute(gs, []string{"report", "run1", "--out", "ci", "--format", "junit,md"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got, _ := filepath.Glob(filepath.Join(wd, "ci", "*"))
	if len(got) != 2 || filepath.Base(got[0]) != "junit.xml" || filepath.Base(got[1]) != "summary.md" {
		t.Errorf("--out ci --format junit,md wrote %v", got)
	}
	if _, err := os.Stat(filepath.Join(wd, "run1", "report.html")); err == nil {
		t.Error("report.html written although not asked for")
	}
}

func TestReportCommandErrors(t *testing.T) {
	wd := t.TempDir()
	good := saveReportRun(t, filepath.Join(wd, "ok"), reportstest.Short())
	future := filepath.Join(wd, "future.json")
	if err := os.WriteFile(future, []byte(`{"schemaVersion":"gameday.run/v9"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no argument", []string{"report"}, 2, "accepts 1 arg"},
		{"missing file", []string{"report", "absent.json"}, 2, "no such file"},
		{"unknown schema", []string{"report", future}, 2, `schemaVersion "gameday.run/v9"`},
		{"unknown format", []string{"report", good, "--format", "pdf"}, 2, `unknown report format "pdf"`},
		{"compare needs two runs", []string{"compare", good}, 2, "requires at least 2 arg"},
		{"compare unknown schema", []string{"compare", good, future}, 2, "gameday.run/v9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gs, _, errb := reportState(t, wd)
			if code := Execute(gs, c.args); code != c.code {
				t.Errorf("exit %d, want %d (%s)", code, c.code, errb.String())
			}
			if !strings.Contains(errb.String(), c.msg) {
				t.Errorf("stderr %q lacks %q", errb.String(), c.msg)
			}
		})
	}
}

func TestCompareCommand(t *testing.T) {
	wd := t.TempDir()
	a := saveReportRun(t, filepath.Join(wd, "a"), reportstest.Short())
	b := reportstest.New(reportstest.Options{Failing: true, Seed: 3})
	b.Variant = "naive"
	saveReportRun(t, filepath.Join(wd, "b"), b)
	gs, out, errb := reportState(t, wd)
	if code := Execute(gs, []string{"compare", a, "b", "--out", "cmp/out.html"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	dst := filepath.Join(wd, "cmp", "out.html")
	doc, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "#2 payment-slowdown · naive") || strings.TrimSpace(out.String()) != dst {
		t.Errorf("comparison lacks the second run or stdout %q is not its path", out.String())
	}
}
