package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listerv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/metrics"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// Journal kinds of the runtime, undone by Recoverer.
const (
	// UndoNamespace: the run's namespace may exist (Ref: kubeconfig,
	// context, namespace, run); delete every namespace labelled with the
	// run (never one found by its name alone).
	UndoNamespace journal.Kind = "kubernetes.namespace"
	// UndoScale: a kill scaled an instance's StatefulSet to 0 (Ref:
	// kubeconfig, context, namespace, run, statefulset, replicas); put its
	// replicas back if the namespace still exists.
	UndoScale journal.Kind = "kubernetes.scale"
)

// Deployment is the shop running on a Kubernetes cluster for one run.
type Deployment struct {
	cfg   Config
	obj   *objects
	cs    kubernetes.Interface
	rest  *rest.Config
	log   *slog.Logger
	graph *fleet.Graph

	all       []*instance
	byID      map[string]*instance
	byService map[string][]*instance
	links     map[faults.Edge][]faults.Link
	clientPx  []*proxy.Proxy // client → gateway#i

	ctx     context.Context // reconcilers, watchers, delayed restarts
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	factory informers.SharedInformerFactory
	pods    listerv1.PodLister

	created   bool // the namespace record was written (something may exist)
	mu        sync.Mutex
	closing   bool
	closeOnce sync.Once
	closeErr  error
}

