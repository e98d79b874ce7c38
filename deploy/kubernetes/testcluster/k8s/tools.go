//go:build tools

// Package k8s pins the Kubernetes release whose components make gameday's
// single-node test cluster. Nothing here is compiled into gameday: build.sh
// builds the commands this file imports, from the Go module proxy.
package k8s

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
