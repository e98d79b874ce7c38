// Package netns runs code, opens sockets and sets packet filters inside a
// Linux network namespace (a container's), so that the Docker runtime can put
// a call edge's fault proxy inside the caller's namespace: the proxy listens
// on the caller's 127.0.0.1 and dials the callee from there, across the
// Docker network.
//
// Switching namespaces uses setns(2) from golang.org/x/sys/unix on a locked
// OS thread of a goroutine of its own; packet filters run the host's
// iptables inside the namespace through nsenter(1), so no image needs
// iptables. Everything here needs CAP_SYS_ADMIN (and CAP_NET_ADMIN for the
// filters): in practice, root.
package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
)

// NS is a network namespace, named by a file that refers to it:
// /proc/PID/ns/net of a process inside it (see FromPID), a bind mount such as
// /run/netns/NAME, or Docker's sandbox key (/var/run/docker/netns/ID, from
// `docker inspect -f '{{.NetworkSettings.SandboxKey}}'`). The file is opened
// anew for each call: a /proc path follows its PID, so once that process is
// gone the NS names nothing (or, after PID reuse, another process's
// namespace); a sandbox key does not have that problem.
type NS struct {
	Path string
}

// FromPID is the network namespace of process pid.
func FromPID(pid int) NS { return NS{Path: "/proc/" + strconv.Itoa(pid) + "/ns/net"} }

// String is the namespace's path.
func (n NS) String() string { return n.Path }

// literal checks that addr is HOST:PORT with an IP address as HOST (or an
// empty HOST when empty is true).
func literal(addr string, empty bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" && empty {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("address %q: the host must be an IP address", addr)
	}
	return nil
}

// Action is what a Rule does to the packets it matches.
type Action string

// Actions.
const (
	// Drop blackholes: packets vanish, connects and established connections
	// stall until the caller's timeout.
	Drop Action = "drop"
	// Reject refuses: TCP packets are answered with a reset (REJECT
	// --reject-with tcp-reset), so connects fail and established connections
	// are reset at their next segment. With Port 0, other protocols get an
	// ICMP port unreachable (and TCP resets pass).
	Reject Action = "reject"
)

// Rule matches the packets a namespace sends to Dst (the OUTPUT direction,
// so it also hits established connections).
type Rule struct {
	Dst    netip.Addr // destination address (IPv4)
	Port   int        // destination TCP port, 0 = any port (and, for Drop, any protocol)
	Action Action
}

func (r Rule) validate() error {
	dst := r.Dst.Unmap()
	switch {
	case !dst.IsValid():
		return errors.New("rule: no destination address")
	case !dst.Is4():
		return fmt.Errorf("rule: destination %s: only IPv4 is supported", r.Dst)
	case r.Port < 0 || r.Port > 65535:
		return fmt.Errorf("rule: port %d out of range", r.Port)
	case r.Action != Drop && r.Action != Reject:
		return fmt.Errorf("rule: action %q (want %q or %q)", r.Action, Drop, Reject)
	}
	return nil
}

// lines are the rule's iptables-restore lines in chain.
func (r Rule) lines(chain string) []string {
	match := "-A " + chain + " -d " + r.Dst.Unmap().String() + "/32"
	tcp := match + " -p tcp"
	if r.Port != 0 {
		tcp += " --dport " + strconv.Itoa(r.Port)
	}
	switch {
	case r.Action == Drop && r.Port == 0:
		return []string{match + " -j DROP"}
	case r.Action == Drop:
		return []string{tcp + " -j DROP"}
	case r.Port == 0:
		// The resets REJECT sends to a destination inside the namespace
		// (127.0.0.1) pass OUTPUT too: they must not be rejected in turn.
		return []string{tcp + " ! --tcp-flags RST RST -j REJECT --reject-with tcp-reset", match + " ! -p tcp -j REJECT"}
	default:
		return []string{tcp + " -j REJECT --reject-with tcp-reset"}
	}
}

// MaxChainLen is the longest chain name AddChain accepts (iptables allows 28
// characters).
const MaxChainLen = 28

var chainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func validChain(chain string) error {
	if len(chain) == 0 || len(chain) > MaxChainLen || !chainName.MatchString(chain) {
		return fmt.Errorf("chain name %q: want 1 to %d letters, digits, '-', '_' or '.'", chain, MaxChainLen)
	}
	switch chain {
	case "INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING", "ACCEPT", "DROP", "REJECT", "RETURN":
		return fmt.Errorf("chain name %q is reserved", chain)
	}
	return nil
}

// ErrHostNamespace is returned by AddChain for the harness's own network
// namespace: gameday filters only namespaces it created.
var ErrHostNamespace = errors.New("refusing to filter the harness's own network namespace")
