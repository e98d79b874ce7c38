// Package k8stest holds what the tests that need a Kubernetes cluster share
// (they are behind the `kubernetes` build tag): gameday's own single-node
// test cluster (deploy/kubernetes/testcluster), built and started once per
// test process and shared by every test and every test process; images from
// the Docker engine imported into it; clients, namespaces and port-forwards.
//
// The cluster needs root and the host tools up.sh lists (containerd, runc,
// the CNI plugins, openssl, curl, iptables, go). Without them the tests
// skip, unless $GAMEDAY_REQUIRE_KUBERNETES is 1 (CI sets it), in which case
// they fail: a CI machine that lost its cluster must not pass by skipping.
//
// The helper never stops the cluster (tests share it; CI runs down.sh at
// the end) and leaves no namespace of its own behind: Namespace deletes
// the namespaces it creates when the test ends and waits until they are gone.
package k8stest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/gameday/gameday/internal/dockertest"
)

// RequireEnv is the environment variable that turns "no cluster possible
// here" from a skip into a failure.
const RequireEnv = "GAMEDAY_REQUIRE_KUBERNETES"

// StateEnv names the cluster's state directory (up.sh's $GAMEDAY_K8S_STATE);
// DefaultStateDir is used when it is unset.
const (
	StateEnv        = "GAMEDAY_K8S_STATE"
	DefaultStateDir = "/var/lib/gameday-testcluster"
)

// Timeouts of the scripts, each also bounded by the test's deadline: a cold
// build of the components takes 20-30 minutes on the 2-core CI machine (pass
// go test a -timeout that allows it, or run build.sh before the tests); a
// start about half a minute.
const (
	buildTimeout  = 45 * time.Minute
	upTimeout     = 5 * time.Minute
	importTimeout = 5 * time.Minute
)

// Cluster is the running test cluster.
type Cluster struct {
	Kubeconfig string // the admin kubeconfig (system:masters)
	BinDir     string // the components' binaries (build.sh's cache)
	StateDir   string // up.sh's state dir: logs/, run/, pki/, ...
}

// started remembers, for this test process, the outcome of starting the
// cluster and of importing each image, so that every test may call Require
// and ImportImage and only the first call does the work. It is the
// package's only state, a per-process cache by design (like sync.Once).
var started = struct {
	mu       sync.Mutex
	done     bool
	cluster  *Cluster
	err      error
	imported map[string]string // image reference -> Docker image ID imported
	users    *os.File          // the shared lock on $STATE/.users.lock, held until exit
}{imported: map[string]string{}}

// Require returns the test cluster, building its components (build.sh) and
// starting it (up.sh) when this process has not done so yet; a file lock
// in the state dir serialises test processes. From then on the process holds
// a shared lock on $STATE/.users.lock until it exits, so that down.sh does
// not stop the cluster under a running test. It skips t when this host
// cannot run the cluster (not root, a tool missing), unless
// $GAMEDAY_REQUIRE_KUBERNETES=1, and fails t when the build or the start
// fails.
func Require(t testing.TB) *Cluster {
	t.Helper()
	if err := prerequisites(); err != nil {
		unavailable(t, err)
	}
	started.mu.Lock()
	defer started.mu.Unlock()
	if !started.done {
		started.cluster, started.err = start(t)
		started.done = true
	}
	if started.err != nil {
		t.Fatalf("test cluster: %v", started.err)
	}
	c := *started.cluster
	return &c
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	dockertest.SkipOrFail(t, RequireEnv, "the Kubernetes test cluster", err)
}

// prerequisites says why this host cannot run the test cluster, or nil.
func prerequisites() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("needs Linux, not %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (it starts a kubelet, a containerd, iptables rules)")
	}
	var missing []string
	for _, c := range []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc", "go", "openssl", "curl", "iptables", "ip", "setsid", "flock"} {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat("/usr/lib/cni/" + p); err != nil {
			missing = append(missing, "/usr/lib/cni/"+p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s (apt-get install containerd containernetworking-plugins conntrack openssl curl)", strings.Join(missing, ", "))
	}
	return nil
}

