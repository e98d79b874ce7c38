package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/internal/lib/procfs"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// Instance states.
const (
	StateRunning = fleet.StateRunning
	StatePaused  = fleet.StatePaused
	StateDown    = fleet.StateDown    // exited or killed, restart pending or left dead
	StateStopped = fleet.StateStopped // the deployment is closed
)

// InstanceStatus describes one instance for people and reports.
type InstanceStatus struct {
	faults.Instance
	PID       int    // the child's pid (0 while down)
	StartTime uint64 // its start time, clock ticks since boot
	State     string
	Addr      string // the child's own address (changes on restart)
	Stable    string // stable address for metrics and admin (a plain proxy)
	Restarts  int
	Log       string
}

type instance struct {
	// Member: service, index, id and Ctl, the stable address of /metrics
	// and /admin (never faulted).
	fleet.Member
	args    []string
	logPath string
	inbound []*proxy.Proxy // every edge proxy whose upstream is this instance

	// Slot: the current process (nil while down), its state, its restarts
	// (backoff, a kill's policy, Restart's wake-up).
	fleet.Slot[*process]
}

// Deployment is the shop running as local child processes.
type Deployment struct {
	cfg    Config
	client *http.Client
	ctx    context.Context // supervisors' lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup

	graph  *fleet.Graph
	roster fleet.Roster[*instance]
	links  map[faults.Edge][]*proxy.Proxy

	mu        sync.Mutex
	closing   bool
	closeOnce sync.Once
	closeErr  error
}

