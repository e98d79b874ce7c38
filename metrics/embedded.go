package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"
	"gopkg.in/yaml.v3"
)

// scrapeJob is the single scrape configuration of the embedded Prometheus;
// each Target's Job becomes its job label.
const scrapeJob = "gameday"

// EmbeddedConfig configures StartEmbedded.
type EmbeddedConfig struct {
	// Dir is the TSDB directory. It is kept after the run: a real
	// Prometheus can open it with --storage.tsdb.path=Dir.
	Dir string
	// ScrapeInterval is both the scrape and the rule evaluation interval
	// (default 1s).
	ScrapeInterval time.Duration
	// RecordingRules are evaluated every ScrapeInterval by the Prometheus
	// rules manager (DefaultRules() is the usual set).
	RecordingRules []Rule
	// ExternalLabels as in Prometheus' global config: they are not stored on
	// the series in the TSDB.
	ExternalLabels map[string]string
	// Logger receives the Prometheus components' logs (default: discarded).
	Logger *slog.Logger
}

// Embedded is an in-process Prometheus: TSDB, scrape manager, rules manager
// and PromQL engine. It is safe for concurrent use.
type Embedded struct {
	db      *tsdb.DB
	engine  *promql.Engine
	scraper *scrape.Manager
	rules   *rules.Manager
	tsets   chan map[string][]*targetgroup.Group
	done    chan struct{}
	wg      sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// StartEmbedded opens (or creates) the TSDB in cfg.Dir and starts scraping
// (no targets until SetTargets) and evaluating the recording rules. ctx
// bounds the start-up only; stop the Embedded with Close.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.Dir == "" {
		return nil, errors.New("start embedded prometheus: EmbeddedConfig.Dir is required")
	}
	if cfg.ScrapeInterval == 0 {
		cfg.ScrapeInterval = time.Second
	}
	if cfg.ScrapeInterval < 100*time.Millisecond {
		return nil, fmt.Errorf("start embedded prometheus: scrape interval %s is too short (at least 100ms)", cfg.ScrapeInterval)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start embedded prometheus: %w", err)
	}
	promCfg, err := buildConfig(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("start embedded prometheus: %w", err)
	}
	loader, err := newRuleLoader(cfg.RecordingRules)
	if err != nil {
		return nil, fmt.Errorf("start embedded prometheus: %w", err)
	}
	// A private registry: no global state, and several Embedded can coexist.
	reg := prometheus.NewRegistry()

	opts := tsdb.DefaultOptions()
	opts.WALCompression = compression.None // cheaper on CPU; runs are short
	opts.RetentionDuration = 0             // the run's data is kept, whatever its age
	db, err := tsdb.Open(cfg.Dir, logger.With("component", "tsdb"), reg, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("start embedded prometheus: open tsdb %s: %w", cfg.Dir, err)
	}

	interval := cfg.ScrapeInterval
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:                   logger.With("component", "promql"),
		Reg:                      reg,
		MaxSamples:               50_000_000,
		Timeout:                  2 * time.Minute,
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		NoStepSubqueryIntervalFn: func(int64) int64 { return interval.Milliseconds() },
	})

	e := &Embedded{
		db:     db,
		engine: engine,
		tsets:  make(chan map[string][]*targetgroup.Group),
		done:   make(chan struct{}),
	}

	e.scraper, err = scrape.NewManager(&scrape.Options{
		DiscoveryReloadInterval:  model.Duration(100 * time.Millisecond),
		DiscoveryReloadOnStartup: true,
	}, logger.With("component", "scrape"), nil, nil, db, reg)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("start embedded prometheus: scrape manager: %w", err)
	}
	if err := e.scraper.ApplyConfig(promCfg); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("start embedded prometheus: apply scrape config: %w", err)
	}

	e.rules = rules.NewManager(&rules.ManagerOptions{
		Appendable:  db,
		Queryable:   db,
		QueryFunc:   rules.EngineQueryFunc(engine, db),
		Context:     context.WithoutCancel(ctx),
		Logger:      logger.With("component", "rules"),
		Registerer:  reg,
		GroupLoader: loader,
		NotifyFunc:  func(context.Context, string, ...*rules.Alert) {},
	})
	if err := e.rules.Update(interval, []string{ruleGroupFile}, labels.FromMap(cfg.ExternalLabels), "", nil); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("start embedded prometheus: load recording rules: %w", err)
	}

	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		if err := e.scraper.Run(e.tsets); err != nil {
			logger.Error("scrape manager stopped", "err", err)
		}
	}()
	go func() {
		defer e.wg.Done()
		e.rules.Run()
	}()
	return e, nil
}

func buildConfig(cfg EmbeddedConfig, logger *slog.Logger) (*config.Config, error) {
	iv := model.Duration(cfg.ScrapeInterval).String()
	doc := map[string]any{
		"global": map[string]any{
			"scrape_interval":     iv,
			"scrape_timeout":      iv,
			"evaluation_interval": iv,
			"external_labels":     cfg.ExternalLabels,
		},
		"scrape_configs": []map[string]any{{
			"job_name":                         scrapeJob,
			"scrape_native_histograms":         true,
			"always_scrape_classic_histograms": true,
		}},
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal prometheus config: %w", err)
	}
	c, err := config.Load(string(b), logger)
	if err != nil {
		return nil, fmt.Errorf("prometheus config: %w", err)
	}
	return c, nil
}

