package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	checkout := func(version string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/gameday/gameday", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	cases := []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		want    string
	}{
		{"clean checkout", "", checkout("v0.0.0-20261203170012-0123456789ab", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-03T17:00:12Z", "vcs.modified", "false"),
			"v0.0.0-20261203170012-0123456789ab (rev 0123456789ab, 2026-12-03T17:00Z)"},
		{"dirty checkout", "", checkout("v0.0.0-20261203170012-0123456789ab+dirty", "vcs.revision", rev, "vcs.time", "2026-12-03T17:00:12Z", "vcs.modified", "true"),
			"v0.0.0-20261203170012-0123456789ab+dirty (rev 0123456789ab, dirty, 2026-12-03T17:00Z)"},
		{"time in another zone", "", checkout("v1.0.0", "vcs.revision", rev, "vcs.time", "2026-12-03T18:00:00+01:00"),
			"v1.0.0 (rev 0123456789ab, 2026-12-03T17:00Z)"},
		{"ldflags win", "v1.2.3", checkout("v0.0.0-20261203170012-0123456789ab+dirty", "vcs.revision", rev, "vcs.time", "2026-12-03T17:00:12Z", "vcs.modified", "true"),
			"v1.2.3 (rev 0123456789ab, dirty, 2026-12-03T17:00Z)"},
		{"no VCS information (go run, -buildvcs=false)", "", checkout("(devel)"), "(devel)"},
		{"a module dependency (go install …@v1.4.0)", "", checkout("v1.4.0"), "v1.4.0"},
		{"no build info", "", nil, "(devel)"},
		{"no build info, ldflags", "v1.2.3", nil, "v1.2.3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := formatVersion(c.ldflags, c.bi); got != c.want {
				t.Errorf("formatVersion(%q, …) = %q, want %q", c.ldflags, got, c.want)
			}
		})
	}
}

// The run record gets the same version string as `gameday version`.
func TestRunnerOptionsCarryTheBuildVersion(t *testing.T) {
	gs := &GlobalState{
		Ctx: context.Background(), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
		Env: map[string]string{"GAMEDAY_STATE_DIR": t.TempDir()},
		Exe: os.Executable,
	}
	o, err := runnerBase(gs, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := buildVersion(); o.Version != want || want == "" {
		t.Fatalf("runner.Options.Version = %q, want %q", o.Version, want)
	}
}

// TestVersionOfABuiltBinary builds gameday from a git checkout of its own
// (the tracked and new files of this tree, committed at a fixed time; Go
// stamps no VCS information in a git worktree, whose .git is a file) and
// checks what `gameday version` prints: clean, then dirty with an
// ldflags-set version.
func TestVersionOfABuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gameday twice")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command(git, "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	repo := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(repo, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(env []string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	const when = "2026-12-03T17:00:12Z"
	gitEnv := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_AUTHOR_DATE=" + when, "GIT_COMMITTER_DATE=" + when, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"}
	run(gitEnv, git, "init", "-q")
	run(gitEnv, git, "add", "-A")
	run(gitEnv, git, "commit", "-q", "-m", "snapshot")
	rev := run(gitEnv, git, "rev-parse", "HEAD")
	bin := filepath.Join(t.TempDir(), "gameday")
	tail := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH

	// -buildvcs=true: this machine's go env may turn stamping off.
	run(nil, "go", "build", "-buildvcs=true", "-o", bin, "./cmd/gameday")
	want := "gameday v0.0.0-20261203170012-" + rev[:12] + " (rev " + rev[:12] + ", 2026-12-03T17:00Z)" + tail
	if got := run(nil, bin, "version"); got != want {
		t.Errorf("clean checkout:\n got %q\nwant %q", got, want)
	}

	if err := os.WriteFile(filepath.Join(repo, "scratch.txt"), []byte("uncommitted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(nil, "go", "build", "-buildvcs=true", "-ldflags", "-X github.com/gameday/gameday/internal/cli.Version=v1.2.3", "-o", bin, "./cmd/gameday")
	want = "gameday v1.2.3 (rev " + rev[:12] + ", dirty, 2026-12-03T17:00Z)" + tail
	if got := run(nil, bin, "version"); got != want {
		t.Errorf("dirty checkout, ldflags version:\n got %q\nwant %q", got, want)
	}
}
