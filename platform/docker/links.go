package docker

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform/docker/netns"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// edgeLink is one call edge from one caller instance to one callee
// instance: a fault proxy listening on 127.0.0.1:port inside the caller
// container's network namespace and dialling the callee's static address
// from there. It is a faults.Link: a partition becomes an iptables chain in
// the caller's namespace (the callee's address and port dropped or
// rejected), every other toxic goes to the proxy. The container gets a new
// namespace at each start: open re-creates the proxy and re-applies every
// active toxic and chain.
type edgeLink struct {
	d      *Deployment
	edge   faults.Edge
	caller *instance
	callee *instance
	port   int

	mu     sync.Mutex
	ns     netns.NS // the caller's namespace while it runs
	px     *proxy.Proxy
	seq    int
	toxics map[string]*activeToxic
}

// activeToxic is one toxic on the link, by the link's own id.
type activeToxic struct {
	toxic  proxy.Toxic
	pxID   string // its id on the current proxy ("" while the caller is down)
	chain  string // a partition's iptables chain
	intent string // the journal record of the chain
}

func (l *edgeLink) name() string { return l.edge.From + "->" + l.edge.To }

func (l *edgeLink) upstream() string {
	return fmt.Sprintf("%s:%d", l.callee.ip, containerPort)
}

// nsOf names a running container's network namespace: its sandbox key
// (which does not follow a pid) or, failing that, its init process's.
func nsOf(sandboxKey string, pid int) netns.NS {
	if sandboxKey != "" {
		return netns.NS{Path: sandboxKey}
	}
	return netns.FromPID(pid)
}

// open (re)creates the proxy in the caller's namespace of this start and
// re-applies the active toxics and chains.
func (l *edgeLink) open(ctx context.Context, pid int) error {
	st, err := l.d.inspect(ctx, l.caller)
	if err != nil {
		return fmt.Errorf("edge %s#%d: %w", l.name(), l.callee.Index, err)
	}
	if st.State == nil || st.State.Pid != pid {
		return fmt.Errorf("edge %s#%d: %s restarted meanwhile", l.name(), l.callee.Index, l.caller.name)
	}
	key := ""
	if st.NetworkSettings != nil {
		key = st.NetworkSettings.SandboxKey
	}
	ns := nsOf(key, pid)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeProxy()
	for _, a := range l.toxics {
		if a.chain != "" {
			if err := l.addChain(ctx, ns, a); err != nil {
				return err
			}
		}
	}
	ln, err := ns.Listen(ctx, fmt.Sprintf("127.0.0.1:%d", l.port))
	if err != nil {
		return fmt.Errorf("edge %s#%d in %s (the docker runtime enters containers' network namespaces: it needs root): %w",
			l.name(), l.callee.Index, l.caller.name, err)
	}
	opts := []proxy.Option{proxy.WithListener(ln), proxy.WithDialer(ns.DialContext), proxy.WithName(l.name()),
		proxy.WithSeed(l.d.seed(fmt.Sprintf("%s#%d/%s", l.name(), l.callee.Index, l.caller.ID)))}
	if l.d.cfg.ProxyMetrics != nil {
		opts = append(opts, proxy.WithMetrics(l.d.cfg.ProxyMetrics))
	}
	px, err := proxy.Listen(context.Background(), "", l.upstream(), opts...)
	if err != nil {
		return fmt.Errorf("edge %s#%d: %w", l.name(), l.callee.Index, err)
	}
	for _, a := range l.toxics {
		if a.chain != "" {
			continue
		}
		if a.pxID, err = px.Add(a.toxic); err != nil {
			px.Close()
			return fmt.Errorf("edge %s#%d: re-apply %s: %w", l.name(), l.callee.Index, a.toxic.Type(), err)
		}
	}
	l.ns, l.px = ns, px
	return nil
}

// down closes the proxy of a caller that stopped (its namespace is gone
// with it, and so are its chains); the toxics stay, for the next open.
func (l *edgeLink) down() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeProxy()
}

// shut closes the proxy for good (Close) and clears the chains' journal
// records: the containers are removed with their namespaces.
func (l *edgeLink) shut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeProxy()
	for id, a := range l.toxics {
		if a.intent != "" && l.d.cfg.Journal != nil {
			_ = l.d.cfg.Journal.ClearIntent(a.intent)
		}
		delete(l.toxics, id)
	}
}

func (l *edgeLink) closeProxy() {
	if l.px != nil {
		_ = l.px.Close()
	}
	l.px, l.ns = nil, netns.NS{}
	for _, a := range l.toxics {
		a.pxID = ""
	}
}