// Start deploys the shop and returns once every pod is ready and reachable
// through its port-forward. On error everything created is removed.
func Start(ctx context.Context, cfg Config) (*Deployment, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	if _, err := fleet.Order(cfg.Services, cfg.Edges); err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.RunDir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	var policy []byte
	if cfg.Policy != "" {
		var err error
		if policy, err = os.ReadFile(cfg.Policy); err != nil {
			return nil, fmt.Errorf("kubernetes: policy: %w", err)
		}
	}
	if cfg.Client == nil || cfg.RESTConfig == nil {
		cs, rc, err := Connect(ClusterRef{Kubeconfig: cfg.Kubeconfig, Context: cfg.KubeContext})
		if err != nil {
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
		cfg.Client, cfg.RESTConfig = cs, rc
	}
	d := newDeployment(cfg)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	raw, err := d.cs.Discovery().RESTClient().Get().AbsPath("/version").Do(pctx).Raw()
	cancel()
	if err != nil {
		d.cancel()
		return nil, fmt.Errorf("kubernetes: cluster %s unreachable: %w", d.rest.Host, err)
	}
	var version struct {
		GitVersion string `json:"gitVersion"`
	}
	_ = json.Unmarshal(raw, &version)
	d.log.Info("kubernetes deployment", "server", d.rest.Host, "version", version.GitVersion, "namespace", d.obj.ns, "image", cfg.Image)
	if j := cfg.Journal; j != nil {
		if _, err := j.BeginRun(cfg.RunID); err != nil {
			d.cancel()
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
	}
	if err := d.deploy(ctx, policy); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		return nil, errors.Join(fmt.Errorf("kubernetes: %w", err), d.Close(cctx))
	}
	return d, nil
}

// newDeployment lays out the instances, edges and links of cfg (defaults
// applied, Client set); it creates nothing.
func newDeployment(cfg Config) *Deployment {
	d := &Deployment{
		cfg: cfg, obj: newObjects(&cfg), cs: cfg.Client, rest: cfg.RESTConfig, log: cfg.Logger,
		graph:     fleet.NewGraph(cfg.Services, cfg.Edges, cfg.Gateway),
		byID:      map[string]*instance{},
		byService: map[string][]*instance{},
		links:     map[faults.Edge][]faults.Link{},
	}
	d.obj.cfg = &d.cfg
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	for _, s := range cfg.Services {
		for i := range max(1, s.Replicas) {
			in := newInstance(d, s.Name, i)
			d.all = append(d.all, in)
			d.byID[in.id] = in
			d.byService[s.Name] = append(d.byService[s.Name], in)
		}
	}
	for _, in := range d.all {
		for _, ep := range d.obj.edges(in.service) {
			l := &sidecarLink{in: in, name: ep.Name, token: cfg.AdminToken, active: map[string]*activeToxic{}}
			in.links = append(in.links, l)
			d.links[ep.Edge] = append(d.links[ep.Edge], l)
		}
	}
	return d
}

func (d *Deployment) nsResource() journal.Resource {
	return journal.Resource{ID: d.cfg.RunID + "-kubernetes", RunID: d.cfg.RunID, Created: time.Now().UTC(),
		Undo: journal.Undo{Kind: UndoNamespace, Ref: d.ref(nil),
			Detail: fmt.Sprintf("kubernetes namespace %s (context %q)", d.obj.ns, d.cfg.KubeContext)}}
}

// ref is the reference of a journal record of the run, plus kv.
func (d *Deployment) ref(kv map[string]string) map[string]string {
	m := map[string]string{"kubeconfig": d.cfg.Kubeconfig, "context": d.cfg.KubeContext, "namespace": d.obj.ns, "run": d.obj.label}
	if d.cfg.Kubeconfig == "" {
		// Recovery must find the same cluster: record the file kubectl's
		// rules chose now, not the environment of a later `gameday recover`.
		if p := os.Getenv("KUBECONFIG"); p != "" {
			m["kubeconfig"] = p
		} else if home, err := os.UserHomeDir(); err == nil {
			m["kubeconfig"] = filepath.Join(home, ".kube", "config")
		}
	}
	for k, v := range kv {
		m[k] = v
	}
	return m
}

func (d *Deployment) deploy(ctx context.Context, policy []byte) error {
	if j := d.cfg.Journal; j != nil {
		// Recorded before anything exists: a crash from here on leaves a
		// record that `gameday recover` acts on.
		if err := j.WriteResource(d.nsResource()); err != nil {
			return err
		}
	}
	d.created = true
	if _, err := d.cs.CoreV1().Namespaces().Create(ctx, d.obj.namespace(), metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// Not ours to remove: Close must not delete it, nor a recovery.
			d.created = false
			if j := d.cfg.Journal; j != nil {
				_ = j.ClearResource(d.nsResource().ID)
			}
			return fmt.Errorf("namespace %s exists already: another run with the id %s? (`gameday recover` removes a crashed run's)", d.obj.ns, d.cfg.RunID)
		}
		return fmt.Errorf("create namespace %s: %w", d.obj.ns, err)
	}
	st, err := d.storage(ctx)
	if err != nil {
		return err
	}
	ns := d.obj.ns
	if _, err := d.cs.CoreV1().Secrets(ns).Create(ctx, d.obj.secret(), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create secret: %w", err)
	}
	if policy != nil {
		if _, err := d.cs.CoreV1().ConfigMaps(ns).Create(ctx, d.obj.configMap(policy), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create config map: %w", err)
		}
	}
	for _, s := range d.cfg.Services {
		if s.Stateful && !st.hostPath {
			if _, err := d.cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, d.obj.claim(s.Name, st), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create volume claim of %s: %w", s.Name, err)
			}
		}
	}
	// Per-instance Services first: their ClusterIPs go into the callers'
	// sidecar flags.
	ips := map[string]string{}
	for _, s := range d.cfg.Services {
		for i := range max(1, s.Replicas) {
			svc, err := d.cs.CoreV1().Services(ns).Create(ctx, d.obj.instanceService(s.Name, i), metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("create service %s: %w", instanceID(s.Name, i), err)
			}
			ips[svc.Name] = svc.Spec.ClusterIP
		}
		if _, err := d.cs.CoreV1().Services(ns).Create(ctx, d.obj.serviceService(s.Name), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service %s: %w", s.Name, err)
		}
	}
	// Pods are refused until the namespace's default ServiceAccount exists.
	if err := d.waitServiceAccount(ctx); err != nil {
		return err
	}
	for _, s := range d.cfg.Services {
		for i := range max(1, s.Replicas) {
			sts, err := d.obj.statefulSet(s, i, ips, st)
			if err != nil {
				return err
			}
			if _, err := d.cs.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create statefulset %s: %w", sts.Name, err)
			}
		}
	}
	if err := d.startWatching(ctx); err != nil {
		return err
	}
	if err := d.localProxies(); err != nil {
		return err
	}
	return d.waitAllUp(ctx)
}

