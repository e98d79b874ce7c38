package faults

import "github.com/gameday/gameday/faults/proxy"

func init() {
	register(TypeInfo{
		Name:    "reset",
		Summary: "Reset connections on the call edges into a service (TCP RST to the caller) with a probability.",
		Class:   ClassLink,
		Params: []Param{
			{Name: "probability", Kind: KindPercent, Default: "100%", Help: "chance that a connection is reset"},
		},
	}, func(spec Spec, rt Runtime) (Fault, error) {
		lr, err := linkRuntime(rt)
		if err != nil {
			return nil, err
		}
		p := params(spec.Params)
		return &linkFault{name: spec.Name, resolve: inbound(lr, spec.Target),
			toxic: proxy.Reset{Probability: p.percent("probability")}}, nil
	})
}
