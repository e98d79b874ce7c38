//go:build linux

package netns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// requireRoot skips the test unless it runs as root with ip, nsenter and
// iptables at hand.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, iptables)")
	}
	for _, tool := range []string{"ip", "nsenter", "iptables", "iptables-restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// testNS is a namespace of the test's own, named by the PID of a process
// inside it (as a container's would be).
type testNS struct {
	NS
	name string
}

// newNS creates gd-test-<random> with lo up and a sleeping process inside;
// cleanup kills the process and deletes the namespace.
func newNS(t *testing.T) testNS {
	t.Helper()
	name := fmt.Sprintf("gd-test-%08x", rand.Uint32())
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	cmd := exec.Command("ip", "netns", "exec", name, "sh", "-c", "echo ready; exec sleep 60")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("process in %s: %q, %v", name, line, err)
	}
	n := testNS{NS: FromPID(cmd.Process.Pid), name: name}
	if ok, err := same(n.Path, "/run/netns/"+name); err != nil || !ok {
		t.Fatalf("%s is not in %s: %v", n.Path, name, err)
	}
	return n
}

// veth links a and b with a veth pair (created inside them, never on the
// host) and returns the addresses of a's and b's ends.
func veth(t *testing.T, a, b testNS) (netip.Addr, netip.Addr) {
	t.Helper()
	va := fmt.Sprintf("gdv%08x", rand.Uint32())
	vb := va + "p"
	run(t, "ip", "-n", a.name, "link", "add", va, "type", "veth", "peer", "name", vb, "netns", b.name)
	run(t, "ip", "-n", a.name, "addr", "add", "10.231.0.1/24", "dev", va)
	run(t, "ip", "-n", b.name, "addr", "add", "10.231.0.2/24", "dev", vb)
	run(t, "ip", "-n", a.name, "link", "set", va, "up")
	run(t, "ip", "-n", b.name, "link", "set", vb, "up")
	return netip.MustParseAddr("10.231.0.1"), netip.MustParseAddr("10.231.0.2")
}

// echo serves a TCP echo inside n on addr; it returns the bound address and
// a count of accepted connections. Everything stops on cleanup.
func echo(t *testing.T, n NS, addr string) (string, *atomic.Int64) {
	t.Helper()
	ln, err := n.Listen(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), &accepted
}