// AddToxic implements faults.Link.
func (l *edgeLink) AddToxic(ctx context.Context, t proxy.Toxic) (string, error) {
	if t == nil {
		return "", errors.New("add nil toxic")
	}
	if err := t.Validate(); err != nil {
		return "", fmt.Errorf("edge %s: %w", l.name(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	id := fmt.Sprintf("%s-%d", t.Type(), l.seq)
	a := &activeToxic{toxic: t}
	if _, ok := t.(proxy.Partition); ok {
		a.chain = l.chainName(l.seq)
		if err := l.journalChain(a); err != nil {
			return "", err
		}
		if l.px != nil {
			if err := l.addChain(ctx, l.ns, a); err != nil {
				if a.intent != "" {
					_ = l.d.cfg.Journal.ClearIntent(a.intent)
				}
				return "", err
			}
		}
	} else if l.px != nil {
		pid, err := l.px.Add(t)
		if err != nil {
			return "", err
		}
		a.pxID = pid
	}
	l.toxics[id] = a
	return id, nil
}

// RemoveToxic implements faults.Link; removing an unknown id is not an
// error. A revert is not cut short by a cancelled ctx (an interrupt is
// when reverts matter most); 15s bound it.
func (l *edgeLink) RemoveToxic(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.toxics[id]
	if !ok {
		return nil
	}
	if a.chain != "" {
		if l.px != nil {
			if _, err := l.d.inspect(ctx, l.caller); err != nil {
				return fmt.Errorf("remove chain %s: %w", a.chain, err)
			}
			if err := l.ns.RemoveChain(ctx, a.chain); err != nil {
				return fmt.Errorf("edge %s#%d: %w", l.name(), l.callee.Index, err)
			}
		}
		if a.intent != "" && l.d.cfg.Journal != nil {
			if err := l.d.cfg.Journal.ClearIntent(a.intent); err != nil {
				return err
			}
		}
	} else if l.px != nil && a.pxID != "" {
		if err := l.px.Remove(a.pxID); err != nil {
			return err
		}
	}
	delete(l.toxics, id)
	return nil
}

// chainName is unique per run, link and toxic, and fits iptables' 28
// characters.
func (l *edgeLink) chainName(seq int) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s/%s/%d", l.d.cfg.RunID, l.caller.ID, l.callee.ID, seq)
	return fmt.Sprintf("GD-%08x", h.Sum32())
}

// journalChain records the chain before it is added, so that `gameday
// recover` can remove it if the harness dies.
func (l *edgeLink) journalChain(a *activeToxic) error {
	j := l.d.cfg.Journal
	if j == nil {
		return nil
	}
	a.intent = l.d.cfg.RunID + "-" + a.chain
	mode := "blackhole"
	if p, ok := a.toxic.(proxy.Partition); ok && p.Mode == proxy.Refuse {
		mode = "refuse"
	}
	return j.WriteIntent(journal.Intent{ID: a.intent, RunID: l.d.cfg.RunID, Fault: "chain " + a.chain, Type: "partition",
		Created: time.Now().UTC(), Undo: []journal.Undo{{Kind: UndoChain,
			Ref:    map[string]string{"run": l.d.cfg.RunID, "container": l.caller.cid, "name": l.caller.name, "chain": a.chain},
			Detail: fmt.Sprintf("partition %s of %s→%s (iptables chain %s in %s)", mode, l.caller.ID, l.callee.ID, a.chain, l.caller.name)}}})
}

// addChain installs a partition's chain in ns, after checking the caller
// container is the run's.
func (l *edgeLink) addChain(ctx context.Context, ns netns.NS, a *activeToxic) error {
	if _, err := l.d.inspect(ctx, l.caller); err != nil {
		return fmt.Errorf("partition %s→%s: %w", l.caller.ID, l.callee.ID, err)
	}
	action := netns.Drop
	if p, ok := a.toxic.(proxy.Partition); ok && p.Mode == proxy.Refuse {
		action = netns.Reject
	}
	rule := netns.Rule{Dst: l.callee.ip, Port: containerPort, Action: action}
	if err := ns.AddChain(ctx, a.chain, []netns.Rule{rule}); err != nil {
		return fmt.Errorf("partition %s→%s: %w", l.caller.ID, l.callee.ID, err)
	}
	return nil
}

// Edges implements faults.LinkRuntime.
func (d *Deployment) Edges() []faults.Edge { return d.graph.Edges() }

// Links implements faults.LinkRuntime: the links of the edges into to
// (from one caller if from is set; "client" is the load generator, whose
// links are proxies on the host).
func (d *Deployment) Links(to, from string) ([]faults.Link, error) {
	return fleet.Links(d.graph, d.links, to, from)
}

// EdgeLink describes one link of an edge for tests and tools: the caller
// and callee instances, the proxy's port in the caller's namespace and the
// iptables chains of its active partitions.
type EdgeLink struct {
	Caller, Callee string
	Port           int
	Chains         []string
	Toxics         int
}

// EdgeLinks describes the links of the edge from → to between containers.
func (d *Deployment) EdgeLinks(from, to string) []EdgeLink {
	var out []EdgeLink
	for _, l := range d.links[faults.Edge{From: from, To: to}] {
		el, ok := l.(*edgeLink)
		if !ok {
			continue
		}
		el.mu.Lock()
		e := EdgeLink{Caller: el.caller.ID, Callee: el.callee.ID, Port: el.port}
		for _, a := range el.toxics {
			if a.chain != "" {
				e.Chains = append(e.Chains, a.chain)
			}
		}
		if el.px != nil {
			e.Toxics = len(el.px.Toxics())
		}
		el.mu.Unlock()
		out = append(out, e)
	}
	return out
}