// SetTargets replaces the set of scraped targets. Call it again whenever
// instances move (a restarted process comes back on a new port): series keep
// their identity as long as Job, Instance and Labels stay the same.
func (e *Embedded) SetTargets(targets []Target) error {
	groups, err := targetGroups(targets)
	if err != nil {
		return fmt.Errorf("set targets: %w", err)
	}
	select {
	case e.tsets <- map[string][]*targetgroup.Group{scrapeJob: groups}:
		return nil
	case <-e.done:
		return errors.New("set targets: embedded prometheus is closed")
	}
}

// targetLabels turns a Target into its Prometheus target labels (address,
// scheme, metrics path, job, instance and the extra labels).
func targetLabels(t Target) (address string, ls model.LabelSet, err error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return "", nil, fmt.Errorf("target %q: %w", t.URL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", nil, fmt.Errorf("target %q: want an absolute http(s) URL like http://127.0.0.1:8080/metrics", t.URL)
	}
	if t.Job == "" {
		return "", nil, fmt.Errorf("target %q: Job is empty", t.URL)
	}
	ls = model.LabelSet{
		model.SchemeLabel:      model.LabelValue(u.Scheme),
		model.MetricsPathLabel: model.LabelValue(pathOr(u.Path, "/metrics")),
		model.JobLabel:         model.LabelValue(t.Job),
	}
	if t.Instance != "" {
		ls[model.InstanceLabel] = model.LabelValue(t.Instance)
	}
	for k, v := range t.Labels {
		ln := model.LabelName(k)
		if !model.LegacyValidation.IsValidLabelName(k) || len(k) >= 2 && k[:2] == "__" {
			return "", nil, fmt.Errorf("target %q: label name %q is not valid (letters, digits, underscores; not starting with __)", t.URL, k)
		}
		if ln == model.JobLabel || ln == model.InstanceLabel {
			return "", nil, fmt.Errorf("target %q: set %q through Target.Job/Target.Instance, not Labels", t.URL, k)
		}
		ls[ln] = model.LabelValue(v)
	}
	return u.Host, ls, nil
}

func pathOr(p, def string) string {
	if p == "" {
		return def
	}
	return p
}

func targetGroups(targets []Target) ([]*targetgroup.Group, error) {
	groups := make([]*targetgroup.Group, 0, len(targets))
	seen := make(map[string]string, len(targets))
	for i, t := range targets {
		addr, ls, err := targetLabels(t)
		if err != nil {
			return nil, err
		}
		id := ls.String() + "@" + addr
		if t.Instance != "" {
			id = ls.String()
		}
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("targets %q and %q have the same job, instance and labels", prev, t.URL)
		}
		seen[id] = t.URL
		groups = append(groups, &targetgroup.Group{
			Source:  fmt.Sprintf("gameday/%d", i),
			Targets: []model.LabelSet{{model.AddressLabel: model.LabelValue(addr)}},
			Labels:  ls,
		})
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Source < groups[j].Source })
	return groups, nil
}

// Querier returns a Querier over the embedded TSDB.
func (e *Embedded) Querier() Querier { return embeddedQuerier{e} }

// Appender returns an appender on the TSDB, for samples that do not come
// from a scrape (tests use it to build exact timelines); Commit it to make
// the samples queryable.
func (e *Embedded) Appender(ctx context.Context) storage.Appender { return e.db.Appender(ctx) }

type embeddedQuerier struct{ e *Embedded }

func (q embeddedQuerier) Instant(ctx context.Context, qs string, t time.Time) (model.Value, error) {
	qry, err := q.e.engine.NewInstantQuery(ctx, q.e.db, nil, qs, t)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", qs, err)
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("query %q: %w", qs, res.Err)
	}
	v, err := toModelValue(res.Value)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", qs, err)
	}
	return v, nil
}

func (q embeddedQuerier) Range(ctx context.Context, qs string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	if step <= 0 {
		return nil, fmt.Errorf("range query %q: step must be positive, got %s", qs, step)
	}
	qry, err := q.e.engine.NewRangeQuery(ctx, q.e.db, nil, qs, start, end, step)
	if err != nil {
		return nil, fmt.Errorf("range query %q: %w", qs, err)
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("range query %q: %w", qs, res.Err)
	}
	m, err := res.Matrix()
	if err != nil {
		return nil, fmt.Errorf("range query %q: %w", qs, err)
	}
	return toModelMatrix(m), nil
}

// Close stops scraping and rule evaluation, writes the in-memory head to a
// persistent block and closes the TSDB, so that a real
// `prometheus --storage.tsdb.path=DIR` (or promtool tsdb) can open it.
// Close is idempotent.
func (e *Embedded) Close() error {
	e.closeOnce.Do(func() {
		close(e.done)
		e.scraper.Stop()
		e.rules.Stop()
		e.wg.Wait()
		var errs []error
		if err := e.flush(); err != nil {
			errs = append(errs, err)
		}
		if err := e.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close tsdb: %w", err))
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// flush compacts everything in the head into a block on disk.
func (e *Embedded) flush() error {
	head := e.db.Head()
	if head.NumSeries() == 0 || head.MinTime() > head.MaxTime() {
		return nil
	}
	if err := e.db.CompactHead(tsdb.NewRangeHead(head, head.MinTime(), head.MaxTime())); err != nil {
		return fmt.Errorf("flush tsdb head: %w", err)
	}
	return nil
}
