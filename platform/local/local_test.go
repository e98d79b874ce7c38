package local

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/internal/lib/procfs"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
)

func standIn(t *testing.T, mod func(*Config)) (*Deployment, *journal.Journal) {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Spec: platform.Spec{
		Settings: platform.Settings{Command: []string{os.Args[0]}, Env: []string{"LOCAL_TEST_CHILD=1"}},
		Services: []Service{{Name: "gateway", Replicas: 1}, {Name: "orders", Replicas: 1}, {Name: "payment", Replicas: 2}},
		Edges:    []faults.Edge{{From: "gateway", To: "orders"}, {From: "orders", To: "payment"}},
		Variant:  "naive",
		RunDir:   t.TempDir(),
		Journal:  j,
		Restart:  RestartConfig{Delay: 200 * time.Millisecond},
		Seed:     1,
	}}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d, j
}

func get(t *testing.T, c *http.Client, url string) (int, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// procsOfRun lists the processes whose environment carries the run id.
func procsOfRun(runID string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if v, ok, _ := procfs.Env(pid, platform.RunIDEnv); ok && v == runID {
			out = append(out, pid)
		}
	}
	return out
}

func TestStartWiresEveryEdgeAndCloseLeavesNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	d, j := standIn(t, func(c *Config) { c.ProxyMetrics = proxy.NewMetrics(reg) })
	c := &http.Client{Timeout: 5 * time.Second}
	if code, err := get(t, c, d.GatewayURL()+"/call"); err != nil || code != 200 {
		t.Fatalf("call through gateway: %d %v", code, err)
	}
	// The call went through every edge: each edge's proxies counted it.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	conns := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "gameday_proxy_connections_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			conns[m.GetLabel()[0].GetValue()] += m.GetCounter().GetValue()
		}
	}
	for _, e := range []string{"client->gateway", "gateway->orders", "orders->payment"} {
		if conns[e] < 1 {
			t.Errorf("edge %s: %v connections in gameday_proxy_connections_total (%v)", e, conns[e], conns)
		}
	}
	if n := len(d.EdgeURLs("orders", "payment")); n != 2 {
		t.Fatalf("orders→payment has %d proxies, want one per payment instance (2)", n)
	}
	targets := d.Targets()
	if len(targets) != 4 {
		t.Fatalf("%d scrape targets, want 4", len(targets))
	}
	for _, tg := range targets {
		if code, err := get(t, c, tg.URL); err != nil || code != 200 {
			t.Fatalf("scrape %s: %d %v", tg.URL, code, err)
		}
	}
	kids, err := children(j)
	if err != nil || len(kids) != 4 {
		t.Fatalf("journal holds %d children (%v), want 4", len(kids), err)
	}
	var addrs []string
	for _, s := range d.Status() {
		addrs = append(addrs, s.Addr, s.Stable)
		if s.State != StateRunning || s.PID == 0 {
			t.Fatalf("%s: state %s pid %d", s.ID, s.State, s.PID)
		}
	}
	addrs = append(addrs, d.GatewayURL()[len("http://"):])
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := procsOfRun(d.RunID()); len(left) != 0 {
		t.Fatalf("processes of the run left after Close: %v", left)
	}
	for _, a := range addrs {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Fatalf("%s still accepts connections after Close", a)
		}
	}
	if kids, _ := children(j); len(kids) != 0 {
		t.Fatalf("journal still holds %d children", len(kids))
	}
	if runs, _ := j.Runs(); len(runs) != 0 {
		t.Fatalf("journal still holds runs %v", runs)
	}
}