// StateDir is the cluster's state directory: $GAMEDAY_K8S_STATE or
// DefaultStateDir.
func StateDir() string {
	if d := os.Getenv(StateEnv); d != "" {
		return d
	}
	return DefaultStateDir
}

// start builds and starts the cluster under the cross-process lock.
func start(t testing.TB) (*Cluster, error) {
	t.Helper()
	root := dockertest.RepoRoot(t)
	dir := filepath.Join(root, "deploy", "kubernetes", "testcluster")
	state := StateDir()
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, err
	}

	ctx, cancel := testContext(t, buildTimeout+upTimeout)
	defer cancel()
	starting, err := lockFile(ctx, filepath.Join(state, ".k8stest.lock"), syscall.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer unlock(starting)

	begin := time.Now()
	bctx, bcancel := context.WithTimeout(ctx, buildTimeout)
	defer bcancel()
	binDir, out, err := script(bctx, root, filepath.Join(dir, "build.sh"))
	if err != nil {
		return nil, fmt.Errorf("build.sh: %w\n%s", err, tail(out, 30))
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Logf("test cluster: components built in %s", d.Round(time.Second))
	}

	begin = time.Now()
	uctx, ucancel := context.WithTimeout(ctx, upTimeout)
	defer ucancel()
	kubeconfig, out, err := script(uctx, root, filepath.Join(dir, "up.sh"))
	if err != nil {
		return nil, fmt.Errorf("up.sh: %w\n%s", err, tail(out, 40))
	}
	t.Logf("test cluster up in %s (%s):\n%s", time.Since(begin).Round(100*time.Millisecond), kubeconfig, tail(out, 6))
	users, err := lockFile(ctx, filepath.Join(state, ".users.lock"), syscall.LOCK_SH)
	if err != nil {
		return nil, err
	}
	started.users = users // never released: the kernel does when the process exits
	return &Cluster{Kubeconfig: kubeconfig, BinDir: binDir, StateDir: state}, nil
}

// script runs a bash script of the test cluster and returns the last line
// of its stdout and its combined output.
func script(ctx context.Context, root, path string, args ...string) (last string, combined []byte, err error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{path}, args...)...)
	cmd.Dir = root
	cmd.WaitDelay = 10 * time.Second
	var stdout, all bytes.Buffer
	cmd.Stdout = io.MultiWriter(&stdout, &all)
	cmd.Stderr = &all
	err = cmd.Run()
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last = strings.TrimSpace(lines[len(lines)-1])
	if err == nil && last == "" {
		err = errNoStdout
	}
	return last, all.Bytes(), err
}

// testContext is bounded by d and by t's deadline (less a minute, so that the
// test fails with the script's output rather than the test binary's panic).
func testContext(t testing.TB, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := dt.Deadline(); ok {
			ctx2, cancel2 := context.WithDeadline(ctx, dl.Add(-time.Minute))
			return ctx2, func() { cancel2(); cancel() }
		}
	}
	return ctx, cancel
}

// ImportImage imports the Docker image ref (e.g. "gameday/sut:dev") into
// the cluster's containerd, so that pods run it with imagePullPolicy: Never.
// Each Docker image ID is imported at most once per process (and images.sh
// skips an ID the cluster already has). It skips t without a Docker engine,
// unless $GAMEDAY_REQUIRE_KUBERNETES=1, and fails t when Docker has no ref.
func (c *Cluster) ImportImage(t testing.TB, ref string) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		unavailable(t, fmt.Errorf("docker CLI: %w", err))
	}
	ctx, cancel := testContext(t, importTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", ref).CombinedOutput()
	if err != nil {
		t.Fatalf("import %s: docker image inspect: %v: %s", ref, err, tail(out, 3))
	}
	id := strings.TrimSpace(string(out))

	started.mu.Lock()
	defer started.mu.Unlock()
	if started.imported[ref] == id {
		return
	}
	root := dockertest.RepoRoot(t)
	begin := time.Now()
	_, all, err := script(ctx, root, filepath.Join(root, "deploy", "kubernetes", "testcluster", "images.sh"), ref)
	if err != nil && !errors.Is(err, errNoStdout) {
		t.Fatalf("import %s: images.sh: %v\n%s", ref, err, tail(all, 20))
	}
	started.imported[ref] = id
	t.Logf("image %s (%s) in the cluster after %s", ref, id, time.Since(begin).Round(10*time.Millisecond))
}