// Start deploys every instance of every service, callees first, each
// behind its inbound proxies, and returns once all are ready. On error
// everything started so far is stopped.
func Start(ctx context.Context, cfg Config) (*Deployment, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	ordered, err := fleet.Order(cfg.Services, cfg.Edges)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	for _, sub := range []string{"logs", "data"} {
		if err := os.MkdirAll(filepath.Join(cfg.RunDir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	d := &Deployment{
		cfg:    cfg,
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		ctx:    sctx,
		cancel: cancel,
		graph:  fleet.NewGraph(cfg.Services, cfg.Edges, cfg.Gateway),
		links:  map[faults.Edge][]*proxy.Proxy{},
	}
	if cfg.Journal != nil {
		if _, err := cfg.Journal.BeginRun(cfg.RunID); err != nil {
			cancel()
			return nil, fmt.Errorf("local: %w", err)
		}
	}
	for _, s := range ordered {
		if err := d.startService(ctx, s); err != nil {
			cerr := d.Close(context.WithoutCancel(ctx))
			return nil, errors.Join(fmt.Errorf("local: %w", err), cerr)
		}
	}
	return d, nil
}

func (d *Deployment) seed(name string) int64 { return fleet.Seed(d.cfg.Seed, name) }

func (d *Deployment) startService(ctx context.Context, s Service) error {
	var upstreams []string
	for _, e := range d.cfg.Edges {
		if e.From != s.Name {
			continue
		}
		var urls []string
		for _, p := range d.links[e] {
			urls = append(urls, "http://"+p.Addr())
		}
		upstreams = append(upstreams, "--upstream", e.To+"="+strings.Join(urls, ","))
	}
	for i := 0; i < s.Replicas; i++ {
		id := fmt.Sprintf("%s-%d", s.Name, i)
		args := []string{"serve", "--service", s.Name, "--listen", "127.0.0.1:0", "--instance", id}
		switch {
		case d.cfg.Policy != "":
			args = append(args, "--policy", d.cfg.Policy)
		case d.cfg.Variant != "":
			args = append(args, "--variant", d.cfg.Variant)
		}
		args = append(args, upstreams...)
		// Replicas of a service share its store (DIR/SERVICE.db, locked per
		// write by the shop), as replicas behind one database would.
		args = append(args, "--data", filepath.Join(d.cfg.RunDir, "data"), "--replicas", strconv.Itoa(s.Replicas))
		in := &instance{Member: fleet.Member{Service: s.Name, Index: i, ID: id}, args: args, Slot: fleet.Slot[*process]{Life: fleet.NewLife(d.cfg.Restart)},
			logPath: filepath.Join(d.cfg.RunDir, "logs", id+".log")}
		d.mu.Lock()
		d.roster.Add(in)
		d.mu.Unlock()
		p, err := d.spawn(ctx, in)
		if err != nil {
			return err
		}
		ctl, err := proxy.Listen(context.Background(), "127.0.0.1:0", p.addr, proxy.WithName(id+"/control"), proxy.WithSeed(d.seed(id)))
		if err != nil {
			d.endProcess(p, 0)
			return fmt.Errorf("control proxy of %s: %w", id, err)
		}
		in.Ctl = ctl
		in.inbound = append(in.inbound, ctl)
		for _, e := range d.graph.Edges() {
			if e.To != s.Name {
				continue
			}
			// The metrics label is the edge; the proxies of one edge (one per
			// callee instance) add up under it.
			name := e.From + "->" + e.To
			opts := []proxy.Option{proxy.WithName(name), proxy.WithSeed(d.seed(fmt.Sprintf("%s#%d", name, i)))}
			if d.cfg.ProxyMetrics != nil {
				opts = append(opts, proxy.WithMetrics(d.cfg.ProxyMetrics))
			}
			lp, err := proxy.Listen(context.Background(), "127.0.0.1:0", p.addr, opts...)
			if err != nil {
				d.endProcess(p, 0)
				return fmt.Errorf("proxy %s: %w", name, err)
			}
			in.inbound = append(in.inbound, lp)
			d.links[e] = append(d.links[e], lp)
		}
		in.Mu.Lock()
		in.Cur, in.State = p, StateRunning
		in.Mu.Unlock()
		d.wg.Add(1)
		go d.supervise(in, p)
	}
	return nil
}

// supervise owns an instance's restarts (see fleet.Slot.Supervise): it
// waits for the child to exit and applies the kill fault's or the
// deployment's restart policy; each new child gets the inbound proxies.
func (d *Deployment) supervise(in *instance, p *process) {
	defer d.wg.Done()
	in.Supervise(d.ctx, p, fleet.Driver[*process]{
		Exited:  func(p *process) <-chan struct{} { return p.done },
		Began:   func(p *process) time.Time { return p.started },
		Start:   func(ctx context.Context) (*process, error) { return d.spawn(ctx, in) },
		Gone:    d.forget,
		Discard: func(p *process) { d.endProcess(p, 0) },
		Up: func(p *process) {
			for _, px := range in.inbound {
				px.SetUpstream(p.addr)
			}
		},
		Closing:     d.isClosing,
		EndsOnClose: true,
	})
}

func (d *Deployment) isClosing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closing
}

// Close stops every child (SIGCONT, SIGTERM, SIGKILL after the grace
// period or when ctx ends), closes the proxies and clears the journal.
// It is idempotent.
func (d *Deployment) Close(ctx context.Context) error {
	d.closeOnce.Do(func() { d.closeErr = d.close(ctx) })
	return d.closeErr
}

func (d *Deployment) close(ctx context.Context) error {
	d.mu.Lock()
	d.closing = true
	all := append([]*instance(nil), d.roster.All()...)
	d.mu.Unlock()
	d.cancel()
	var procs []*process
	for _, in := range all {
		in.Mu.Lock()
		if in.Cur != nil {
			procs = append(procs, in.Cur)
		}
		in.Mu.Unlock()
	}
	for _, p := range procs {
		_ = p.signal(syscall.SIGCONT)
		_ = p.signal(syscall.SIGTERM)
	}
	grace := time.NewTimer(d.cfg.StopGrace)
	defer grace.Stop()
	for _, p := range procs {
		select {
		case <-p.done:
		case <-grace.C:
		case <-ctx.Done():
		}
	}
	for _, p := range procs {
		d.endProcess(p, 0)
	}
	d.wg.Wait()
	var errs []error
	for _, in := range all {
		for _, px := range in.inbound {
			if err := px.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close proxy of %s: %w", in.ID, err))
			}
		}
	}
	d.client.CloseIdleConnections()
	if d.cfg.Journal != nil {
		if err := d.cfg.Journal.EndRun(d.cfg.RunID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Name implements faults.Runtime.
func (d *Deployment) Name() string { return Name }

// RunID is the run id every child carries in GAMEDAY_RUN_ID.
func (d *Deployment) RunID() string { return d.cfg.RunID }

// AdminToken guards the children's /admin API.
func (d *Deployment) AdminToken() string { return d.cfg.AdminToken }

// RunDir is where the logs and data of the instances are.
func (d *Deployment) RunDir() string { return d.cfg.RunDir }

// GatewayURL is the URL the load generator uses: the first gateway
// instance's inbound proxy (edge client → gateway).
func (d *Deployment) GatewayURL() string {
	urls := d.GatewayURLs()
	if len(urls) == 0 {
		return ""
	}
	return urls[0]
}

// GatewayURLs lists the inbound proxy of every gateway instance.
func (d *Deployment) GatewayURLs() []string {
	return d.EdgeURLs(faults.ClientCaller, d.cfg.Gateway)
}

// EdgeURLs lists the proxies of the edge from → to, one per callee
// instance, as base URLs.
func (d *Deployment) EdgeURLs(from, to string) []string {
	var out []string
	for _, p := range d.links[faults.Edge{From: from, To: to}] {
		out = append(out, "http://"+p.Addr())
	}
	return out
}

// Targets lists every instance's /metrics through its stable control
// address, which survives restarts.
func (d *Deployment) Targets() []metrics.Target { return d.roster.Targets(Name) }

// AdminURL is the base URL of an instance's admin API (stable across restarts).
func (d *Deployment) AdminURL(id string) (string, error) { return d.roster.AdminURL(id) }

// Status describes every instance.
func (d *Deployment) Status() []InstanceStatus {
	var out []InstanceStatus
	for _, in := range d.roster.All() {
		in.Mu.Lock()
		s := InstanceStatus{State: in.State, Stable: in.Ctl.Addr(), Restarts: in.Life.Restarts(), Log: in.logPath,
			Instance: faults.Instance{Service: in.Service, Index: in.Index, ID: in.ID}}
		if in.Cur != nil {
			s.Addr, s.PID, s.StartTime, s.Ref = in.Cur.addr, in.Cur.ref.PID, in.Cur.ref.StartTime, in.Cur.ref.instanceRef()
		}
		in.Mu.Unlock()
		out = append(out, s)
	}
	return out
}

func (d *Deployment) instance(id string) (*instance, error) { return d.roster.Get(id) }

// Instances implements faults.InstanceLister: the running (or paused)
// instances of a service.
func (d *Deployment) Instances(service string) ([]faults.Instance, error) {
	if err := d.graph.CheckService(service); err != nil {
		return nil, err
	}
	return d.roster.Running(service), nil
}

// CurrentRef implements fleet.Instance: the current start's reference,
// if the instance is up.
func (in *instance) CurrentRef() (string, bool) {
	in.Mu.Lock()
	defer in.Mu.Unlock()
	if in.Cur == nil || in.Cur.exited() {
		return "", false
	}
	return in.Cur.ref.instanceRef(), true
}

// current returns the instance and its process if the process is still the
// one described by fi.
func (d *Deployment) current(fi faults.Instance) (*instance, *process, error) {
	in, err := d.instance(fi.ID)
	if err != nil {
		return nil, nil, err
	}
	in.Mu.Lock()
	defer in.Mu.Unlock()
	if in.Cur == nil || in.Cur.ref.instanceRef() != fi.Ref {
		return in, nil, nil
	}
	return in, in.Cur, nil
}

// Kill implements faults.ProcessRuntime: SIGKILL to the instance's process
// group, then the fault's restart policy (restart "delay" with restartDelay
// 0s restarts at once, as on the docker runtime). It returns once the
// process is gone.
func (d *Deployment) Kill(ctx context.Context, fi faults.Instance, pol faults.RestartPolicy) error {
	in, _, err := d.current(fi)
	if err != nil {
		return err
	}
	in.Mu.Lock()
	p := in.Cur
	if p == nil || p.ref.instanceRef() != fi.Ref {
		in.Mu.Unlock()
		return fmt.Errorf("%s (%s) is no longer running", fi.ID, fi.Ref)
	}
	in.Life.Pend(pol)
	err = p.signal(syscall.SIGKILL)
	in.Mu.Unlock()
	if err != nil {
		return err
	}
	return in.AwaitDown(ctx, p, p.done, "kill", fi.ID)
}

// Restart implements faults.ProcessRuntime: it wakes a down instance and
// waits until it is up; a running instance is left alone.
func (d *Deployment) Restart(ctx context.Context, fi faults.Instance) error {
	return d.roster.Restart(ctx, fi)
}

// Pause implements faults.Pauser (SIGSTOP); it returns once the
// process is stopped.
func (d *Deployment) Pause(ctx context.Context, fi faults.Instance) error {
	in, p, err := d.current(fi)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("%s (%s) is no longer running", fi.ID, fi.Ref)
	}
	if err := p.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	in.Mu.Lock()
	if in.Cur == p {
		in.State = StatePaused
	}
	in.Mu.Unlock()
	return waitState(ctx, p, func(s byte) bool { return s == 'T' })
}

// Resume implements faults.Pauser (SIGCONT). Resuming an instance
// that is gone or already running is not an error.
func (d *Deployment) Resume(ctx context.Context, fi faults.Instance) error {
	in, p, err := d.current(fi)
	if err != nil || p == nil {
		return err
	}
	if err := p.signal(syscall.SIGCONT); err != nil {
		if errors.Is(err, ErrNotOwned) {
			return nil
		}
		return err
	}
	in.Mu.Lock()
	if in.Cur == p {
		in.State = StateRunning
	}
	in.Mu.Unlock()
	return waitState(ctx, p, func(s byte) bool { return s != 'T' })
}

// PauseUndo implements faults.Pauser: recovery resumes the
// instance's process (its group leader) if it is still the one paused.
func (d *Deployment) PauseUndo(fi faults.Instance) journal.Undo {
	_, p, err := d.current(fi)
	if err != nil || p == nil {
		return journal.Undo{Kind: journal.EndsWithHarness, Detail: fmt.Sprintf("pause of %s: not running", fi.ID)}
	}
	return journal.Undo{Kind: UndoResume, Ref: withID(p.ref.ref(), fi.ID), Detail: "pause of " + fi.ID}
}

func waitState(ctx context.Context, p *process, ok func(byte) bool) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	deadline := time.NewTimer(2 * time.Second)
	defer deadline.Stop()
	for {
		s, err := procfs.State(p.ref.PID)
		if err != nil || ok(s) {
			return nil
		}
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("pid %d stays in state %c", p.ref.PID, s)
		case <-t.C:
		}
	}
}

// Edges implements faults.LinkRuntime.
func (d *Deployment) Edges() []faults.Edge { return d.graph.Edges() }

// Links implements faults.LinkRuntime: the proxies of the edges into to
// (from one caller if from is set; "client" is the load generator).
func (d *Deployment) Links(to, from string) ([]faults.Link, error) {
	return fleet.Links(d.graph, d.links, to, from)
}

var (
	_ faults.ProcessRuntime = (*Deployment)(nil)
	_ faults.LinkRuntime    = (*Deployment)(nil)
)
