package kubernetes

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// saveLogs writes each pod's logs to RUN/logs/INSTANCE.log (the shop; a
// restarted container's previous run first) and RUN/logs/INSTANCE.proxy.log
// (the sidecar). Best effort: a pod that a kill deleted took its logs with
// it.
func (d *Deployment) saveLogs(ctx context.Context) {
	pods, err := d.cs.CoreV1().Pods(d.obj.ns).List(ctx, metav1.ListOptions{LabelSelector: d.obj.runSelector()})
	if err != nil {
		d.log.Warn("kubernetes: logs", "err", err)
		return
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		id := p.Labels[LabelInstance]
		if id == "" || d.obj.owned(p.ObjectMeta) != nil {
			continue
		}
		for _, c := range p.Spec.Containers {
			file := id + ".log"
			if c.Name != shopContainer {
				file = id + "." + c.Name + ".log"
			}
			if err := d.saveContainerLogs(ctx, p, c.Name, filepath.Join(d.cfg.RunDir, "logs", file)); err != nil {
				d.log.Warn("kubernetes: logs", "pod", p.Name, "container", c.Name, "err", err)
			}
		}
	}
}

func (d *Deployment) saveContainerLogs(ctx context.Context, p *corev1.Pod, container, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	restarted := false
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container && cs.RestartCount > 0 {
			restarted = true
		}
	}
	write := func(previous bool) error {
		rc, err := d.cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container, Previous: previous}).Stream(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		fmt.Fprintf(f, "--- pod %s (uid %s), container %s, previous=%t\n", p.Name, p.UID, container, previous)
		_, err = io.Copy(f, rc)
		return err
	}
	if restarted {
		_ = write(true)
	}
	return write(false)
}
