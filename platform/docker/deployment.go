package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// Instance states.
const (
	StateRunning = fleet.StateRunning
	StatePaused  = fleet.StatePaused
	StateDown    = fleet.StateDown    // exited, killed or stopped; restart pending or left down
	StateStopped = fleet.StateStopped // the deployment is closed
)

// UndoKind values of the Docker runtime, reverted by Recoverer.
const (
	// UndoUnpause: a container may be paused; unpause it if it is still
	// the run's (Ref: run, container, name).
	UndoUnpause journal.Kind = "docker-unpause"
	// UndoChain: an iptables chain may be in a container's network
	// namespace (Ref: run, container, name, chain).
	UndoChain journal.Kind = "netns-chain"
	// UndoRemoveRun: the run's containers, network and volumes exist
	// (Ref: run); remove every object labelled with the run's id.
	UndoRemoveRun journal.Kind = "docker-run"
)

// InstanceStatus describes one instance for people and tests.
type InstanceStatus struct {
	faults.Instance
	PID       int // the container's init process as the host sees it (0 while down)
	State     string
	Container string // container name
	IP        netip.Addr
	Stable    string // stable host address for metrics and admin (a plain proxy)
	Restarts  int
}

// Deployment is the shop running as Docker containers of one run.
type Deployment struct {
	cfg       Config
	cli       *client.Client
	ownClient bool
	imageID   string
	netID     string
	netName   string
	subnet    netip.Prefix
	client    *http.Client
	ctx       context.Context // supervisors' lifetime
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	graph    *fleet.Graph
	roster   fleet.Roster[*instance]
	links    map[faults.Edge][]faults.Link
	clientPx []*proxy.Proxy // client → gateway#i, on the host

	mu        sync.Mutex
	closing   bool
	closeOnce sync.Once
	closeErr  error
}

// Start deploys every instance of every service, callees first, and returns
// once all are ready. On error everything created so far is removed.
func Start(ctx context.Context, cfg Config) (*Deployment, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	ordered, err := fleet.Order(cfg.Services, cfg.Edges)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.RunDir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	d := &Deployment{
		cfg:     cfg,
		cli:     cfg.Client,
		client:  &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		graph:   fleet.NewGraph(cfg.Services, cfg.Edges, cfg.Gateway),
		links:   map[faults.Edge][]faults.Link{},
		netName: "gameday-" + cfg.RunID,
	}
	if d.cli == nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		d.cli, err = NewClient(pctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("docker: %w", err)
		}
		d.ownClient = true
	}
	img, err := d.cli.ImageInspect(ctx, cfg.Image)
	if err != nil {
		d.closeClient()
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("docker: image %s not found: build it with `bash deploy/docker/build-images.sh`", cfg.Image)
		}
		return nil, fmt.Errorf("docker: inspect image %s: %w", cfg.Image, err)
	}
	d.imageID = img.ID
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if j := cfg.Journal; j != nil {
		if _, err := j.BeginRun(cfg.RunID); err != nil {
			d.cancel()
			d.closeClient()
			return nil, fmt.Errorf("docker: %w", err)
		}
		// Recorded before anything exists: a crash from here on leaves a
		// record that `gameday recover` acts on.
		if err := j.WriteResource(d.resource()); err != nil {
			return nil, errors.Join(fmt.Errorf("docker: %w", err), d.Close(context.WithoutCancel(ctx)))
		}
	}
	if err := d.deploy(ctx, ordered); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return nil, errors.Join(fmt.Errorf("docker: %w", err), d.Close(cctx))
	}
	return d, nil
}

func (d *Deployment) resource() journal.Resource {
	return journal.Resource{ID: d.cfg.RunID + "-docker", RunID: d.cfg.RunID, Created: time.Now().UTC(),
		Undo: journal.Undo{Kind: UndoRemoveRun, Ref: map[string]string{"run": d.cfg.RunID},
			Detail: fmt.Sprintf("docker containers, network %s and volumes", d.netName)}}
}