// errNoStdout is what script reports for a script that prints nothing on
// stdout, which images.sh never does.
var errNoStdout = errors.New("printed nothing on stdout")

// RESTConfig returns the admin's client configuration.
func (c *Cluster) RESTConfig(t testing.TB) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", c.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "gameday-k8stest"
	return cfg
}

// Clientset returns a typed client as the cluster's admin.
func (c *Cluster) Clientset(t testing.TB) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig(t))
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs
}

// Namespace creates a namespace of t's own, named prefix plus a random
// suffix, waits until its default ServiceAccount exists (pods are refused
// before), and deletes it when t ends, waiting until it is gone.
func (c *Cluster) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	cs := c.Clientset(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix, Labels: map[string]string{"gameday.test": "k8stest"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s*: %v", prefix, err)
	}
	name := ns.Name
	t.Cleanup(func() { deleteNamespace(t, cs, name) })
	err = poll(ctx, 100*time.Millisecond, func() (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("namespace %s: default ServiceAccount: %v", name, err)
	}
	return name
}

func deleteNamespace(t testing.TB, cs *kubernetes.Clientset, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	begin := time.Now()
	err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Errorf("delete namespace %s: %v", name, err)
		return
	}
	err = poll(ctx, 250*time.Millisecond, func() (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Errorf("namespace %s still there %s after its deletion: %v", name, time.Since(begin).Round(time.Second), err)
		return
	}
	t.Logf("namespace %s deleted in %s", name, time.Since(begin).Round(100*time.Millisecond))
}

// PortForward forwards a free port of 127.0.0.1 to port of the pod through
// the apiserver (as kubectl port-forward does) until t ends, and returns the
// local address, "127.0.0.1:PORT".
func (c *Cluster) PortForward(t testing.TB, namespace, pod string, port int) string {
	t.Helper()
	cfg := c.RESTConfig(t)
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatalf("port-forward: %v", err)
	}
	cs := c.Clientset(t)
	url := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)

	stop, ready := make(chan struct{}), make(chan struct{})
	var errOut bytes.Buffer
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, &syncWriter{w: &errOut})
	if err != nil {
		t.Fatalf("port-forward %s/%s:%d: %v", namespace, pod, port, err)
	}
	done := make(chan error, 1)
	go func() { done <- pf.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port-forward %s/%s:%d: %v", namespace, pod, port, err)
	case <-time.After(30 * time.Second):
		close(stop)
		t.Fatalf("port-forward %s/%s:%d: not ready after 30s", namespace, pod, port)
	}
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("port-forward %s/%s:%d: ports %v: %v", namespace, pod, port, ports, err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0].Local)
}

// syncWriter serialises the port-forwarder's error output.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// poll calls cond every interval until it returns true or an error, or ctx
// is done.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if ok || (err != nil && ctx.Err() == nil && !isTransient(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// isTransient reports API errors worth retrying.
func isTransient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}

// lockFile takes a flock (how: syscall.LOCK_EX or LOCK_SH) on path, polling
// until ctx is done, and returns the open file that holds it.
func lockFile(ctx context.Context, path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: held by another process (starting or stopping the cluster): %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// unlock releases a lock of lockFile.
func unlock(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