// p50 of n sequential GETs.
func p50(t *testing.T, c *http.Client, url string, n int) time.Duration {
	t.Helper()
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if code, err := get(t, c, url); err != nil || code != 200 {
			t.Fatalf("GET %s: %d %v", url, code, err)
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[n/2]
}

func TestLatencyFaultMovesTheEdgeP50AndBack(t *testing.T) {
	d, _ := standIn(t, nil)
	edge := d.EdgeURLs("orders", "payment")[0] + "/healthz"
	c := &http.Client{Timeout: 5 * time.Second}
	p50(t, c, edge, 20) // warm up
	before := p50(t, c, edge, 101)
	f, err := faults.New(faults.Spec{Name: "slow-payment", Type: "latency", Target: faults.Target{Service: "payment", From: "orders"},
		Params: map[string]string{"delay": "50ms"}}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	during := p50(t, c, edge, 41)
	// The other caller's edge into the gateway is untouched.
	if g := p50(t, c, d.GatewayURL()+"/healthz", 21); g > before+10*time.Millisecond {
		t.Errorf("client→gateway p50 %v moved with a fault on orders→payment", g)
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatalf("second revert: %v", err)
	}
	after := p50(t, c, edge, 101)
	shift := during - before
	t.Logf("edge p50: before %v, during %v (shift %v), after %v", before, during, shift, after)
	if shift < 48*time.Millisecond || shift > 52*time.Millisecond {
		t.Errorf("50ms latency moved the edge p50 by %v, want 50 ± 2 ms", shift)
	}
	if after-before > 2*time.Millisecond {
		t.Errorf("after revert p50 %v, before %v: not back", after, before)
	}
}

func TestPartitionRefuseFailsFastAndBlackholeTimesOut(t *testing.T) {
	d, _ := standIn(t, nil)
	edge := d.EdgeURLs("orders", "payment")[0] + "/healthz"
	for _, mode := range []string{"refuse", "blackhole"} {
		t.Run(mode, func(t *testing.T) {
			f, err := faults.New(faults.Spec{Name: "cut", Type: "partition", Target: faults.Target{Groups: [][]string{{"orders"}, {"payment"}}},
				Params: map[string]string{"mode": mode}}, d)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Inject(context.Background()); err != nil {
				t.Fatal(err)
			}
			c := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
			start := time.Now()
			_, err = get(t, c, edge)
			took := time.Since(start)
			var ne net.Error
			switch {
			case err == nil:
				t.Errorf("call across a %s partition succeeded", mode)
			case mode == "refuse" && (took > 100*time.Millisecond || errors.As(err, &ne) && ne.Timeout()):
				t.Errorf("refuse: took %v (%v), want a fast failure", took, err)
			case mode == "blackhole" && !(errors.As(err, &ne) && ne.Timeout()):
				t.Errorf("blackhole: %v after %v, want a timeout", err, took)
			}
			// Not cut: the gateway's inbound edge.
			if code, err := get(t, c, d.GatewayURL()+"/healthz"); err != nil || code != 200 {
				t.Errorf("client→gateway cut by a partition of orders|payment: %v", err)
			}
			if err := f.Revert(context.Background()); err != nil {
				t.Fatal(err)
			}
			if code, err := get(t, c, edge); err != nil || code != 200 {
				t.Errorf("after revert: %d %v", code, err)
			}
		})
	}
}

func TestKillRemovesTheProcessAndRestartBringsItBackAfterTheDelay(t *testing.T) {
	d, _ := standIn(t, nil)
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	edge := d.EdgeURLs("orders", "payment")[1] + "/healthz"
	const delay = 300 * time.Millisecond
	f, err := faults.New(faults.Spec{Name: "kill", Type: "kill", Target: faults.Target{Service: "payment", Index: ptr(1)},
		Params: map[string]string{"restartDelay": delay.String()}}, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.(faults.Preparer).Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	before, _ := d.Instances("payment")
	victim := before[1]
	killed := time.Now()
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := procOf(d, victim); p.owned() == nil {
		t.Fatalf("pid %d still there after kill", p.PID)
	}
	if now, _ := d.Instances("payment"); len(now) != 1 {
		t.Fatalf("%d payment instances listed right after the kill, want 1", len(now))
	}
	if code, err := get(t, c, edge); err == nil && code == 200 {
		t.Fatal("edge to the killed instance still answers")
	}
	var back faults.Instance
	for deadline := time.Now().Add(10 * time.Second); ; {
		now, _ := d.Instances("payment")
		if len(now) == 2 {
			back = now[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("killed instance not restarted within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	down := time.Since(killed)
	if down < delay {
		t.Fatalf("restarted after %v, before the %v delay", down, delay)
	}
	if back.Ref == victim.Ref {
		t.Fatal("same process after restart")
	}
	if code, err := get(t, c, edge); err != nil || code != 200 {
		t.Fatalf("edge proxy not rewired to the restarted instance: %d %v", code, err)
	}
	t.Logf("down for %v (restart delay %v)", down, delay)
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestKillWithRestartAtEndStaysDeadUntilRevert(t *testing.T) {
	d, _ := standIn(t, nil)
	f, err := faults.New(faults.Spec{Name: "kill", Type: "kill", Target: faults.Target{Service: "orders"},
		Params: map[string]string{"restart": "end"}}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // longer than the deployment's 200ms restart delay: it must not restart
	if now, _ := d.Instances("orders"); len(now) != 0 {
		t.Fatal("instance restarted although the policy is end")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Revert(ctx); err != nil {
		t.Fatal(err)
	}
	if now, _ := d.Instances("orders"); len(now) != 1 {
		t.Fatal("instance not back after revert")
	}
	c := &http.Client{Timeout: 2 * time.Second}
	if code, err := get(t, c, d.GatewayURL()+"/call"); err != nil || code != 200 {
		t.Fatalf("call chain after restart: %d %v", code, err)
	}
}

func TestPauseStopsTheProcessAndRevertResumesIt(t *testing.T) {
	d, _ := standIn(t, nil)
	f, err := faults.New(faults.Spec{Name: "freeze", Type: "pause", Target: faults.Target{Service: "payment", Instances: "all"}}, d)
	if err != nil {
		t.Fatal(err)
	}
	undo, err := f.(faults.Preparer).Prepare(context.Background())
	if err != nil || len(undo) != 2 || undo[0].Kind != UndoResume {
		t.Fatalf("prepare: %v %+v", err, undo)
	}
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, u := range undo {
		p, _ := procRefOf(u.Ref)
		if s, _ := procfs.State(p.PID); s != 'T' {
			t.Fatalf("pid %d in state %c, want T (stopped)", p.PID, s)
		}
	}
	c := &http.Client{Timeout: 200 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	if _, err := get(t, c, d.EdgeURLs("orders", "payment")[0]+"/healthz"); err == nil {
		t.Fatal("paused instance answered")
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, u := range undo {
		p, _ := procRefOf(u.Ref)
		if s, _ := procfs.State(p.PID); s == 'T' {
			t.Fatalf("pid %d still stopped after revert", p.PID)
		}
	}
	c.Timeout = 2 * time.Second
	if code, err := get(t, c, d.EdgeURLs("orders", "payment")[0]+"/healthz"); err != nil || code != 200 {
		t.Fatalf("after resume: %d %v", code, err)
	}
	// A paused instance must not keep Close from ending it.
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := procsOfRun(d.RunID()); len(left) != 0 {
		t.Fatalf("left after Close: %v", left)
	}
}

func TestCrashedInstanceIsRestartedWithBackoff(t *testing.T) {
	// Base 300ms: without backoff the third restart would come after about
	// 300ms plus a start-up; with it, after at least 1.2s.
	d, _ := standIn(t, func(c *Config) { c.Restart = RestartConfig{Delay: 300 * time.Millisecond, MaxDelay: 5 * time.Second} })
	var downs []time.Duration
	for i := 0; i < 3; i++ {
		insts, _ := d.Instances("orders")
		start := time.Now()
		// Kill from outside the fault catalog: a crash.
		if err := procOf(d, insts[0]).signal(9, false); err != nil {
			t.Fatal(err)
		}
		for {
			now, _ := d.Instances("orders")
			if len(now) == 1 && now[0].Ref != insts[0].Ref {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatal("not restarted")
			}
			time.Sleep(2 * time.Millisecond)
		}
		downs = append(downs, time.Since(start))
	}
	t.Logf("downtimes: %v", downs)
	for i, want := range []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond} {
		if downs[i] < want {
			t.Errorf("restart %d after %v, want at least %v (backoff)", i, downs[i], want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// restartDelay 0s is a restart at once, not the deployment's delay: the same
// meaning as on the docker runtime (fleet.Life decides for both).
func TestKillWithRestartDelayZeroRestartsAtOnce(t *testing.T) {
	d, _ := standIn(t, func(c *Config) { c.Restart.Delay = time.Minute })
	f, err := faults.New(faults.Spec{Name: "kill", Type: "kill", Target: faults.Target{Service: "orders"},
		Params: map[string]string{"restartDelay": "0s"}}, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.(faults.Preparer).Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	before, _ := d.Instances("orders")
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer f.Revert(context.Background())
	for deadline := time.Now().Add(20 * time.Second); ; {
		if now, _ := d.Instances("orders"); len(now) == 1 && now[0].Ref != before[0].Ref {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("orders not restarted within 20 s of a kill with restartDelay 0s (the deployment's delay is 1 min)")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestChildEnvSetsOneProcessorUnlessTheUserDid(t *testing.T) {
	for _, tc := range []struct {
		environ, extra []string
		want           string
	}{
		{[]string{"HOME=/root"}, nil, "1"},
		{[]string{"HOME=/root", "GOMAXPROCS=4"}, nil, "4"},
		{[]string{"HOME=/root"}, []string{"GOMAXPROCS=2"}, "2"},
		{nil, []string{"X=1"}, "1"},
	} {
		env := childEnv(tc.environ, tc.extra)
		var got []string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "GOMAXPROCS="); ok {
				got = append(got, v)
			}
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("childEnv(%q, %q): GOMAXPROCS %q, want exactly %q", tc.environ, tc.extra, got, tc.want)
		}
		if len(env) < len(tc.environ)+len(tc.extra) {
			t.Errorf("childEnv(%q, %q) = %q: lost variables", tc.environ, tc.extra, env)
		}
	}
}

// Every shop child runs with one processor unless the harness's
// environment says otherwise (GOMAXPROCS in the test's environment is
// passed on as it is).
func TestChildrenRunWithOneProcessor(t *testing.T) {
	want := os.Getenv("GOMAXPROCS")
	if want == "" {
		want = "1"
	}
	d, _ := standIn(t, nil)
	for _, st := range d.Status() {
		got, ok, err := procfs.Env(st.PID, "GOMAXPROCS")
		if err != nil || !ok || got != want {
			t.Errorf("%s (pid %d): GOMAXPROCS %q (set %v, %v), want %q", st.Instance.ID, st.PID, got, ok, err, want)
		}
	}
}

// children lists the journal records of the runtime's child processes.
func children(j *journal.Journal) ([]journal.Resource, error) {
	res, err := j.Resources()
	var out []journal.Resource
	for _, r := range res {
		if r.Undo.Kind == UndoEndProcess {
			out = append(out, r)
		}
	}
	return out, err
}

// procOf is the process an instance's Ref names.
func procOf(d *Deployment, in faults.Instance) procRef {
	pid, st, _ := strings.Cut(in.Ref, "/")
	p := procRef{RunID: d.RunID()}
	p.PID, _ = strconv.Atoi(pid)
	p.StartTime, _ = strconv.ParseUint(st, 10, 64)
	return p
}