func (d *Deployment) labels(extra ...string) map[string]string {
	m := map[string]string{LabelRun: d.cfg.RunID, LabelHarnessPID: strconv.Itoa(os.Getpid())}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func (d *Deployment) deploy(ctx context.Context, ordered []Service) error {
	var err error
	d.netID, d.subnet, err = createNetwork(ctx, d.cli, d.netName, d.labels())
	if err != nil {
		return err
	}
	// Static addresses: .1 is the bridge, instances from .10 on, in the
	// order of cfg.Services, so that an address survives a restart.
	next := d.subnet.Addr()
	for range 10 {
		next = next.Next()
	}
	for _, s := range d.cfg.Services {
		for i := range s.Replicas {
			if !d.subnet.Contains(next) {
				return fmt.Errorf("subnet %s too small for every instance", d.subnet)
			}
			id := fmt.Sprintf("%s-%d", s.Name, i)
			in := &instance{Member: fleet.Member{Service: s.Name, Index: i, ID: id}, ip: next,
				name: fmt.Sprintf("gameday-%s-%s", d.cfg.RunID, id),
				Slot: fleet.Slot[*generation]{State: StateDown, Life: fleet.NewLife(d.cfg.Restart)}}
			d.roster.Add(in)
			next = next.Next()
		}
	}
	// Edge proxies: one per caller instance and callee instance, listening
	// in the caller's namespace on a port fixed per callee instance, so
	// that --upstream can be written before the caller starts.
	for _, s := range d.cfg.Services {
		port := edgePortBase
		for _, e := range d.cfg.Edges {
			if e.From != s.Name {
				continue
			}
			for _, callee := range d.roster.Of(e.To) {
				for _, caller := range d.roster.Of(s.Name) {
					l := &edgeLink{d: d, edge: e, caller: caller, callee: callee, port: port, toxics: map[string]*activeToxic{}}
					caller.outbound = append(caller.outbound, l)
					d.links[e] = append(d.links[e], l)
				}
				port++
			}
		}
	}
	for _, s := range ordered {
		if s.Stateful {
			vname := fmt.Sprintf("gameday-%s-%s", d.cfg.RunID, s.Name)
			if _, err := d.cli.VolumeCreate(ctx, volume.CreateOptions{Name: vname, Labels: d.labels(LabelService, s.Name)}); err != nil {
				return fmt.Errorf("create volume %s: %w", vname, err)
			}
		}
	}
	for _, level := range fleet.Levels(ordered, d.cfg.Edges) {
		if err := d.startLevel(ctx, level); err != nil {
			return err
		}
	}
	return nil
}

// args is the command line of one instance.
func (d *Deployment) args(s Service, in *instance) []string {
	args := []string{"serve", "--service", s.Name, "--listen", fmt.Sprintf("0.0.0.0:%d", containerPort), "--instance", in.ID}
	switch {
	case d.cfg.Policy != "":
		args = append(args, "--policy", policyPath)
	case d.cfg.Variant != "":
		args = append(args, "--variant", d.cfg.Variant)
	}
	for _, e := range d.cfg.Edges {
		if e.From != s.Name {
			continue
		}
		var urls []string
		for _, l := range in.outbound {
			if l.edge == e {
				urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", l.port))
			}
		}
		args = append(args, "--upstream", e.To+"="+strings.Join(urls, ","))
	}
	return append(args, "--data", dataPath, "--replicas", strconv.Itoa(s.Replicas))
}

// portKey is the container port every instance publishes.
var portKey = nat.Port(fmt.Sprintf("%d/tcp", containerPort))

// startLevel starts every instance of the services of one level at once
// (their callees are up), then their host proxies and supervisors.
func (d *Deployment) startLevel(ctx context.Context, level []Service) error {
	type started struct {
		s   Service
		in  *instance
		gen *generation
		err error
	}
	var all []*started
	for _, s := range level {
		for _, in := range d.roster.Of(s.Name) {
			all = append(all, &started{s: s, in: in})
		}
	}
	var wg sync.WaitGroup
	for _, st := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.gen, st.err = d.createAndStart(ctx, st.s, st.in)
		}()
	}
	wg.Wait()
	var errs []error
	for _, st := range all {
		if st.err != nil {
			errs = append(errs, st.err)
			continue
		}
		// Watched from now on, so that Close waits for the supervisor.
		st.in.Mu.Lock()
		st.in.Cur, st.in.State = st.gen, StateRunning
		st.in.Mu.Unlock()
		d.wg.Add(1)
		go d.supervise(st.in, st.gen)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, st := range all {
		if err := d.hostProxies(st.s, st.in, st.gen); err != nil {
			return err
		}
	}
	return nil
}

