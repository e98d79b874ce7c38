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

// WriteJUnit writes the run as JUnit XML: one testcase per SLO, steady-state
// check, recovery time and the integrity check, plus one for the run itself
// when it was aborted, interrupted or failed on the platform. Failures carry
// the observed value against the expected bound.
func WriteJUnit(w io.Writer, r *Run) error {
	name := r.Scenario.Name
	if name == "" {
		name = "gameday"
	}
	prefix := "gameday." + name
	suite := junitSuite{
		Name:      prefix,
		Time:      secs(r.duration()),
		Timestamp: r.Start.UTC().Format("2006-01-02T15:04:05"),
		Hostname:  r.Environment.Hostname,
		Properties: []junitProperty{
			{"verdict", string(r.Verdict)}, {"variant", r.Variant}, {"policy", r.Policy.Name},
			{"policyHash", r.Policy.Hash}, {"run", r.ID}, {"scenarioFile", r.Scenario.File},
		},
	}
	for _, k := range sortedKeys(r.Seeds) {
		suite.Properties = append(suite.Properties, junitProperty{"seed." + k, strconv.FormatInt(r.Seeds[k], 10)})
	}
	for _, c := range r.Checks {
		kind := c.Kind
		if kind == "" {
			kind = KindSLO
		}
		tc := junitCase{Name: c.Name, Classname: prefix + "." + kind, Time: secs(c.WindowEnd - c.WindowStart)}
		detail := checkDetail(c)
		switch {
		case c.Skipped:
			msg := "not evaluated"
			if c.Reason != "" {
				msg += ": " + c.Reason
			}
			tc.Skipped = &junitSkipped{Message: msg}
		case !c.Pass:
			tc.Failure = &junitFailure{
				Message: fmt.Sprintf("observed %s, expected %s", fmtObserved(c), c.Bound),
				Type:    kind,
				Text:    detail,
			}
		default:
			tc.SystemOut = detail
		}
		suite.Cases = append(suite.Cases, tc)
	}
	for _, rc := range r.Recovery {
		tc := junitCase{Name: fmt.Sprintf("%s recovers after %s", rc.SLI, rc.Fault), Classname: prefix + ".recovery", Time: "0"}
		if !rc.Pass {
			tc.Failure = &junitFailure{
				Message: fmt.Sprintf("observed %s, expected %s", fmtRecovery(rc.Seconds), rc.Bound),
				Type:    "recovery",
				Text:    fmt.Sprintf("fault: %s\nSLI: %s\nrecovery: %s\nbound: %s", rc.Fault, rc.SLI, fmtRecovery(rc.Seconds), rc.Bound),
			}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if in := r.Integrity; in != nil {
		tc := junitCase{Name: "nothing acknowledged was lost", Classname: prefix + ".integrity", Time: "0"}
		var counts []string
		for _, k := range sortedKeys(in.Counts) {
			counts = append(counts, fmt.Sprintf("%s=%d", k, in.Counts[k]))
		}
		switch {
		case !in.Checked:
			tc.Skipped = &junitSkipped{Message: "integrity was not checked"}
		case !in.OK:
			tc.Failure = &junitFailure{
				Message: "integrity check failed: " + strings.Join(in.Problems, "; "),
				Type:    "integrity",
				Text:    "counts: " + strings.Join(counts, " ") + "\n" + strings.Join(in.Problems, "\n"),
			}
		default:
			tc.SystemOut = "counts: " + strings.Join(counts, " ")
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if r.Verdict == VerdictAborted || r.Verdict == VerdictInterrupted || r.Verdict == VerdictError {
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
		suite.Cases = append(suite.Cases, tc)
	}
	for _, tc := range suite.Cases {
		suite.Tests++
		if tc.Failure != nil {
			suite.Failures++
		}
		if tc.Skipped != nil {
			suite.Skipped++
		}
	}
	doc := junitSuites{
		Name: "gameday " + name, Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []junitSuite{suite},
	}
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
	var b strings.Builder
	fmt.Fprintf(&b, "kind: %s\n", c.Kind)
	if c.Query != "" {
		fmt.Fprintf(&b, "query: %s\n", c.Query)
	}
	fmt.Fprintf(&b, "expected: %s\nobserved: %s\n", c.Bound, fmtObserved(c))
	if c.Window != "" {
		fmt.Fprintf(&b, "window: %s (%s → %s)\n", c.Window, fmtOffset(c.WindowStart), fmtOffset(c.WindowEnd))
	}
	fmt.Fprintf(&b, "samples: %d\n", c.Samples)
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
