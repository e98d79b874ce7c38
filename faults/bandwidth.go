package faults

import "github.com/gameday/gameday/faults/proxy"

func init() {
	register(TypeInfo{
		Name:    "bandwidth",
		Summary: "Limit the throughput of the call edges into a service to a byte rate.",
		Class:   ClassLink,
		Params: []Param{
			{Name: "rate", Kind: KindRate, Required: true, Help: "bytes per second per connection, for example 100KB"},
			directionParam,
		},
	}, func(spec Spec, rt Runtime) (Fault, error) {
		lr, err := linkRuntime(rt)
		if err != nil {
			return nil, err
		}
		p := params(spec.Params)
		return &linkFault{name: spec.Name, resolve: inbound(lr, spec.Target),
			toxic: proxy.Bandwidth{BytesPerSecond: p.rate("rate"), Direction: direction(p["direction"])}}, nil
	})
}