// createAndStart creates an instance's container and starts it.
func (d *Deployment) createAndStart(ctx context.Context, s Service, in *instance) (*generation, error) {
	hc := &container.HostConfig{
		PortBindings:  nat.PortMap{portKey: {{HostIP: "127.0.0.1", HostPort: "0"}}},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
	}
	if s.Stateful {
		hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: fmt.Sprintf("gameday-%s-%s", d.cfg.RunID, s.Name), Target: dataPath}}
	}
	resp, err := d.cli.ContainerCreate(ctx, &container.Config{
		Image:        d.imageID,
		Cmd:          d.args(s, in),
		Env:          append(slices.Clone(d.cfg.Env), platform.RunIDEnv+"="+d.cfg.RunID, "GAMEDAY_ADMIN_TOKEN="+d.cfg.AdminToken, "GAMEDAY_INSTANCE="+in.ID),
		ExposedPorts: nat.PortSet{portKey: {}},
		Labels:       d.labels(LabelService, s.Name, LabelInstance, in.ID),
	}, hc, &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		d.netName: {NetworkID: d.netID, IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: in.ip.String()}},
	}}, nil, in.name)
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", in.name, err)
	}
	in.cid = resp.ID
	if d.cfg.Policy != "" {
		if err := d.copyPolicy(ctx, in); err != nil {
			return nil, err
		}
	}
	return d.startContainer(ctx, in)
}

// hostProxies opens an instance's plain control proxy on the host and, for
// a gateway, the load generator's edge proxy (client → gateway#i).
func (d *Deployment) hostProxies(s Service, in *instance, gen *generation) error {
	ctl, err := proxy.Listen(context.Background(), "127.0.0.1:0", gen.hostAddr, proxy.WithName(in.ID+"/control"), proxy.WithSeed(d.seed(in.ID)))
	if err != nil {
		return fmt.Errorf("control proxy of %s: %w", in.ID, err)
	}
	in.Mu.Lock()
	in.Ctl = ctl
	in.hostIn = append(in.hostIn, ctl)
	in.Mu.Unlock()
	if s.Name != d.cfg.Gateway {
		return nil
	}
	name := faults.ClientCaller + "->" + s.Name
	opts := []proxy.Option{proxy.WithName(name), proxy.WithSeed(d.seed(fmt.Sprintf("%s#%d", name, in.Index)))}
	if d.cfg.ProxyMetrics != nil {
		opts = append(opts, proxy.WithMetrics(d.cfg.ProxyMetrics))
	}
	px, err := proxy.Listen(context.Background(), "127.0.0.1:0", gen.hostAddr, opts...)
	if err != nil {
		return fmt.Errorf("proxy %s: %w", name, err)
	}
	in.Mu.Lock()
	in.hostIn = append(in.hostIn, px)
	in.Mu.Unlock()
	d.clientPx = append(d.clientPx, px)
	e := faults.Edge{From: faults.ClientCaller, To: s.Name}
	d.links[e] = append(d.links[e], px)
	return nil
}

// copyPolicy puts the run's policy file at policyPath in the container.
func (d *Deployment) copyPolicy(ctx context.Context, in *instance) error {
	b, err := os.ReadFile(d.cfg.Policy)
	if err != nil {
		return fmt.Errorf("policy for %s: %w", in.name, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := strings.TrimPrefix(filepath.Dir(policyPath), "/")
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: now}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(policyPath, "/"), Mode: 0o644, Size: int64(len(b)), ModTime: now}); err != nil {
		return err
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := d.cli.CopyToContainer(ctx, in.cid, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copy policy into %s: %w", in.name, err)
	}
	return nil
}

func (d *Deployment) seed(name string) int64 { return fleet.Seed(d.cfg.Seed, name) }

func (d *Deployment) isClosing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closing
}

func (d *Deployment) closeClient() {
	if d.ownClient {
		d.cli.Close()
	}
}

