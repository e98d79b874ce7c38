package faults

import (
	"time"

	"github.com/gameday/gameday/faults/proxy"
)

func init() {
	register(TypeInfo{
		Name:    "latency",
		Summary: "Delay the traffic of the call edges into a service (optionally from one caller) by delay ± jitter.",
		Class:   ClassLink,
		Params: []Param{
			{Name: "delay", Kind: KindDuration, Required: true, Help: "added delay, for example 50ms"},
			{Name: "jitter", Kind: KindDuration, Default: "0s", Help: "uniform jitter around delay"},
			directionParam,
		},
	}, func(spec Spec, rt Runtime) (Fault, error) {
		lr, err := linkRuntime(rt)
		if err != nil {
			return nil, err
		}
		p := params(spec.Params)
		return &linkFault{name: spec.Name, resolve: inbound(lr, spec.Target),
			toxic: proxyLatency(p.duration("delay"), p.duration("jitter"), direction(p["direction"]))}, nil
	})
}

func proxyLatency(delay, jitter time.Duration, d proxy.Direction) proxy.Toxic {
	return proxy.Latency{Delay: delay, Jitter: jitter, Direction: d}
}