func dialIn(t *testing.T, n NS, addr string, timeout time.Duration) (net.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := n.DialContext(ctx, "tcp", addr)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

func roundTrip(c net.Conn, timeout time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	_, err := io.ReadFull(c, make([]byte, 4))
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// netnsOf is the namespace of the calling goroutine's thread.
func threadNS(t *testing.T) string {
	t.Helper()
	l, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDoRunsInsideAndRestoresThreads(t *testing.T) {
	requireRoot(t)
	n := newNS(t)
	want, err := os.Readlink(n.Path)
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := n.Do(func() error {
				if got := threadNS(t); got != want {
					return fmt.Errorf("inside Do: %s, want %s", got, want)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// The threads Do used went back to the pool: none may still be in n.
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if got := threadNS(t); got != host {
				t.Errorf("thread after Do: %s, want the host's %s", got, host)
			}
		}()
	}
	wg.Wait()

	sentinel := errors.New("from f")
	if err := n.Do(func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("Do error: %v, want f's", err)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want f's panic", r)
			}
		}()
		_ = n.Do(func() error { panic("boom") })
	}()
	if err := (NS{Path: "/run/netns/gd-test-does-not-exist"}).Do(func() error { return nil }); err == nil {
		t.Error("Do in a missing namespace: no error")
	}
}

func TestListenIsInsideTheNamespace(t *testing.T) {
	requireRoot(t)
	n := newNS(t)
	addr, accepted := echo(t, n.NS, "127.0.0.1:0")
	if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		_ = c.Close() // some host process owns the same port number
		t.Logf("host dial to %s connected to something else", addr)
	}
	if accepted.Load() != 0 {
		t.Fatalf("the host's 127.0.0.1 reached the listener inside %s", n.name)
	}
	c, err := dialIn(t, n.NS, addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial inside: %v", err)
	}
	if err := roundTrip(c, 2*time.Second); err != nil {
		t.Fatalf("round trip inside: %v", err)
	}
	if accepted.Load() != 1 {
		t.Errorf("accepted %d, want 1", accepted.Load())
	}
	if _, err := n.Listen(context.Background(), "localhost:0"); err == nil {
		t.Error("Listen on a host name: no error")
	}
	if _, err := n.DialContext(context.Background(), "tcp", "localhost:1"); err == nil {
		t.Error("dial to a host name: no error")
	}
}

// chainOf is `iptables -S` of n's filter table.
func iptablesS(t *testing.T, n testNS) string {
	t.Helper()
	return run(t, "ip", "netns", "exec", n.name, "iptables", "-w", "-S")
}

func TestChainsDropRejectAndRemove(t *testing.T) {
	requireRoot(t)
	a, b := newNS(t), newNS(t)
	_, bAddr := veth(t, a, b)
	for _, tc := range []struct {
		name   string
		server NS         // where the servers listen
		dst    netip.Addr // their address, as A sees it
	}{
		{"veth", b.NS, bAddr},
		{"loopback", a.NS, netip.MustParseAddr("127.0.0.1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			target, _ := echo(t, tc.server, netip.AddrPortFrom(tc.dst, 0).String())
			other, _ := echo(t, tc.server, netip.AddrPortFrom(tc.dst, 0).String())
			port := netip.MustParseAddrPort(target).Port()
			chain := fmt.Sprintf("GD-test-%08x", rand.Uint32())
			t.Cleanup(func() { _ = a.RemoveChain(ctx, chain) })

			stalled, err := dialIn(t, a.NS, target, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			reset, err := dialIn(t, a.NS, target, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []net.Conn{stalled, reset} {
				if err := roundTrip(c, 2*time.Second); err != nil {
					t.Fatalf("before the chain: %v", err)
				}
			}

			// Drop: new connects time out, an established one stalls, another port passes.
			drop := []Rule{{Dst: tc.dst, Port: int(port), Action: Drop}}
			if err := a.AddChain(ctx, chain, drop); err != nil {
				t.Fatal(err)
			}
			rules := iptablesS(t, a)
			if first := firstOutput(rules); first != "-A OUTPUT -j "+chain {
				t.Errorf("first OUTPUT rule %q, want the jump to %s:\n%s", first, chain, rules)
			}
			if err := a.AddChain(ctx, chain, drop); err != nil {
				t.Fatal(err)
			}
			if again := iptablesS(t, a); again != rules {
				t.Errorf("AddChain twice changed the rules:\n%s\nthen\n%s", rules, again)
			}
			start := time.Now()
			if _, err := dialIn(t, a.NS, target, 300*time.Millisecond); !isTimeout(err) {
				t.Errorf("dial under drop: %v after %v, want a timeout", err, time.Since(start))
			}
			if err := roundTrip(stalled, 300*time.Millisecond); !isTimeout(err) {
				t.Errorf("established connection under drop: %v, want it stalled", err)
			}
			if _, err := dialIn(t, a.NS, other, 2*time.Second); err != nil {
				t.Errorf("dial to another port under a port's drop: %v", err)
			}

			// Reject (the same chain, rules replaced): refused and reset, fast.
			if err := a.AddChain(ctx, chain, []Rule{{Dst: tc.dst, Port: int(port), Action: Reject}}); err != nil {
				t.Fatal(err)
			}
			start = time.Now()
			if _, err := dialIn(t, a.NS, target, 2*time.Second); !isRefused(err) || time.Since(start) > 200*time.Millisecond {
				t.Errorf("dial under reject: %v after %v, want refused at once", err, time.Since(start))
			}
			start = time.Now()
			if err := roundTrip(reset, 2*time.Second); !isRefused(err) || time.Since(start) > 200*time.Millisecond {
				t.Errorf("established connection under reject: %v after %v, want reset at once", err, time.Since(start))
			}

			// Port 0: every port of the destination.
			if err := a.AddChain(ctx, chain, []Rule{{Dst: tc.dst, Action: Reject}}); err != nil {
				t.Fatal(err)
			}
			if _, err := dialIn(t, a.NS, other, 2*time.Second); !isRefused(err) {
				t.Errorf("dial to another port under an any-port reject: %v, want refused", err)
			}

			// Remove: traffic flows again; removing again is fine; nothing left.
			if err := a.RemoveChain(ctx, chain); err != nil {
				t.Fatal(err)
			}
			for _, addr := range []string{target, other} {
				c, err := dialIn(t, a.NS, addr, 2*time.Second)
				if err == nil {
					err = roundTrip(c, 2*time.Second)
				}
				if err != nil {
					t.Errorf("%s after RemoveChain: %v", addr, err)
				}
			}
			if err := a.RemoveChain(ctx, chain); err != nil {
				t.Errorf("second RemoveChain: %v", err)
			}
			if rules := iptablesS(t, a); strings.Contains(rules, "GD-") {
				t.Errorf("iptables -S after RemoveChain:\n%s", rules)
			}
			if chains, err := a.Chains(ctx); err != nil || slices.Contains(chains, chain) {
				t.Errorf("Chains() = %v, %v after RemoveChain", chains, err)
			}
		})
	}
}

// firstOutput is the first rule of OUTPUT in `iptables -S` output.
func firstOutput(rules string) string {
	for _, l := range strings.Split(rules, "\n") {
		if strings.HasPrefix(l, "-A OUTPUT ") {
			return l
		}
	}
	return ""
}

func TestRemoveChainIsIdempotentAndGoneNamespacesAreFine(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	n := newNS(t)
	if err := n.RemoveChain(ctx, "GD-never-added"); err != nil {
		t.Errorf("RemoveChain of a missing chain: %v", err)
	}
	// A process that has ended: its /proc namespace link is gone.
	cmd := exec.Command("ip", "netns", "exec", n.name, "true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	gone := FromPID(cmd.Process.Pid)
	if err := gone.RemoveChain(ctx, "GD-x"); err != nil {
		t.Errorf("RemoveChain in an ended process's namespace: %v", err)
	}
	if err := (NS{Path: "/run/netns/gd-test-does-not-exist"}).RemoveChain(ctx, "GD-x"); err != nil {
		t.Errorf("RemoveChain in a missing namespace: %v", err)
	}
	if err := gone.AddChain(ctx, "GD-x", nil); err == nil {
		t.Error("AddChain in a missing namespace: no error")
	}
}

func TestAddChainRefusesTheHostNamespace(t *testing.T) {
	requireRoot(t)
	err := FromPID(os.Getpid()).AddChain(context.Background(), "GD-host", []Rule{{Dst: netip.MustParseAddr("127.0.0.1"), Action: Drop}})
	if !errors.Is(err, ErrHostNamespace) {
		t.Fatalf("AddChain in the harness's namespace: %v, want ErrHostNamespace", err)
	}
}

func TestAddChainValidates(t *testing.T) {
	n := NS{Path: "/run/netns/gd-test-unused"} // never reached: validation comes first
	ok := netip.MustParseAddr("10.0.0.1")
	for _, tc := range []struct {
		chain string
		rules []Rule
	}{
		{"", nil},
		{"GD-" + strings.Repeat("x", 26), nil},
		{"OUTPUT", nil},
		{"GD x", nil},
		{"GD-a", []Rule{{Port: 80, Action: Drop}}},
		{"GD-a", []Rule{{Dst: netip.MustParseAddr("::1"), Action: Drop}}},
		{"GD-a", []Rule{{Dst: ok, Port: 70000, Action: Drop}}},
		{"GD-a", []Rule{{Dst: ok, Action: "accept"}}},
	} {
		if err := n.AddChain(context.Background(), tc.chain, tc.rules); err == nil || errors.Is(err, os.ErrNotExist) {
			t.Errorf("AddChain(%q, %v) = %v, want a validation error", tc.chain, tc.rules, err)
		}
	}
}