// Close stops the supervisors, closes every proxy, saves each container's
// output to RUN/logs/INSTANCE.log, then stops (SIGTERM, SIGKILL after the
// grace period) and removes every container, network and volume labelled
// with the run's id. ctx bounds the graceful part: once it is done (a second
// Ctrl-C), the containers are killed and everything is removed all the same.
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
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	var errs []error
	for _, in := range all {
		for _, l := range in.outbound {
			l.shut()
		}
		in.Mu.Lock()
		hostIn := in.hostIn
		in.Mu.Unlock()
		for _, px := range hostIn {
			if err := px.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close proxy of %s: %w", in.ID, err))
			}
		}
	}
	save := func(ctx context.Context, c container.Summary) {
		inst := c.Labels[LabelInstance]
		if inst == "" {
			return
		}
		_ = saveLogs(ctx, d.cli, c.ID, filepath.Join(d.cfg.RunDir, "logs", inst+".log"))
	}
	if d.imageID != "" { // nothing was created before the image was found
		if _, err := removeRun(ctx, d.cli, d.cfg.RunID, d.cfg.StopGrace, save); err != nil {
			errs = append(errs, err)
		}
	}
	d.client.CloseIdleConnections()
	if j := d.cfg.Journal; j != nil && d.imageID != "" {
		if len(errs) == 0 {
			if err := j.ClearResource(d.resource().ID); err != nil {
				errs = append(errs, err)
			}
		}
		if err := j.EndRun(d.cfg.RunID); err != nil {
			errs = append(errs, err)
		}
	}
	d.closeClient()
	return errors.Join(errs...)
}

// Name implements faults.Runtime.
func (d *Deployment) Name() string { return Name }

// RunID is the run id every container, network and volume is labelled with.
func (d *Deployment) RunID() string { return d.cfg.RunID }

// AdminToken guards the instances' /admin API.
func (d *Deployment) AdminToken() string { return d.cfg.AdminToken }

// ImageID is the id of the image every instance runs (for the run record).
func (d *Deployment) ImageID() string { return d.imageID }

// Network is the name of the run's bridge network; Subnet its subnet.
func (d *Deployment) Network() string { return d.netName }

// Subnet is the subnet of the run's network.
func (d *Deployment) Subnet() netip.Prefix { return d.subnet }

// GatewayURL is the URL the load generator uses: the first gateway
// instance's proxy on the host (edge client → gateway).
func (d *Deployment) GatewayURL() string {
	urls := d.GatewayURLs()
	if len(urls) == 0 {
		return ""
	}
	return urls[0]
}

// GatewayURLs lists the host proxy of every gateway instance.
func (d *Deployment) GatewayURLs() []string {
	var out []string
	for _, p := range d.clientPx {
		out = append(out, "http://"+p.Addr())
	}
	return out
}

// Targets lists every instance's /metrics through its stable control
// address on the host (a plain proxy to the port the container publishes
// on 127.0.0.1, re-pointed when a restart publishes another port).
func (d *Deployment) Targets() []metrics.Target { return d.roster.Targets(Name) }

// AdminURL is the base URL of an instance's admin API (stable across restarts).
func (d *Deployment) AdminURL(id string) (string, error) { return d.roster.AdminURL(id) }

// Status describes every instance.
func (d *Deployment) Status() []InstanceStatus {
	var out []InstanceStatus
	for _, in := range d.roster.All() {
		in.Mu.Lock()
		s := InstanceStatus{State: in.State, Container: in.name, IP: in.ip, Restarts: in.Life.Restarts(),
			Instance: faults.Instance{Service: in.Service, Index: in.Index, ID: in.ID}}
		if in.Ctl != nil {
			s.Stable = in.Ctl.Addr()
		}
		if in.Cur != nil {
			s.PID, s.Ref = in.Cur.pid, in.Cur.ref()
		}
		in.Mu.Unlock()
		out = append(out, s)
	}
	return out
}

// ContainerID returns the id of an instance's container.
func (d *Deployment) ContainerID(id string) (string, error) {
	in, err := d.instance(id)
	if err != nil {
		return "", err
	}
	return in.cid, nil
}

func (d *Deployment) instance(id string) (*instance, error) { return d.roster.Get(id) }
