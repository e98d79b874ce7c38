package runner

import (
	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/sut"
	"github.com/gameday/gameday/sut/policy"
)

// ShopSpec is the shop of the variant as every runtime deploys it: its
// services with the variant's replica counts, which of them keep durable
// data, its call edges and its gateway. The caller fills in the run's part
// (directory, policy file, journal, settings).
func ShopSpec(v *policy.Variant) platform.Spec {
	s := platform.Spec{Gateway: sut.Gateway, Variant: v.Name}
	for _, name := range sut.Services() {
		s.Services = append(s.Services, platform.Service{Name: name, Replicas: max(1, v.Replicas(name)), Stateful: sut.Stateful(name)})
	}
	for _, e := range sut.Edges() {
		s.Edges = append(s.Edges, faults.Edge{From: e.From, To: e.To})
	}
	return s
}
