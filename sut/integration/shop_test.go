package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/client"
)

var sutBinary string

// TestMain builds cmd/sut once for the whole package.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sut-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sutBinary = filepath.Join(dir, "sut")
	build := exec.Command("go", "build", "-o", sutBinary, "github.com/gameday/gameday/cmd/sut")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cmd/sut:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const token = "integration-token"

// proc is one service instance as a child process.
type proc struct {
	t       *testing.T
	service string
	args    []string
	addr    string // host:port, kept across restarts
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	exitErr error         // its exit status, once exited is closed
	stderr  *bytes.Buffer
}

func (p *proc) url() string { return "http://" + p.addr }

// start launches the process (on p.addr if it ran before) and waits for its
// listening line.
func (p *proc) start() {
	p.t.Helper()
	listen := "127.0.0.1:0"
	if p.addr != "" {
		listen = p.addr
	}
	args := append([]string{"serve", "--service", p.service, "--listen", listen}, p.args...)
	cmd := exec.Command(sutBinary, args...)
	cmd.Env = append(os.Environ(), "GAMEDAY_ADMIN_TOKEN="+token)
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	p.stderr = &bytes.Buffer{}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.service, err)
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line, ok := <-lines:
		addr, found := strings.CutPrefix(line, "listening ")
		if !ok || !found {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			p.t.Fatalf("%s: first line %q; stderr: %s", p.service, line, p.stderr)
		}
		p.addr = addr
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		p.t.Fatalf("%s: no listening line", p.service)
	}
	go func() { p.exitErr = cmd.Wait(); close(p.exited) }()
}

func (p *proc) kill() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// term sends SIGTERM and returns the exit error (nil: exited 0).
func (p *proc) term() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		return fmt.Errorf("%s did not exit after SIGTERM", p.service)
	}
}

