package kubernetes

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// diagnose says why an instance is not up: its pod's phase and container
// states and the last event about it, or, without a pod, the last event of
// its StatefulSet (and of a pending volume claim).
func (d *Deployment) diagnose(ctx context.Context, in *instance) error {
	name := podName(in.id)
	p, err := d.cs.CoreV1().Pods(d.obj.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		msg := fmt.Sprintf("%s: no pod %s (%v)", in.id, name, err)
		if ev := d.lastEvent(ctx, "StatefulSet", in.id); ev != "" {
			msg += "; statefulset: " + ev
		}
		if s := d.obj.service(in.service); s.Stateful {
			if ev := d.lastEvent(ctx, "PersistentVolumeClaim", claimName(in.service)); ev != "" {
				msg += "; volume claim: " + ev
			}
		}
		return fmt.Errorf("%s", msg)
	}
	return fmt.Errorf("%s: pod %s %s; last event: %s", in.id, name, describePod(p), orNone(d.lastEvent(ctx, "Pod", name)))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// describePod is a pod's phase, readiness and container states in one line.
func describePod(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s", p.Status.Phase)
	if p.DeletionTimestamp != nil {
		b.WriteString(" (terminating)")
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			fmt.Fprintf(&b, ", unscheduled: %s %s", c.Reason, c.Message)
		}
	}
	for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, ", container %s: ", cs.Name)
		switch st := cs.State; {
		case st.Waiting != nil:
			fmt.Fprintf(&b, "waiting (%s: %s)", st.Waiting.Reason, st.Waiting.Message)
		case st.Terminated != nil:
			fmt.Fprintf(&b, "terminated (%s, exit %d: %s)", st.Terminated.Reason, st.Terminated.ExitCode, st.Terminated.Message)
		case st.Running != nil:
			fmt.Fprintf(&b, "running, ready=%t", cs.Ready)
		default:
			b.WriteString("unknown")
		}
		if cs.RestartCount > 0 {
			fmt.Fprintf(&b, ", %d restarts", cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil {
				fmt.Fprintf(&b, " (last: %s, exit %d)", t.Reason, t.ExitCode)
			}
		}
	}
	return b.String()
}

// lastEvent is the most recent event about the object, "REASON: message".
func (d *Deployment) lastEvent(ctx context.Context, kind, name string) string {
	evs, err := d.cs.CoreV1().Events(d.obj.ns).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name})
	if err != nil || len(evs.Items) == 0 {
		return ""
	}
	items := evs.Items
	sort.SliceStable(items, func(a, b int) bool { return eventTime(items[a]).Time.Before(eventTime(items[b]).Time) })
	e := items[len(items)-1]
	return fmt.Sprintf("%s: %s", e.Reason, strings.TrimSpace(e.Message))
}

func eventTime(e corev1.Event) metav1.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.EventTime.IsZero():
		return metav1.Time{Time: e.EventTime.Time}
	}
	return e.CreationTimestamp
}
