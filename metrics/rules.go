package metrics

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Rule is a recording rule: the result of Expr is stored as the metric Record.
type Rule struct{ Record, Expr string }

// Error classification of gameday_client_requests_total{code}: an error is a
// 5xx status or a transport failure (any code that is not a number: timeout,
// refused, reset, transport, ...). 1xx-4xx are answers, not errors: a 404 or
// a 429 is the service saying no, not the service failing. Requests the
// harness's own stop cut short (code "canceled", loadgen.ClassCanceled: an
// interrupt, an abort, the end-of-run hard stop) are neither errors nor
// successes: they are left out of every ratio, as loadgen counts them apart.
const (
	errorCodeRegex = `5..|[^0-9].*`
	countedSel     = `code!="canceled"`
	errorSel       = `code=~"` + errorCodeRegex + `",` + countedSel
	requestsMetric = "gameday_client_requests_total"
	durationMetric = "gameday_client_request_duration_seconds"
)

// DefaultRules returns the gameday:* recording rules over the load
// generator's client metrics. Every SLI exists across all scenarios
// (gameday:<sli>:<window>, no labels) and per scenario
// (gameday:<sli>:<window>:by_scenario, label scenario). A ratio over a
// window without any request is 0/0 = NaN, which SLO evaluation treats as no
// data.
func DefaultRules() []Rule {
	var rs []Rule
	for _, agg := range []struct{ suffix, by string }{{"", ""}, {":by_scenario", "scenario"}} {
		sum := "sum"
		le := "le"
		if agg.by != "" {
			sum = "sum by (" + agg.by + ")"
			le = agg.by + ", le"
		}
		rate := func(sel, w string) string {
			return fmt.Sprintf("%s(rate(%s%s[%s]))", sum, requestsMetric, sel, w)
		}
		// A scenario with traffic but no error series yet has error rate 0,
		// not "no series" (which would read as no data).
		errRatio := func(w string) string {
			total := rate("{"+countedSel+"}", w)
			return fmt.Sprintf("(%s or 0 * %s) / %s", rate("{"+errorSel+"}", w), total, total)
		}
		// Native histogram when the target exposes one and the Prometheus
		// ingests it; otherwise the classic buckets.
		quantile := func(q, w string) string {
			return fmt.Sprintf("histogram_quantile(%s, %s(rate(%s[%s]))) or histogram_quantile(%s, sum by (%s) (rate(%s_bucket[%s])))",
				q, sum, durationMetric, w, q, le, durationMetric, w)
		}
		rs = append(rs,
			Rule{"gameday:throughput:rate10s" + agg.suffix, rate("{"+countedSel+"}", "10s")},
			Rule{"gameday:error:ratio10s" + agg.suffix, errRatio("10s")},
			Rule{"gameday:error:ratio30s" + agg.suffix, errRatio("30s")},
			Rule{"gameday:availability:ratio10s" + agg.suffix, "1 - (" + errRatio("10s") + ")"},
			Rule{"gameday:availability:ratio30s" + agg.suffix, "1 - (" + errRatio("30s") + ")"},
			Rule{"gameday:latency:p50_10s" + agg.suffix, quantile("0.5", "10s")},
			Rule{"gameday:latency:p95_10s" + agg.suffix, quantile("0.95", "10s")},
			Rule{"gameday:latency:p99_10s" + agg.suffix, quantile("0.99", "10s")},
			Rule{"gameday:latency:p99_30s" + agg.suffix, quantile("0.99", "30s")},
		)
	}
	return rs
}

// ruleGroupFile is the identifier of the single in-memory rule group file.
const ruleGroupFile = "gameday-recording-rules"

// ruleLoader hands the rules manager the recording rules from memory, so no
// rule file has to be written.
type ruleLoader struct {
	groups *rulefmt.RuleGroups
	parser parser.Parser
}

func newRuleLoader(rs []Rule) (ruleLoader, error) {
	p := parser.NewParser(parser.Options{})
	rg := rulefmt.RuleGroup{Name: "gameday"}
	seen := map[string]bool{}
	var errs []error
	for _, r := range rs {
		if !model.LegacyValidation.IsValidMetricName(r.Record) {
			errs = append(errs, fmt.Errorf("recording rule %q: record must be a metric name (letters, digits, _ and :)", r.Record))
			continue
		}
		if seen[r.Record] {
			errs = append(errs, fmt.Errorf("recording rule %q: defined twice", r.Record))
			continue
		}
		seen[r.Record] = true
		if _, err := p.ParseExpr(r.Expr); err != nil {
			errs = append(errs, fmt.Errorf("recording rule %q: expr: %w", r.Record, err))
			continue
		}
		rg.Rules = append(rg.Rules, rulefmt.Rule{Record: r.Record, Expr: r.Expr})
	}
	if len(errs) > 0 {
		return ruleLoader{}, errors.Join(errs...)
	}
	groups := &rulefmt.RuleGroups{}
	if len(rg.Rules) > 0 {
		groups.Groups = []rulefmt.RuleGroup{rg}
	}
	return ruleLoader{groups: groups, parser: p}, nil
}

func (l ruleLoader) Load(string, bool, model.ValidationScheme) (*rulefmt.RuleGroups, []error) {
	return l.groups, nil
}

func (l ruleLoader) Parse(q string) (parser.Expr, error) { return l.parser.ParseExpr(q) }

// WriteRuleFile writes rules as a Prometheus rule file (one group named
// gameday evaluated every interval), for a remote Prometheus to load with
// rule_files, so the gameday:* series exist there too. The write is atomic.
func WriteRuleFile(path string, rs []Rule, interval time.Duration) error {
	l, err := newRuleLoader(rs)
	if err != nil {
		return fmt.Errorf("write rule file %s: %w", path, err)
	}
	for i := range l.groups.Groups {
		l.groups.Groups[i].Interval = model.Duration(interval)
	}
	b, err := yaml.Marshal(l.groups)
	if err != nil {
		return fmt.Errorf("write rule file %s: %w", path, err)
	}
	if err := writeAtomic(path, b); err != nil {
		return fmt.Errorf("write rule file %s: %w", path, err)
	}
	return nil
}
