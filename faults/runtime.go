package faults

import (
	"context"
	"time"

	"github.com/gameday/gameday/faults/proxy"
	"github.com/gameday/gameday/journal"
)

// Instance is one instance of a service that the runtime itself started.
// Ref is opaque to fault types: the runtime's name for this start of the
// instance (a process's pid and start time, a container's), so that a
// fault chosen against one start never acts on the next one.
type Instance struct {
	Service string `json:"service"`
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Ref     string `json:"ref,omitempty"`
}

// InstanceLister lists the running instances of a service, in index order.
// An instance that is down (killed, not yet restarted) is left out.
type InstanceLister interface {
	Instances(service string) ([]Instance, error)
}

// RestartMode says what the runtime does after a kill fault.
type RestartMode string

// Restart modes of the kill fault.
const (
	RestartAfterDelay RestartMode = "delay" // restart after Delay, with backoff on repeated kills (like a kubelet)
	RestartAtRevert   RestartMode = "end"   // stay dead until the fault is reverted, then restart
	RestartNever      RestartMode = "never" // stay dead for the rest of the run
)

// RestartPolicy is the restart behaviour a kill fault asks for.
type RestartPolicy struct {
	Mode  RestartMode
	Delay time.Duration
}

// ProcessRuntime is a runtime whose instances can be killed (and brought
// back): kill.
type ProcessRuntime interface {
	Runtime
	InstanceLister
	// Kill ends the instance at once (SIGKILL) and applies the restart policy.
	Kill(ctx context.Context, inst Instance, restart RestartPolicy) error
	// Restart brings back an instance left dead by RestartAtRevert; it is a
	// no-op if the instance is running again.
	Restart(ctx context.Context, inst Instance) error
}

// Pauser is a process runtime whose instances can also be frozen and
// thawed: pause. A runtime that cannot freeze an instance (a Kubernetes
// pod) implements ProcessRuntime alone, and validation refuses a pause.
type Pauser interface {
	ProcessRuntime
	// Pause freezes the instance (SIGSTOP); Resume thaws it (SIGCONT). Both
	// are idempotent.
	Pause(ctx context.Context, inst Instance) error
	Resume(ctx context.Context, inst Instance) error
	// PauseUndo is the journal record that lets `gameday recover` undo a
	// pause of inst without the harness (a process to resume, a container
	// to unpause), of a kind the runtime's journal.Handler takes.
	PauseUndo(inst Instance) journal.Undo
}

// Link is one call edge's fault proxy, wherever it runs: a *proxy.Proxy
// in the harness, a *proxy.Remote driving a proxy in another process (a
// sidecar) through its admin API, or a runtime's own (the docker runtime
// turns a partition into a packet filter). The toxic is a value of the
// proxy's closed set (proxy.Encode carries any of them over the wire).
type Link interface {
	AddToxic(ctx context.Context, t proxy.Toxic) (id string, err error)
	// RemoveToxic removes the toxic; an unknown id is not an error.
	RemoveToxic(ctx context.Context, id string) error
}

var (
	_ Link = (*proxy.Proxy)(nil)
	_ Link = (*proxy.Remote)(nil)
)

// Edge is a call edge between two services. From is ClientCaller for the
// load generator's traffic into the gateway.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// ClientCaller names the load generator as the caller of an edge.
const ClientCaller = "client"

// LinkRuntime is a runtime whose call edges pass through fault proxies.
type LinkRuntime interface {
	Runtime
	// Edges lists every call edge, including client → gateway.
	Edges() []Edge
	// Links returns the proxies of the edges into service to (one per
	// callee instance and edge); from narrows to one caller, "" means all.
	Links(to, from string) ([]Link, error)
}

// HTTPFault is a fault inside a service's HTTP handling, set through the
// shop's admin fault API.
type HTTPFault struct {
	Operation string        `json:"operation,omitempty"` // an inbound operation of the service, such as "charge"
	Edge      string        `json:"edge,omitempty"`      // or an outgoing call, named by its callee
	Status    int           `json:"status,omitempty"`    // abort with this status (http-abort)
	Delay     time.Duration `json:"delay,omitempty"`     // add this delay (http-delay)
	Jitter    time.Duration `json:"jitter,omitempty"`    // ± uniform jitter around Delay
	Percent   float64       `json:"percent"`             // fraction of requests hit, 0–1
}

// HTTPRuntime is a runtime whose instances accept HTTP faults on their
// admin API (guarded by the run's admin token).
type HTTPRuntime interface {
	Runtime
	InstanceLister
	SetHTTPFault(ctx context.Context, inst Instance, f HTTPFault) (id string, err error)
	ClearHTTPFault(ctx context.Context, inst Instance, id string) error
}