// waitServiceAccount waits (at most 30s) until the namespace's default
// ServiceAccount exists.
func (d *Deployment) waitServiceAccount(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := d.cs.CoreV1().ServiceAccounts(d.obj.ns).Get(wctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("service account default in %s: %w", d.obj.ns, err)
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("service account default in %s: not created (is the controller manager running?): %w", d.obj.ns, wctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// storage decides where the stateful services' data lives.
func (d *Deployment) storage(ctx context.Context) (storage, error) {
	st := storage{class: d.cfg.StorageClass, mode: corev1.ReadWriteMany}
	if d.cfg.AccessMode != "" {
		st.mode = corev1.PersistentVolumeAccessMode(d.cfg.AccessMode)
	}
	stateful := false
	for _, s := range d.cfg.Services {
		stateful = stateful || s.Stateful
	}
	if !stateful || st.class != "" {
		return st, nil
	}
	list, err := d.cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return st, fmt.Errorf("list storage classes: %w", err)
	}
	for _, sc := range list.Items {
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			d.log.Info("kubernetes storage", "class", sc.Name, "provisioner", sc.Provisioner, "accessMode", st.mode)
			return st, nil
		}
	}
	if d.cfg.NoHostPath {
		return st, errors.New("the stateful services need a volume: the cluster has no default storage class and none was given")
	}
	st.hostPath = true
	d.log.Warn("kubernetes storage: the cluster has no default storage class: stateful services use a hostPath volume, which only works on a single-node cluster",
		"path", filepath.Join(hostPathRoot, d.obj.ns))
	return st, nil
}

// startWatching starts the informer of the run's pods (by label, in the
// run's namespace) and one reconciler per instance, which keeps the
// instance's tunnel on its current ready pod.
func (d *Deployment) startWatching(ctx context.Context) error {
	d.factory = informers.NewSharedInformerFactoryWithOptions(d.cs, 0, informers.WithNamespace(d.obj.ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = d.obj.runSelector() }))
	pi := d.factory.Core().V1().Pods()
	inf := pi.Informer()
	kick := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		if in := d.byID[p.Labels[LabelInstance]]; in != nil {
			in.kick()
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: kick, DeleteFunc: kick, UpdateFunc: func(_, o any) { kick(o) },
	}); err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	d.pods = pi.Lister()
	d.factory.Start(d.ctx.Done())
	synced := make(chan struct{})
	go func() {
		defer close(synced)
		cache.WaitForCacheSync(d.ctx.Done(), inf.HasSynced)
	}()
	select {
	case <-synced:
	case <-ctx.Done():
		return fmt.Errorf("watch pods: %w", ctx.Err())
	}
	for _, in := range d.all {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			in.reconcileLoop(d.ctx)
		}()
	}
	return nil
}

// localProxies opens, for every instance, the harness's stable local
// addresses: a plain control proxy to its port 8080 (metrics, admin API;
// never faulted), for callers one to the sidecar's admin port 9901
// (metrics), and for gateways the load generator's edge (client →
// gateway#i), whose toxics are the link faults "from client". All of them
// dial through the instance's current tunnel.
func (d *Deployment) localProxies() error {
	for _, in := range d.all {
		var err error
		if in.ctl, err = in.listen(in.id+"/control", shopPort); err != nil {
			return err
		}
		if len(in.links) > 0 {
			if in.admin, err = in.listen(in.id+"/sidecar", adminPort); err != nil {
				return err
			}
		}
		if in.service == d.cfg.Gateway {
			name := faults.ClientCaller + "->" + in.service
			px, err := in.listen(name, shopPort, proxy.WithSeed(fleet.Seed(d.cfg.Seed, fmt.Sprintf("%s#%d", name, in.index))))
			if err != nil {
				return err
			}
			in.client = px
			d.clientPx = append(d.clientPx, px)
			e := faults.Edge{From: faults.ClientCaller, To: in.service}
			d.links[e] = append(d.links[e], px)
		}
	}
	return nil
}

