package dockertest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestRepoRootPassesOverNestedModules(t *testing.T) {
	root := RepoRoot(t)
	if data, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || modulePath(data) != Module {
		t.Fatalf("RepoRoot = %s: go.mod module %q, %v", root, modulePath(data), err)
	}
	nested := filepath.Join(root, "deploy", "docker", "prometheus")
	data, err := os.ReadFile(filepath.Join(nested, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if modulePath(data) == Module || modulePath(data) == "" {
		t.Fatalf("nested module path %q", modulePath(data))
	}
	got, err := findModuleRoot(nested, Module)
	if err != nil || got != root {
		t.Fatalf("findModuleRoot(%s) = %q, %v; want %s", nested, got, err, root)
	}
	if _, err := findModuleRoot(t.TempDir(), Module); err == nil {
		t.Fatal("findModuleRoot outside the repository found a root")
	}
}

func TestModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"// c\nmodule github.com/a/b\n\ngo 1.26\n": "github.com/a/b",
		"module \"github.com/a/b\" // x\n":         "github.com/a/b",
		"module\tx\n":                              "x",
		"modules x\n":                              "",
		"go 1.26\n":                                "",
	} {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// The Prometheus in the image must be the one gameday embeds and documents.
func TestPrometheusImageVersionMatchesRootModule(t *testing.T) {
	root := RepoRoot(t)
	re := regexp.MustCompile(`(?m)^\s*github\.com/prometheus/prometheus (v\S+)`)
	version := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindSubmatch(data)
		if m == nil {
			t.Fatalf("%s requires no github.com/prometheus/prometheus", path)
		}
		return string(m[1])
	}
	rootV := version(filepath.Join(root, "go.mod"))
	imageV := version(filepath.Join(root, "deploy", "docker", "prometheus", "go.mod"))
	if rootV != imageV {
		t.Fatalf("deploy/docker/prometheus/go.mod has Prometheus %s, go.mod %s: run "+
			"(cd deploy/docker/prometheus && go get -tool github.com/prometheus/prometheus/cmd/prometheus@%s)", imageV, rootV, rootV)
	}
}

func TestFreePortIsBindable(t *testing.T) {
	p := FreePort(t)
	if p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d", p)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d from FreePort: %v", p, err)
	}
	ln.Close()
}

func TestLockFileExcludesAndReleases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := lockFile(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: %v, want a deadline error", err)
	}
	unlock()
	unlock2, err := lockFile(t.Context(), path)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock2()
}
