package cli

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/gameday/gameday/internal/lib/errext"
	"github.com/gameday/gameday/platform"
)

// platformFlags are the user's choices of how a runtime runs the shop,
// shared by every command that deploys it (run, compare, sut up); each
// runtime takes those that apply to it (platform.Settings).
type platformFlags struct {
	image       string
	kubeconfig  string
	kubeContext string
}

func (p *platformFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&p.image, "image", "", "the shop's image, on runtimes that run one ("+imageDefaults()+")")
	fl.StringVar(&p.kubeconfig, "kubeconfig", "", "on a cluster: the kubeconfig file (default $KUBECONFIG, then ~/.kube/config, as kubectl)")
	fl.StringVar(&p.kubeContext, "context", "", "on a cluster: the kubeconfig context (default its current context)")
}

// check refuses a flag that the chosen runtime would ignore.
func (p *platformFlags) check(runtime string) error {
	if runtime == "" {
		runtime = platform.Default
	}
	rt, ok := platform.Lookup(runtime)
	if !ok {
		return nil // the runtime's own check names what is allowed
	}
	if _, runsImage := rt.(platform.ImageRuntime); p.image != "" && !runsImage {
		return errext.Errorf(errext.Invalid, "--image is for runtimes that run an image (%s); the %s runtime runs this binary", imageDefaults(), runtime)
	}
	if _, onCluster := rt.(platform.ClusterRuntime); (p.kubeconfig != "" || p.kubeContext != "") && !onCluster {
		flag := "--kubeconfig"
		if p.kubeconfig == "" {
			flag = "--context"
		}
		return errext.Errorf(errext.Invalid, "%s is for runtimes on a cluster (%s); this run's runtime is %s", flag, strings.Join(clusterRuntimes(), ", "), runtime)
	}
	return nil
}

// clusterRuntimes lists the runtimes that take a kubeconfig.
func clusterRuntimes() []string {
	var out []string
	for _, n := range platform.Names() {
		if rt, _ := platform.Lookup(n); rt != nil {
			if _, ok := rt.(platform.ClusterRuntime); ok {
				out = append(out, n)
			}
		}
	}
	return out
}

// apply fills the user's choices into the settings; $KUBECONFIG comes
// from the command's environment (so in-process tests can set it).
func (p *platformFlags) apply(gs *GlobalState, s *platform.Settings) {
	s.Image = p.image
	s.Kubeconfig, s.KubeContext = p.kubeconfig, p.kubeContext
	if s.Kubeconfig == "" {
		s.Kubeconfig = gs.Env["KUBECONFIG"]
	}
}