func startShop(t *testing.T, variant, data string) map[string]*proc {
	procs := map[string]*proc{}
	for _, s := range []string{sut.Inventory, sut.Payment, sut.Cart, sut.Catalog, sut.Orders, sut.Gateway} {
		p := &proc{t: t, service: s, args: []string{"--variant", variant, "--data", data, "--instance", s + "-0"}}
		for _, c := range sut.Callees(s) {
			p.args = append(p.args, "--upstream", c+"="+procs[c].url())
		}
		p.start()
		procs[s] = p
	}
	t.Cleanup(func() {
		for _, p := range procs {
			select {
			case <-p.exited:
			default:
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
	})
	return procs
}

// TestKillOrdersAndPaymentUnderLoad places orders through the gateway while
// orders and payment are SIGKILLed and restarted (and payment answers 500
// after charging on 30% of charges, so that retries hit the idempotency
// key), then kills the gateway too, and proves that no acknowledged order
// was lost or charged twice and that stock adds up.
func TestKillOrdersAndPaymentUnderLoad(t *testing.T) {
	procs := startShop(t, "retries", t.TempDir())
	gw := procs[sut.Gateway].url()
	ctx := context.Background()
	errorFault := func() {
		t.Helper()
		if _, err := client.SetFault(ctx, procs[sut.Payment].url(), token, client.AdminFault{
			Kind: client.KindError, Operation: "charge", Status: 500, Percent: 30}); err != nil {
			t.Fatal(err)
		}
	}
	errorFault()

	var (
		mu       sync.Mutex
		acked    []string
		ok, fail atomic.Int64
		phase    atomic.Int32 // 0 before, 1 during the kills, 2 after the last restart
		okAfter  atomic.Int64
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loadCtx.Err() == nil {
				body := fmt.Sprintf(`{"items":[{"sku":"A%d","qty":%d},{"sku":"C1","qty":1}]}`, 1+rand.IntN(4), 1+rand.IntN(3))
				req, _ := http.NewRequestWithContext(loadCtx, "POST", gw+"/api/checkout", strings.NewReader(body))
				resp, err := hc.Do(req)
				if err != nil {
					fail.Add(1)
					continue
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					fail.Add(1)
					continue
				}
				var o struct{ ID, State string }
				if err := json.Unmarshal(data, &o); err != nil || o.State != "paid" {
					t.Errorf("201 without a paid order: %s", data)
					continue
				}
				ok.Add(1)
				if phase.Load() == 2 {
					okAfter.Add(1)
				}
				mu.Lock()
				acked = append(acked, o.ID)
				mu.Unlock()
			}
		}()
	}
	waitFor := func(d time.Duration) { time.Sleep(d) } // the timeline of the game day, not synchronisation
	waitFor(1500 * time.Millisecond)
	if ok.Load() == 0 {
		t.Fatalf("no checkout succeeded before the kills (%d failed); orders stderr: %s", fail.Load(), procs[sut.Orders].stderr)
	}
	phase.Store(1)
	before := fail.Load()
	procs[sut.Orders].kill()
	waitFor(500 * time.Millisecond)
	procs[sut.Orders].start()
	waitFor(1000 * time.Millisecond)
	procs[sut.Payment].kill()
	waitFor(500 * time.Millisecond)
	procs[sut.Payment].start()
	errorFault()
	waitFor(1000 * time.Millisecond)
	procs[sut.Orders].kill()
	procs[sut.Payment].kill()
	waitFor(300 * time.Millisecond)
	procs[sut.Payment].start()
	procs[sut.Orders].start()
	errorFault()
	phase.Store(2)
	waitFor(1500 * time.Millisecond)
	stopLoad()
	wg.Wait()
	if fail.Load() == before {
		t.Errorf("no checkout failed while orders and payment were down: were they killed under load?")
	}
	if okAfter.Load() == 0 {
		t.Fatalf("no checkout succeeded after the restarts")
	}
	if err := client.ClearAll(ctx, procs[sut.Payment].url(), token); err != nil {
		t.Fatal(err)
	}
	// The gateway's ack log survives a SIGKILL too.
	procs[sut.Gateway].kill()
	procs[sut.Gateway].start()

	rep, err := client.Integrity(ctx, gw, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checkouts: %d acknowledged, %d failed; integrity: %d acked, %d orders (%d paid, %d pending, %d failed), %d charges",
		ok.Load(), fail.Load(), rep.Acknowledged, rep.Orders, rep.Paid, rep.Pending, rep.Failed, rep.Charges)
	if !rep.OK {
		t.Fatalf("integrity failed: %s", strings.Join(rep.Problems, "; "))
	}
	// The ack log may hold a few more than the clients saw (a 201 written
	// while the load stopped), never fewer: every 201 is in it.
	req, _ := http.NewRequest("GET", gw+"/admin/acks", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	_ = json.NewDecoder(resp.Body).Decode(&logged)
	resp.Body.Close()
	inLog := map[string]bool{}
	for _, id := range logged {
		inLog[id] = true
	}
	for _, id := range acked {
		if !inLog[id] {
			t.Errorf("order %s was acknowledged to a client but is not in the gateway's ack log", id)
		}
	}
	if rep.Acknowledged != len(logged) || rep.Acknowledged < len(acked) {
		t.Errorf("integrity counted %d acknowledgements, the log has %d, the clients got %d", rep.Acknowledged, len(logged), len(acked))
	}
	if rep.Charges != rep.Paid {
		t.Errorf("%d charges for %d paid orders", rep.Charges, rep.Paid)
	}
	// Independently of the integrity API: every order a client got a 201 for
	// is there and paid.
	for _, id := range acked {
		resp, err := hc.Get(gw + "/api/orders/" + id)
		if err != nil {
			t.Fatal(err)
		}
		var o struct{ State string }
		_ = json.NewDecoder(resp.Body).Decode(&o)
		resp.Body.Close()
		if resp.StatusCode != 200 || o.State != "paid" {
			t.Errorf("acknowledged order %s: %d %q", id, resp.StatusCode, o.State)
		}
	}
	// Retries did hit payment's idempotency key.
	if n := scrape(t, procs[sut.Orders].url(), "shop_client_attempts_total", `callee="payment"`); n == 0 {
		t.Error("no attempts on orders->payment")
	}
	// SIGTERM drains and exits 0.
	for _, s := range sut.Services() {
		if err := procs[s].term(); err != nil {
			t.Errorf("%s after SIGTERM: %v; stderr: %s", s, err, procs[s].stderr)
		}
	}
}

func scrape(t *testing.T, url, name, match string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, match) {
			var v float64
			f := strings.Fields(line)
			_, _ = fmt.Sscan(f[len(f)-1], &v)
			sum += v
		}
	}
	return sum
}
