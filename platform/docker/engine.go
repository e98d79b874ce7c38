package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// ErrForeign says a container, network or volume does not carry the run's
// label: the runtime refuses to act on it, whatever a selector said.
var ErrForeign = errors.New("not part of this run")

// NewClient connects to the Docker engine named by the environment
// (DOCKER_HOST, else the local socket), negotiating the API version, and
// checks that it answers within ctx.
func NewClient(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker engine at %s: %w", cli.DaemonHost(), err)
	}
	return cli, nil
}

// runFilter selects the objects of one run.
func runFilter(runID string) filters.Args {
	return filters.NewArgs(filters.Arg("label", LabelRun+"="+runID))
}

// checkOwned refuses a container that lacks the run's label.
func checkOwned(st container.InspectResponse, runID string) error {
	var got string
	if st.Config != nil {
		got = st.Config.Labels[LabelRun]
	}
	if runID == "" || got != runID {
		return fmt.Errorf("refusing to touch container %s (%s): label %s=%q, this run is %q: %w",
			strings.TrimPrefix(st.Name, "/"), short(st.ID), LabelRun, got, runID, ErrForeign)
	}
	return nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// subnetCandidates lists private /24s that no Docker network and no
// interface of this machine uses, in the order to try them.
func subnetCandidates(ctx context.Context, cli *client.Client) ([]netip.Prefix, error) {
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var used []netip.Prefix
	for _, n := range nets {
		for _, c := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil {
				used = append(used, p)
			}
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if p, err := netip.ParsePrefix(ipn.String()); err == nil {
					used = append(used, p.Masked())
				}
			}
		}
	}
	var out []netip.Prefix
	for b := 28; b <= 31; b++ {
		for c := 0; c < 256; c++ {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(b), byte(c), 0}), 24)
			free := true
			for _, u := range used {
				if u.Overlaps(p) {
					free = false
					break
				}
			}
			if free {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no free private subnet in 172.28.0.0/14")
	}
	return out, nil
}

// createNetwork creates the run's bridge network on the first free subnet
// (another run may take a candidate between the listing and the creation:
// then the next one is tried).
func createNetwork(ctx context.Context, cli *client.Client, name string, labels map[string]string) (string, netip.Prefix, error) {
	cands, err := subnetCandidates(ctx, cli)
	if err != nil {
		return "", netip.Prefix{}, err
	}
	var lastErr error
	for i, p := range cands {
		if i == 16 {
			break
		}
		gw := p.Addr().Next()
		resp, err := cli.NetworkCreate(ctx, name, network.CreateOptions{
			Driver: "bridge",
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: p.String(), Gateway: gw.String()}}},
			Labels: labels,
		})
		if err == nil {
			return resp.ID, p, nil
		}
		lastErr = err
		if !strings.Contains(strings.ToLower(err.Error()), "overlap") {
			break
		}
	}
	return "", netip.Prefix{}, fmt.Errorf("create network %s: %w", name, lastErr)
}

// removeTimeout bounds removeRun's removals once its context is done.
const removeTimeout = time.Minute

// removeRun stops and removes every container labelled with the run's id
// (unpaused first, SIGTERM then SIGKILL after grace), then its networks and
// volumes. save, when set, is called with each container before its
// removal (to keep its logs). It returns one line per object removed.
func removeRun(ctx context.Context, cli *client.Client, runID string, grace time.Duration, save func(context.Context, container.Summary)) ([]string, error) {
	if runID == "" {
		return nil, errors.New("remove run: no run id")
	}
	// ctx bounds the graceful part (the stop's drain, saving logs). Once it
	// is done (a second Ctrl-C), containers are killed and everything is
	// removed anyway, within removeTimeout: a forced exit leaves nothing.
	stopCtx := ctx
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	var (
		mu    sync.Mutex
		lines []string
		errs  []error
	)
	report := func(line string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		lines = append(lines, line)
	}
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: runFilter(runID)})
	if err != nil {
		return nil, fmt.Errorf("list containers of run %s: %w", runID, err)
	}
	secs := int(math.Ceil(grace.Seconds()))
	var wg sync.WaitGroup
	for _, c := range cs {
		if c.Labels[LabelRun] != runID { // the filter did it; never trust a filter with a removal
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := c.ID
			if len(c.Names) > 0 {
				name = strings.TrimPrefix(c.Names[0], "/")
			}
			if c.State == "paused" {
				if err := cli.ContainerUnpause(ctx, c.ID); err != nil && !cerrdefs.IsNotFound(err) {
					report("", fmt.Errorf("unpause %s: %w", name, err))
				}
			}
			if (c.State == "running" || c.State == "paused" || c.State == "restarting") && stopCtx.Err() == nil {
				// Cut short by stopCtx: the forced remove below kills it.
				if err := cli.ContainerStop(stopCtx, c.ID, container.StopOptions{Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) && stopCtx.Err() == nil {
					report("", fmt.Errorf("stop %s: %w", name, err))
				}
			}
			if save != nil && stopCtx.Err() == nil {
				save(stopCtx, c)
			}
			err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
			switch {
			case err == nil:
				report(fmt.Sprintf("removed container %s", name), nil)
			case cerrdefs.IsNotFound(err):
			default:
				report("", fmt.Errorf("remove container %s: %w", name, err))
			}
		}()
	}
	wg.Wait()
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: runFilter(runID)})
	if err != nil {
		errs = append(errs, fmt.Errorf("list networks of run %s: %w", runID, err))
	}
	for _, n := range nets {
		if n.Labels[LabelRun] != runID {
			continue
		}
		if err := cli.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		lines = append(lines, fmt.Sprintf("removed network %s", n.Name))
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: runFilter(runID)})
	if err != nil {
		errs = append(errs, fmt.Errorf("list volumes of run %s: %w", runID, err))
	}
	for _, v := range vols.Volumes {
		if v.Labels[LabelRun] != runID {
			continue
		}
		if err := cli.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			continue
		}
		lines = append(lines, fmt.Sprintf("removed volume %s", v.Name))
	}
	sort.Strings(lines)
	return lines, errors.Join(errs...)
}

// saveLogs writes a container's output (stdout and stderr) to path.
func saveLogs(ctx context.Context, cli *client.Client, id, path string) error {
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = stdcopy.StdCopy(f, f, rc)
	return errors.Join(err, f.Close())
}

// logTail returns the last lines of a container's output, for errors.
func logTail(ctx context.Context, cli *client.Client, id string) string {
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "5"})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var b strings.Builder
	_, _ = stdcopy.StdCopy(&b, &b, io.LimitReader(rc, 4096))
	return strings.TrimSpace(b.String())
}