// waitAllUp waits until every instance is up (ready pod, tunnel open),
// bounded by ReadyTimeout; on timeout the error describes each instance
// that is not.
func (d *Deployment) waitAllUp(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, d.cfg.ReadyTimeout)
	defer cancel()
	start := time.Now()
	for _, in := range d.all {
		if err := in.waitUp(wctx, ""); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			var errs []error
			for _, in := range d.all {
				if !in.isUp() {
					errs = append(errs, d.diagnose(dctx, in))
				}
			}
			return fmt.Errorf("not ready after %s: %w", d.cfg.ReadyTimeout, errors.Join(errs...))
		}
	}
	ready := time.Since(start)
	if err := d.waitWired(wctx, nil, nil); err != nil {
		return fmt.Errorf("pods ready after %s, but not every call edge answers after %s: %w", ready.Round(time.Millisecond), d.cfg.ReadyTimeout, err)
	}
	d.log.Info("kubernetes deployment ready", "instances", len(d.all), "pods", ready.Round(time.Millisecond), "wired", time.Since(start).Round(time.Millisecond))
	return nil
}

func (d *Deployment) isClosing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closing
}

// Close stops the port-forwards and watchers, saves each pod's logs to
// RUN/logs/INSTANCE.log, deletes the run's namespace (foreground) and waits
// until it is gone. ctx bounds the wait; once it is done (a second Ctrl-C),
// the run's pods are deleted at once and the namespace all the same. It is
// idempotent.
func (d *Deployment) Close(ctx context.Context) error {
	d.closeOnce.Do(func() { d.closeErr = d.close(ctx) })
	return d.closeErr
}

