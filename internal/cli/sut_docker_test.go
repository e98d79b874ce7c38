//go:build docker

package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/gameday/gameday/internal/dockertest"
	"github.com/gameday/gameday/internal/e2etest"
	"github.com/gameday/gameday/platform/docker"
)

// `gameday sut up --runtime docker` through the real binary: the shop
// answers on the printed gateway URL, the --fault is in place (payment's
// container paused), and one Ctrl-C reverts it and removes every container,
// network and volume of the run.
func TestSUTUpOnDockerServesAndCtrlCLeavesNothing(t *testing.T) {
	dockertest.Images(t, "sut")
	ctx := context.Background()
	cli, err := docker.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	dir := t.TempDir()
	bin, err := e2etest.Build(dir, "github.com/gameday/gameday/cmd/gameday")
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GAMEDAY_STATE_DIR="+filepath.Join(dir, "state"))
	up := exec.Command(bin, "sut", "up", "--runtime", "docker", "--variant", "naive",
		"--fault", "pause:payment", "--run-dir", filepath.Join(dir, "run"))
	up.Env = env
	var errOut strings.Builder
	up.Stderr = &errOut
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	defer up.Process.Kill()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var gateway, runID string
	var ready, injected bool
	timeout := time.After(2 * time.Minute)
	for !ready || !injected {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("sut up ended before it was ready:\n%s", errOut.String())
			}
			t.Log(l)
			switch f := strings.Fields(l); {
			case len(f) == 2 && f[0] == "gateway" && gateway == "":
				gateway = f[1]
			case len(f) == 2 && f[0] == "run-id":
				runID = f[1]
			case strings.HasPrefix(l, "ready"):
				ready = true
			case strings.HasPrefix(l, "fault") && strings.HasSuffix(l, "pause-0 injected"):
				injected = true
			}
		case <-timeout:
			t.Fatalf("sut up not ready (or the fault not injected) within 2 min:\n%s", errOut.String())
		}
	}
	if !strings.HasPrefix(gateway, "http://127.0.0.1:") || runID == "" {
		t.Fatalf("gateway %q, run id %q", gateway, runID)
	}
	resp, err := http.Get(gateway + "/api/products")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"sku"`) {
		t.Fatalf("GET /api/products: %d %s", resp.StatusCode, body)
	}
	run := filters.NewArgs(filters.Arg("label", docker.LabelRun+"="+runID))
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: run})
	if err != nil {
		t.Fatal(err)
	}
	paused := 0
	for _, c := range cs {
		if c.State == "paused" {
			if c.Labels[docker.LabelService] != "payment" {
				t.Errorf("%s paused, not payment", c.Names)
			}
			paused++
		}
	}
	if paused != 1 {
		t.Errorf("%d paused containers of %d, want payment's", paused, len(cs))
	}

	if err := up.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := up.Wait(); err != nil {
		t.Fatalf("sut up after one Ctrl-C: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "reverted pause-0") {
		t.Errorf("sut up did not say it reverted the pause:\n%s", errOut.String())
	}
	cs, _ = cli.ContainerList(ctx, container.ListOptions{All: true, Filters: run})
	ns, _ := cli.NetworkList(ctx, network.ListOptions{Filters: run})
	vs, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: run})
	if len(cs)+len(ns)+len(vs.Volumes) != 0 {
		t.Errorf("left after Ctrl-C: %d containers, %d networks, %d volumes", len(cs), len(ns), len(vs.Volumes))
	}
	rec := exec.Command(bin, "recover")
	rec.Env = env
	if said, err := rec.CombinedOutput(); err != nil || !strings.Contains(string(said), "nothing to recover") {
		t.Errorf("recover after a clean exit: %v\n%s", err, said)
	}
}
