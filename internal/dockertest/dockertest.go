// Package dockertest holds what the tests that need the Docker engine share
// (they are behind the `docker` build tag): building gameday's offline images
// once per test process, finding the repository, picking free ports.
//
// Without a reachable engine those tests skip, unless $GAMEDAY_REQUIRE_DOCKER
// is 1 (CI sets it), in which case they fail: a CI machine that lost its
// engine must not pass by skipping.
package dockertest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Module is the module path RepoRoot looks for.
const Module = "github.com/gameday/gameday"

// RequireEnv is the environment variable that turns "no Docker engine" from a
// skip into a failure.
const RequireEnv = "GAMEDAY_REQUIRE_DOCKER"

// ImageNames are the images deploy/docker/build-images.sh builds, as its
// arguments; each is tagged gameday/NAME:dev.
var ImageNames = []string{"sut", "prometheus"}

// buildTimeout bounds one run of the build script: a cold Prometheus build
// takes about 3 minutes on the 2-core CI machine.
const buildTimeout = 15 * time.Minute

// built remembers, for this test process, the outcome of building each image,
// so that every test may call Images and only the first one builds. It is the
// package's only state, a per-process cache by design (like sync.Once).
var built = struct {
	mu   sync.Mutex
	errs map[string]error // image name -> nil once built, or why it failed
}{errs: map[string]error{}}

// RequireEngine skips t when the Docker engine cannot be reached through the
// docker CLI (or fails it when $GAMEDAY_REQUIRE_DOCKER=1), saying why.
func RequireEngine(t testing.TB) {
	t.Helper()
	if err := engineReachable(); err != nil {
		unavailable(t, err)
	}
}

// RequireCompose is RequireEngine plus the docker-compose (v1) command.
func RequireCompose(t testing.TB) {
	t.Helper()
	RequireEngine(t)
	if _, err := exec.LookPath("docker-compose"); err != nil {
		unavailable(t, fmt.Errorf("docker-compose: %w", err))
	}
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	SkipOrFail(t, RequireEnv, "Docker", err)
}

// SkipOrFail skips t because what the test needs (what) cannot be had
// here, err saying why, or fails it when the environment variable env is 1
// (CI sets it): a machine that lost its engine or cluster must not pass by
// skipping.
func SkipOrFail(t testing.TB, env, what string, err error) {
	t.Helper()
	if os.Getenv(env) == "1" {
		t.Fatalf("%s is required ($%s=1) but unavailable: %v", what, env, err)
	}
	t.Skipf("%s unavailable (set $%s=1 to fail instead): %v", what, env, err)
}

func engineReachable() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return fmt.Errorf("docker CLI: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker engine unreachable: %w: %s", err, lastLine(out))
	}
	return nil
}

// Images builds the named images (ImageNames when none are given) with
// deploy/docker/build-images.sh, at most once per image per test process, and
// serialised across test processes (go test runs packages in parallel) by a
// lock file under os.TempDir(). It skips t when the Docker engine is
// unreachable, unless $GAMEDAY_REQUIRE_DOCKER=1, and fails t when the build
// fails.
func Images(t testing.TB, names ...string) {
	t.Helper()
	if len(names) == 0 {
		names = ImageNames
	}
	for _, n := range names {
		if !slices.Contains(ImageNames, n) {
			t.Fatalf("dockertest.Images: unknown image %q (known: %s)", n, strings.Join(ImageNames, ", "))
		}
	}
	RequireEngine(t)

	built.mu.Lock()
	defer built.mu.Unlock()
	var todo []string
	for _, n := range names {
		err, done := built.errs[n]
		switch {
		case !done:
			todo = append(todo, n)
		case err != nil:
			t.Fatalf("image %s: an earlier build in this process failed: %v", n, err)
		}
	}
	if len(todo) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			ctx, cancel = context.WithDeadline(ctx, dl)
			defer cancel()
		}
	}
	start := time.Now()
	out, err := buildImages(ctx, RepoRoot(t), todo)
	for _, n := range todo {
		built.errs[n] = err
	}
	if err != nil {
		t.Fatalf("build images %s: %v\n%s", strings.Join(todo, " "), err, out)
	}
	t.Logf("images %s ready in %s:\n%s", strings.Join(todo, " "), time.Since(start).Round(100*time.Millisecond), out)
}

// buildImages runs the build script under the cross-process lock and returns
// its combined output.
func buildImages(ctx context.Context, root string, names []string) ([]byte, error) {
	unlock, err := lockFile(ctx, filepath.Join(os.TempDir(), "gameday-dockertest-images.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	args := append([]string{filepath.Join(root, "deploy", "docker", "build-images.sh")}, names...)
	cmd := exec.CommandContext(ctx, "bash", args...)
	cmd.Dir = root
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return out, fmt.Errorf("deploy/docker/build-images.sh: %w", err)
	}
	return out, nil
}

// lockFile takes an exclusive flock on path, polling until ctx is done, and
// returns the function that releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: another test process is building the images: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// RepoRoot returns the directory holding the go.mod of module
// github.com/gameday/gameday, searched from the working directory upwards
// (nested modules such as deploy/docker/prometheus are passed over).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("repo root: %v", err)
	}
	root, err := findModuleRoot(dir, Module)
	if err != nil {
		t.Fatalf("repo root: %v", err)
	}
	return root
}

func findModuleRoot(dir, module string) (string, error) {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && modulePath(data) == module {
			return d, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read %s: %w", filepath.Join(d, "go.mod"), err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of module %s in %s or above", module, dir)
		}
	}
}

// modulePath returns the path on the module line of a go.mod file, or "".
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago (the
// kernel picked it for a listener that is closed again before returning).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func lastLine(out []byte) string {
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
