package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the run as JUnit XML: one testcase per check of
// Run.Checks (the SLOs, steady-state checks, recovery objectives and the
// integrity check; the same list every view shows), in a suite of its own,
// and, when the run did not complete (aborted, interrupted, crashed, the
// platform failed), a second suite with one failing "run completes" case.
// A check that was not evaluated is a skipped testcase saying why. Every
// testcase carries its detail (query, window, observed, expected) as output.
func WriteJUnit(w io.Writer, r *Run) error {
	name := r.Scenario.Name
	if name == "" {
		name = "gameday"
	}
	prefix := "gameday." + name
	props := []junitProperty{
		{"verdict", string(r.Verdict)}, {"variant", r.Variant}, {"policy", r.Policy.Name},
		{"policyHash", r.Policy.Hash}, {"run", r.ID}, {"scenarioFile", r.Scenario.File},
	}
	for _, k := range sortedKeys(r.Seeds) {
		props = append(props, junitProperty{"seed." + k, strconv.FormatInt(r.Seeds[k], 10)})
	}
	suite := junitSuite{
		Name:       prefix,
		Time:       secs(r.duration()),
		Timestamp:  r.Start.UTC().Format("2006-01-02T15:04:05"),
		Hostname:   r.Environment.Hostname,
		Properties: props,
	}
	for _, c := range r.Checks {
		kind := c.Kind
		if kind == "" {
			kind = KindSLO
		}
		t := c.Text()
		tc := junitCase{Name: c.Name, Classname: prefix + "." + kind, Time: secs(c.WindowEnd - c.WindowStart), SystemOut: checkDetail(c)}
		switch c.Status {
		case StatusPass:
		case StatusFail:
			msg := fmt.Sprintf("observed %s, expected %s", t.Observed, t.Expected)
			if t.Breach != "" {
				msg += "; " + t.Breach
			}
			tc.Failure = &junitFailure{Message: msg, Type: kind, Text: checkDetail(c)}
		default:
			msg := "not evaluated"
			if c.Reason != "" {
				msg += ": " + c.Reason
			}
			tc.Skipped = &junitSkipped{Message: msg}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suites := []junitSuite{suite}
	switch r.Verdict {
	case VerdictAborted, VerdictInterrupted, VerdictError, VerdictCrashed, VerdictRunning:
		tc := junitCase{Name: "run completes", Classname: prefix + ".run", Time: secs(r.duration())}
		msg := "run " + string(r.Verdict)
		if r.Reason != "" {
			msg += ": " + r.Reason
		}
		text := msg
		if a := r.Abort; a != nil {
			text += fmt.Sprintf("\nabort condition: %s\nfired at: %s\nobserved: %s", a.Condition, fmtOffset(a.FiredAt), fmtNum(a.Observed))
		}
		for _, f := range r.Faults {
			if f.Error != "" {
				text += fmt.Sprintf("\nfault %s: %s", f.Name, f.Error)
			}
		}
		tc.Failure = &junitFailure{Message: msg, Type: string(r.Verdict), Text: text}
		suites = append(suites, junitSuite{Name: prefix + ".run", Time: suite.Time, Timestamp: suite.Timestamp,
			Hostname: suite.Hostname, Cases: []junitCase{tc}})
	}
	doc := junitSuites{Name: "gameday " + name, Time: suite.Time}
	for i := range suites {
		s := &suites[i]
		for _, tc := range s.Cases {
			s.Tests++
			if tc.Failure != nil {
				s.Failures++
			}
			if tc.Skipped != nil {
				s.Skipped++
			}
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
	}
	doc.Suites = suites
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func checkDetail(c Check) string {
	t := c.Text()
	var b strings.Builder
	fmt.Fprintf(&b, "status: %s\nkind: %s\n", t.Status, c.Kind)
	if c.Query != "" {
		fmt.Fprintf(&b, "query: %s\n", c.Query)
	}
	fmt.Fprintf(&b, "expected: %s\nobserved: %s\n", t.Expected, t.Observed)
	if t.Breach != "" {
		fmt.Fprintf(&b, "%s\n", t.Breach)
	}
	if t.Window != "" {
		fmt.Fprintf(&b, "window: %s\n", t.Window)
	}
	if c.Kind == KindSLO || c.Kind == KindSteadyState {
		fmt.Fprintf(&b, "samples: %d\n", c.Samples)
	}
	if c.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", c.Reason)
	}
	return b.String()
}

func secs(s float64) string {
	if s < 0 {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}