func (d *Deployment) close(ctx context.Context) error {
	d.mu.Lock()
	d.closing = true
	d.mu.Unlock()
	var errs []error
	for _, in := range d.all {
		for _, px := range []*proxy.Proxy{in.client, in.ctl, in.admin} {
			if px != nil {
				if err := px.Close(); err != nil {
					errs = append(errs, fmt.Errorf("close proxy of %s: %w", in.id, err))
				}
			}
		}
	}
	if d.cancel != nil {
		d.cancel()
	}
	if d.factory != nil {
		d.factory.Shutdown()
	}
	d.wg.Wait()
	for _, in := range d.all {
		in.dropTunnel()
	}
	if d.created {
		// Bounded API calls even when ctx is done: the removal must happen.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if ctx.Err() == nil {
			d.saveLogs(ctx)
		} else {
			d.killPods(actx)
		}
		cancel()
		if err := d.deleteNamespace(ctx); err != nil {
			errs = append(errs, err)
		}
		if j := d.cfg.Journal; j != nil {
			if len(errs) == 0 {
				for _, in := range d.all {
					if err := j.ClearResource(d.scaleResource(in).ID); err != nil {
						errs = append(errs, err)
					}
				}
				if err := j.ClearResource(d.nsResource().ID); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if j := d.cfg.Journal; j != nil {
		if err := j.EndRun(d.cfg.RunID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killPods deletes the run's pods at once (grace 0), by label.
func (d *Deployment) killPods(ctx context.Context) {
	zero := int64(0)
	err := d.cs.CoreV1().Pods(d.obj.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero},
		metav1.ListOptions{LabelSelector: d.obj.runSelector()})
	if err != nil && !apierrors.IsNotFound(err) {
		d.log.Warn("kubernetes: delete pods", "namespace", d.obj.ns, "err", err)
	}
}

// deleteNamespace deletes the run's namespace (checked by its labels) with
// foreground propagation and waits until it is gone: bounded by ctx, or by
// two minutes past it if ctx is done already.
func (d *Deployment) deleteNamespace(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok && ctx.Err() == nil && time.Until(dl) < 2*time.Minute {
		wctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), dl)
		defer cancel()
	}
	_, err := deleteRunNamespaces(wctx, d.cs, d.obj.label, d.obj.ns, true)
	return err
}

// Name implements faults.Runtime.
func (d *Deployment) Name() string { return Name }

// RunID is the run's id (its label value is RunLabel(RunID)).
func (d *Deployment) RunID() string { return d.cfg.RunID }

// Namespace is the run's namespace.
func (d *Deployment) Namespace() string { return d.obj.ns }

// AdminToken guards the instances' /admin API.
func (d *Deployment) AdminToken() string { return d.cfg.AdminToken }

// GatewayURL is where the load goes: the first gateway instance's client
// edge on 127.0.0.1.
func (d *Deployment) GatewayURL() string {
	if urls := d.GatewayURLs(); len(urls) > 0 {
		return urls[0]
	}
	return ""
}

// GatewayURLs lists the client edge of every gateway instance.
func (d *Deployment) GatewayURLs() []string {
	var out []string
	for _, p := range d.clientPx {
		out = append(out, "http://"+p.Addr())
	}
	return out
}

// ProxyJob is the scrape job of the sidecars' /metrics.
const ProxyJob = "gameday-proxy"

// Targets lists every instance's /metrics, and every sidecar's (job
// gameday-proxy), through their stable local addresses.
func (d *Deployment) Targets() []metrics.Target {
	var out []metrics.Target
	for _, in := range d.all {
		if in.ctl != nil {
			out = append(out, fleet.MetricsTarget(in.service, in.id, in.ctl.Addr(), Name))
		}
	}
	for _, in := range d.all {
		if in.admin != nil {
			out = append(out, metrics.Target{Job: ProxyJob, Instance: in.id, URL: "http://" + in.admin.Addr() + "/metrics",
				Labels: map[string]string{"runtime": Name}})
		}
	}
	return out
}

// AdminURL is the base URL of an instance's admin API (stable across its
// pod's replacements).
func (d *Deployment) AdminURL(id string) (string, error) {
	in, err := d.instance(id)
	if err != nil {
		return "", err
	}
	if in.ctl == nil {
		return "", fmt.Errorf("%s: no local address yet", id)
	}
	return "http://" + in.ctl.Addr(), nil
}

// SidecarURL is the base URL of a caller instance's sidecar admin API.
func (d *Deployment) SidecarURL(id string) (string, error) {
	in, err := d.instance(id)
	if err != nil {
		return "", err
	}
	if in.admin == nil {
		return "", fmt.Errorf("%s has no sidecar", id)
	}
	return "http://" + in.admin.Addr(), nil
}

func (d *Deployment) instance(id string) (*instance, error) {
	if in := d.byID[id]; in != nil {
		return in, nil
	}
	return nil, fmt.Errorf("no instance %q", id)
}

// InstanceStatus describes one instance for people and tests.
type InstanceStatus struct {
	faults.Instance
	Pod      string
	Up       bool
	Down     string // why it is down: "killed", "scaled to 0", ""
	Restarts int    // pods replaced since the deployment started
}

// Status describes every instance.
func (d *Deployment) Status() []InstanceStatus {
	var out []InstanceStatus
	for _, in := range d.all {
		in.mu.Lock()
		s := InstanceStatus{Instance: faults.Instance{Service: in.service, Index: in.index, ID: in.id}, Pod: podName(in.id), Restarts: in.replaced}
		if in.tun != nil {
			s.Up, s.Ref = true, string(in.tun.uid)
		}
		if in.scaledDown {
			s.Down = "scaled to 0"
		}
		in.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// forwardURL is the portforward subresource of a pod of the run.
func (d *Deployment) forwardURL(pod string) *url.URL {
	return d.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(d.obj.ns).Name(pod).SubResource("portforward").URL()
}
