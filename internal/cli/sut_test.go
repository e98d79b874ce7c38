package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/lib/procfs"
	"github.com/gameday/gameday/journal"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/sut/client"
)

// buildGameday builds the gameday binary: `sut up` re-executes it for every
// shop instance.
func buildGameday(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gameday")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gameday/gameday/cmd/gameday").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lineBuffer is a concurrency-safe writer that can wait for a substring.
type lineBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	more chan struct{}
}

func newLineBuffer() *lineBuffer { return &lineBuffer{more: make(chan struct{}, 1)} }

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(p)
	select {
	case l.more <- struct{}{}:
	default:
	}
	return n, err
}

func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *lineBuffer) waitFor(t *testing.T, sub string, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for !strings.Contains(l.String(), sub) {
		select {
		case <-l.more:
		case <-deadline.C:
			t.Fatalf("no %q within %v in:\n%s", sub, d, l.String())
		}
	}
}

// field returns the value after "key " on the first line starting with it.
func field(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, key+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// processesWithEnv lists processes whose environment has key=value.
func processesWithEnv(key, value string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if v, ok, _ := procfs.Env(pid, key); ok && v == value {
			if s, err := procfs.State(pid); err == nil && s != 'Z' {
				out = append(out, pid)
			}
		}
	}
	return out
}

type sutState struct {
	gs      *GlobalState
	out     *lineBuffer
	errOut  *lineBuffer
	signals chan chan<- os.Signal
	state   string
}

func newSUTState(t *testing.T, bin string) *sutState {
	t.Helper()
	dir := t.TempDir()
	s := &sutState{out: newLineBuffer(), errOut: newLineBuffer(), signals: make(chan chan<- os.Signal, 1), state: filepath.Join(dir, "state")}
	s.gs = &GlobalState{
		Ctx:    context.Background(),
		Stdin:  strings.NewReader(""),
		Stdout: s.out, Stderr: s.errOut,
		Env:   map[string]string{"GAMEDAY_STATE_DIR": s.state},
		Getwd: func() (string, error) { return dir, nil },
		Now:   time.Now,
		Exe:   func() (string, error) { return bin, nil },
		Signal: SignalFuncs{
			Notify: func(c chan<- os.Signal, _ ...os.Signal) { s.signals <- c },
			Stop:   func(chan<- os.Signal) {},
		},
	}
	return s
}

func TestSUTUpServesUntilInterruptedAndRevertsItsFault(t *testing.T) {
	bin := buildGameday(t)
	s := newSUTState(t, bin)
	done := make(chan int, 1)
	runDir := filepath.Join(t.TempDir(), "run")
	go func() {
		done <- Execute(s.gs, []string{"sut", "up", "--variant", "naive", "--replicas", "payment=2", "--fault", "pause:payment:", "--run-dir", runDir})
	}()
	sig := <-s.signals
	s.out.waitFor(t, "injected", 60*time.Second)
	out := s.out.String()
	gw, runID := field(out, "gateway"), field(out, "run-id")
	if gw == "" || runID == "" || strings.Count(out, "metrics ") != 7 {
		t.Fatalf("sut up printed:\n%s", out)
	}
	if !strings.HasPrefix(out, "run-dir  "+runDir+"\n") {
		t.Errorf("stdout does not start with the run directory %s:\n%s", runDir, out)
	}
	// The admin token is in a file of the owner's only, never printed.
	tokenFile := field(out, "admin")
	if tokenFile != filepath.Join(runDir, "admin-token") {
		t.Fatalf("admin line names %q, want %s", tokenFile, filepath.Join(runDir, "admin-token"))
	}
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", tokenFile, fi.Mode().Perm())
	}
	data, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(data))
	if len(token) < 16 || strings.Contains(out, token) || strings.Contains(s.errOut.String(), token) {
		t.Fatalf("token %q: too short, or printed:\n%s\n%s", token, out, s.errOut)
	}
	// It is the token of the shop's admin API (an instance's control URL).
	base := strings.TrimSuffix(strings.Fields(field(out, "metrics"))[2], "/metrics")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.ListFaults(ctx, base, token); err != nil {
		t.Errorf("the admin API refuses the token of %s: %v", tokenFile, err)
	}
	if _, err := client.ListFaults(ctx, base, token+"x"); err == nil {
		t.Errorf("the admin API accepts a wrong token")
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(gw + "/api/products")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/products through the gateway: %d", resp.StatusCode)
	}
	pids := processesWithEnv(platform.RunIDEnv, runID)
	stopped := 0
	for _, pid := range pids {
		if st, _ := procfs.State(pid); st == 'T' {
			stopped++
		}
	}
	if len(pids) != 7 || stopped != 1 {
		t.Fatalf("%d processes of the run, %d stopped; want 7 and 1 (pause picks one payment instance)", len(pids), stopped)
	}
	sig <- os.Interrupt
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after Ctrl-C: %s", code, s.errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sut up did not stop after Ctrl-C")
	}
	if left := processesWithEnv(platform.RunIDEnv, runID); len(left) != 0 {
		t.Fatalf("processes left: %v", left)
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("%s is still there after exit: %v", tokenFile, err)
	}
	if !strings.Contains(s.errOut.String(), "reverted pause-0") {
		t.Errorf("stderr does not report the revert:\n%s", s.errOut)
	}
	j, _ := journal.Open(s.state)
	in, _ := j.Intents()
	kids, _ := j.Resources()
	runs, _ := j.Runs()
	if len(in)+len(kids)+len(runs) != 0 {
		t.Errorf("journal not empty: %v %v %v", in, kids, runs)
	}
}

// Without --run-dir, sut up says where under the working directory it
// writes before it writes anything else (here the shop cannot even start).
func TestSUTUpPrintsItsRunDirectoryFirst(t *testing.T) {
	s := newSUTState(t, "/nonexistent/gameday")
	wd, _ := s.gs.Getwd()
	s.gs.Now = func() time.Time { return time.Date(2026, 12, 3, 17, 0, 12, 0, time.UTC) }
	if code := Execute(s.gs, []string{"sut", "up", "--variant", "naive"}); code != 3 {
		t.Fatalf("exit %d with a binary that does not exist, want 3; stderr %s", code, s.errOut)
	}
	want := filepath.Join(wd, "runs", "sut-up-20261203-170012")
	if got := s.out.String(); got != "run-dir  "+want+"\n" {
		t.Errorf("stdout %q, want the run directory %s alone", got, want)
	}
	if _, err := os.Stat(filepath.Join(want, "policy.yaml")); err != nil {
		t.Errorf("the printed run directory has no policy.yaml: %v", err)
	}
	if !strings.Contains(s.errOut.String(), want) {
		t.Errorf("stderr does not name the run directory:\n%s", s.errOut)
	}
}

func TestSUTUpUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"sut", "up", "--variant", "nope"},
		{"sut", "up", "--replicas", "payment"},
		{"sut", "up", "--replicas", "bank=2"},
		{"sut", "up", "--fault", "explode:payment"},
		{"sut", "up", "--fault", "latency:payment"},
		{"sut", "up", "--fault", "latency"},
	} {
		s := newSUTState(t, "/nonexistent")
		if code := Execute(s.gs, args); code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr %s", args, code, s.errOut)
		}
		if s.errOut.String() == "" {
			t.Errorf("%v: no error message", args)
		}
	}
}
