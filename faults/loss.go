package faults

import "github.com/gameday/gameday/faults/proxy"

func init() {
	register(TypeInfo{
		Name:    "loss",
		Summary: "Lose traffic on the call edges into a service: drop connections, or blackhole chunks, with a probability.",
		Class:   ClassLink,
		Params: []Param{
			{Name: "probability", Kind: KindPercent, Default: "10%", Help: "chance that a connection (drop-connection) or a chunk (blackhole) is lost"},
			{Name: "mode", Kind: KindEnum, Enum: []string{"drop-connection", "blackhole"}, Default: "drop-connection", Help: "drop-connection closes connections; blackhole swallows chunks silently"},
		},
	}, func(spec Spec, rt Runtime) (Fault, error) {
		lr, err := linkRuntime(rt)
		if err != nil {
			return nil, err
		}
		p := params(spec.Params)
		mode, err := proxy.ParseLossMode(p["mode"])
		if err != nil {
			return nil, err
		}
		return &linkFault{name: spec.Name, resolve: inbound(lr, spec.Target),
			toxic: proxy.Loss{Probability: p.percent("probability"), Mode: mode}}, nil
	})
}
