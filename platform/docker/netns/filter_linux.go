//go:build linux

package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// AddChain installs the packet filter chain in n's filter table: it creates
// the chain (or replaces its rules), appends rules in order, and jumps to it
// from the first position of OUTPUT. It is one atomic iptables-restore
// transaction, and idempotent: adding the same chain again leaves one chain
// with the given rules and one jump. It runs the host's iptables inside n
// through nsenter.
func (n NS) AddChain(ctx context.Context, chain string, rules []Rule) error {
	if err := validChain(chain); err != nil {
		return fmt.Errorf("netns %s: add chain: %w", n.Path, err)
	}
	for _, r := range rules {
		if err := r.validate(); err != nil {
			return fmt.Errorf("netns %s: add chain %s: %w", n.Path, chain, err)
		}
	}
	if own, err := same(n.Path, "/proc/self/ns/net"); err != nil {
		return fmt.Errorf("netns %s: add chain %s: %w", n.Path, chain, err)
	} else if own {
		return fmt.Errorf("netns %s: add chain %s: %w", n.Path, chain, ErrHostNamespace)
	}
	state, err := n.filterState(ctx, chain)
	if err != nil {
		return fmt.Errorf("netns %s: add chain %s: %w", n.Path, chain, err)
	}
	// Declaring an existing chain in a --noflush restore empties it.
	script := []string{"*filter", ":" + chain + " - [0:0]"}
	for _, r := range rules {
		script = append(script, r.lines(chain)...)
	}
	for range state.jumps {
		script = append(script, "-D OUTPUT -j "+chain)
	}
	script = append(script, "-I OUTPUT 1 -j "+chain, "COMMIT")
	if err := n.restore(ctx, script); err != nil {
		return fmt.Errorf("netns %s: add chain %s: %w", n.Path, chain, err)
	}
	return nil
}

// RemoveChain removes the jumps from OUTPUT to chain and the chain, in one
// transaction. It is idempotent: a missing chain, or a namespace that is gone,
// is not an error.
func (n NS) RemoveChain(ctx context.Context, chain string) error {
	if err := validChain(chain); err != nil {
		return fmt.Errorf("netns %s: remove chain: %w", n.Path, err)
	}
	err := n.removeChain(ctx, chain)
	if err != nil && n.gone() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("netns %s: remove chain %s: %w", n.Path, chain, err)
	}
	return nil
}

func (n NS) removeChain(ctx context.Context, chain string) error {
	if n.gone() {
		return nil
	}
	state, err := n.filterState(ctx, chain)
	if err != nil {
		return err
	}
	if !state.exists {
		return nil
	}
	script := []string{"*filter"}
	for range state.jumps {
		script = append(script, "-D OUTPUT -j "+chain)
	}
	script = append(script, "-F "+chain, "-X "+chain, "COMMIT")
	if err := n.restore(ctx, script); err != nil {
		// Removed meanwhile by another caller: that is what we wanted.
		if again, serr := n.filterState(ctx, chain); serr == nil && !again.exists {
			return nil
		}
		return err
	}
	return nil
}

// gone reports whether the namespace's file no longer exists (its process
// ended, or the bind mount was removed).
func (n NS) gone() bool {
	_, err := os.Stat(n.Path)
	return errors.Is(err, os.ErrNotExist)
}

// filterState is what the filter table holds of one chain.
type filterState struct {
	exists bool
	jumps  int // plain "-A OUTPUT -j CHAIN" rules
}

func (n NS) filterState(ctx context.Context, chain string) (filterState, error) {
	out, err := n.iptables(ctx, nil, "iptables", "-w", "-t", "filter", "-S")
	if err != nil {
		return filterState{}, err
	}
	var s filterState
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "-N" && f[1] == chain:
			s.exists = true
		case len(f) == 4 && f[0] == "-A" && f[1] == "OUTPUT" && f[2] == "-j" && f[3] == chain:
			s.jumps++
		}
	}
	return s, nil
}

// Chains lists the user-defined chains of n's filter table.
func (n NS) Chains(ctx context.Context) ([]string, error) {
	out, err := n.iptables(ctx, nil, "iptables", "-w", "-t", "filter", "-S")
	if err != nil {
		return nil, fmt.Errorf("netns %s: list chains: %w", n.Path, err)
	}
	var chains []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "-N" {
			chains = append(chains, f[1])
		}
	}
	return chains, nil
}

func (n NS) restore(ctx context.Context, script []string) error {
	_, err := n.iptables(ctx, []byte(strings.Join(script, "\n")+"\n"), "iptables-restore", "-w", "--noflush")
	return err
}

// iptables runs the host's iptables tool inside n: nsenter switches only the
// network namespace, so the binary, its libraries and its lock are the host's.
func (n NS) iptables(ctx context.Context, stdin []byte, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + n.Path, "--", tool}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, msg)
		}
		return nil, fmt.Errorf("%s %s: %w", tool, strings.Join(args, " "), err)
	}
	return out, nil
}
