package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/gameday/gameday/internal/lib/procfs"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// process is one run of an instance's child process.
type process struct {
	cmd     *exec.Cmd
	ref     procRef
	id      string // the instance's id
	resID   string // its journal record, "" if none
	addr    string
	started time.Time
	done    chan struct{} // closed once the child is reaped
	err     error         // exit status, valid after done
}

// spawn starts one child, reads back its `listening ADDR` line and waits for
// /readyz. On any error the child is ended before spawn returns.
func (d *Deployment) spawn(ctx context.Context, in *instance) (*process, error) {
	logf, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", in.ID, err)
	}
	defer logf.Close() // the child holds its own copy
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", in.ID, err)
	}
	argv := append(append([]string{}, d.cfg.Command...), in.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = childEnv(os.Environ(), d.cfg.Env)
	cmd.Env = append(cmd.Env, platform.RunIDEnv+"="+d.cfg.RunID, "GAMEDAY_ADMIN_TOKEN="+d.cfg.AdminToken, "GAMEDAY_INSTANCE="+in.ID)
	cmd.Stdout = pw
	cmd.Stderr = logf
	cmd.Dir = d.cfg.RunDir
	// Own process group (a terminal's Ctrl-C reaches the harness only, which
	// then stops the children in order) and SIGKILL when the harness dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(logf, "--- %s start: %s\n", time.Now().UTC().Format(time.RFC3339Nano), strings.Join(argv, " "))
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", in.ID, err)
	}
	pw.Close()
	p := &process{cmd: cmd, id: in.ID, started: time.Now(), done: make(chan struct{})}
	st, stErr := procfs.StartTime(cmd.Process.Pid)
	p.ref = procRef{PID: cmd.Process.Pid, StartTime: st, RunID: d.cfg.RunID}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if stErr == nil && d.cfg.Journal != nil {
		res := processResource(p.ref, in.ID)
		if stErr = d.cfg.Journal.WriteResource(res); stErr == nil {
			p.resID = res.ID
		}
	}
	addrCh := make(chan string, 1)
	go copyStdout(pr, logf.Name(), addrCh)
	fail := func(err error) (*process, error) {
		d.endProcess(p, 0)
		return nil, fmt.Errorf("start %s: %w", in.ID, err)
	}
	if stErr != nil {
		return fail(stErr)
	}
	timeout := time.NewTimer(d.cfg.ReadyTimeout)
	defer timeout.Stop()
	select {
	case p.addr = <-addrCh:
	case <-p.done:
		return fail(fmt.Errorf("exited before listening (%v); see %s", p.err, in.logPath))
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-timeout.C:
		return fail(fmt.Errorf("no `listening` line within %v; see %s", d.cfg.ReadyTimeout, in.logPath))
	}
	if err := d.waitReady(ctx, p, timeout.C); err != nil {
		return fail(fmt.Errorf("%w; see %s", err, in.logPath))
	}
	return p, nil
}

// childMaxProcs is the GOMAXPROCS each shop child gets unless the harness's
// environment or Config.Env sets GOMAXPROCS.
//
// Every instance shares the host's cores with the other instances, the
// harness (proxies, load generator) and Prometheus, like a process in a
// one-CPU container. With a processor per core each, the Go runtimes wake
// threads to run a goroutine on an idle processor and hand processors back
// and forth (futex wake-ups, context switches) far more often than the
// shop's load needs; on a virtual machine a context switch costs more than
// most requests do. docs/runtimes.md has the figures.
const childMaxProcs = "1"

// childEnv is a child's environment: the harness's (environ), then extra
// (Config.Env), then GOMAXPROCS=childMaxProcs when neither sets GOMAXPROCS.
func childEnv(environ, extra []string) []string {
	env := append(append(make([]string, 0, len(environ)+len(extra)+1), environ...), extra...)
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOMAXPROCS=") {
			return env
		}
	}
	return append(env, "GOMAXPROCS="+childMaxProcs)
}

// copyStdout copies the child's stdout to its log and hands over the address
// of the first `listening ADDR` line. It ends when the child's stdout closes.
func copyStdout(pr *os.File, logPath string, addr chan<- string) {
	defer pr.Close()
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		defer logf.Close()
	}
	sc := bufio.NewScanner(pr)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if !sent {
			if a, ok := strings.CutPrefix(strings.TrimSpace(line), "listening "); ok {
				addr <- strings.TrimSpace(a)
				sent = true
			}
		}
		if logf != nil {
			fmt.Fprintln(logf, line)
		}
	}
}

// waitReady waits for the child's /readyz (see fleet.WaitReady).
func (d *Deployment) waitReady(ctx context.Context, p *process, timeout <-chan time.Time) error {
	err := fleet.WaitReady(ctx, d.client, p.addr, 10*time.Millisecond, p.done, timeout)
	if errors.Is(err, fleet.ErrExited) {
		return fmt.Errorf("%w (%v)", err, p.err)
	}
	return err
}

// signal sends sig to the child's process group after checking that the
// leader is still the process this deployment started.
func (p *process) signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return ErrNotOwned
	default:
	}
	if err := p.ref.signal(sig, true); err != nil {
		return fmt.Errorf("%s: %w", p.id, err)
	}
	return nil
}

// forget clears the child's journal record once it is reaped.
func (d *Deployment) forget(p *process) {
	if d.cfg.Journal != nil && p.resID != "" {
		_ = d.cfg.Journal.ClearResource(p.resID)
	}
}

// endProcess stops a child: SIGCONT and SIGTERM, then SIGKILL after grace
// (at once if grace is 0); it returns once the child is reaped.
func (d *Deployment) endProcess(p *process, grace time.Duration) {
	if grace > 0 {
		_ = p.signal(syscall.SIGCONT)
		_ = p.signal(syscall.SIGTERM)
		t := time.NewTimer(grace)
		select {
		case <-p.done:
		case <-t.C:
		}
		t.Stop()
	}
	_ = p.signal(syscall.SIGCONT)
	_ = p.signal(syscall.SIGKILL)
	<-p.done
	d.forget(p)
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
