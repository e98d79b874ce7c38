package faults

import "github.com/gameday/gameday/faults/proxy"

func init() {
	register(TypeInfo{
		Name:    "corrupt",
		Summary: "Corrupt the traffic of the call edges into a service: flip one random bit in a chunk of data, with a probability per chunk.",
		Class:   ClassLink,
		Params: []Param{
			{Name: "probability", Kind: KindPercent, Default: "10%", Help: "chance that a chunk (one read of the proxy, up to 32 KiB) gets one bit flipped"},
			directionParam,
		},
	}, func(spec Spec, rt Runtime) (Fault, error) {
		lr, err := linkRuntime(rt)
		if err != nil {
			return nil, err
		}
		p := params(spec.Params)
		return &linkFault{name: spec.Name, resolve: inbound(lr, spec.Target),
			toxic: proxy.Corrupt{Probability: p.percent("probability"), Direction: direction(p["direction"])}}, nil
	})
}
