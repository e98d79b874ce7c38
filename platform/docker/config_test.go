package docker

import (
	"errors"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/internal/fleet"
)

func TestCheckOwnedRefusesWhatLacksTheRunsLabel(t *testing.T) {
	st := func(labels map[string]string) container.InspectResponse {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: "0123456789abcdef", Name: "/c"},
			Config: &container.Config{Labels: labels}}
	}
	if err := checkOwned(st(map[string]string{LabelRun: "r1"}), "r1"); err != nil {
		t.Errorf("own container refused: %v", err)
	}
	for _, labels := range []map[string]string{nil, {LabelRun: "r2"}, {LabelService: "payment"}} {
		if err := checkOwned(st(labels), "r1"); !errors.Is(err, ErrForeign) {
			t.Errorf("labels %v: %v, want ErrForeign", labels, err)
		}
	}
	if err := checkOwned(st(map[string]string{LabelRun: ""}), ""); !errors.Is(err, ErrForeign) {
		t.Errorf("an empty run id matched: %v", err)
	}
}

func TestChainNamesFitIptables(t *testing.T) {
	d := &Deployment{cfg: Config{Spec: platform.Spec{RunID: "payment-slowdown-20260101T120000Z"}}}
	l := &edgeLink{d: d, caller: &instance{Member: fleet.Member{ID: "orders-0"}}, callee: &instance{Member: fleet.Member{ID: "payment-1"}}}
	a, b := l.chainName(1), l.chainName(2)
	if len(a) > 28 || a == b || a[:3] != "GD-" {
		t.Errorf("chain names %q %q", a, b)
	}
}
