package kubernetes

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/platform"
	"github.com/gameday/gameday/platform/internal/fleet"
)

// objects builds the Kubernetes objects of one run from its config: pure
// functions of the spec (and of the per-instance Services' ClusterIPs), so
// that what is deployed can be checked without a cluster.
type objects struct {
	cfg   *Config
	ns    string // the run's namespace
	label string // the value of LabelRun
}

func newObjects(cfg *Config) *objects {
	return &objects{cfg: cfg, ns: Namespace(cfg.RunID), label: RunLabel(cfg.RunID)}
}

// edgePort is one outbound edge of a caller instance to one callee instance
// through the caller's sidecar: the caller's shop calls 127.0.0.1:Port, the
// sidecar forwards to the callee instance's Service.
type edgePort struct {
	Edge   faults.Edge
	Callee string // the callee instance's id (its Service's name)
	Port   int
	Name   string // the sidecar's edge name: "orders->payment-0"
}

// instanceID names instance i of a service; it is also the name of its
// StatefulSet and of its Service.
func instanceID(service string, i int) string { return fmt.Sprintf("%s-%d", service, i) }

// podName is the name of the one pod of an instance's StatefulSet.
func podName(id string) string { return id + "-0" }

func (o *objects) service(name string) Service {
	for _, s := range o.cfg.Services {
		if s.Name == name {
			return s
		}
	}
	return Service{Name: name, Replicas: 1}
}

// edges lists the outbound edges of every instance of service (the same
// ports in each of its instances): for each edge from it, in the spec's
// order, one port per callee instance.
func (o *objects) edges(service string) []edgePort {
	var out []edgePort
	port := edgePortBase
	for _, e := range o.cfg.Edges {
		if e.From != service {
			continue
		}
		for j := range max(1, o.service(e.To).Replicas) {
			callee := instanceID(e.To, j)
			out = append(out, edgePort{Edge: e, Callee: callee, Port: port, Name: e.From + "->" + callee})
			port++
		}
	}
	return out
}

// meta is the metadata of an object of the run; kv adds labels.
func (o *objects) meta(name string, kv ...string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: o.ns, Labels: o.labels(kv...),
		Annotations: map[string]string{AnnotationRunID: o.cfg.RunID}}
}

func (o *objects) labels(kv ...string) map[string]string {
	m := map[string]string{LabelManagedBy: ManagedBy, LabelRun: o.label}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// runSelector selects every object of the run.
func (o *objects) runSelector() string {
	return LabelManagedBy + "=" + ManagedBy + "," + LabelRun + "=" + o.label
}

// owned says whether an object's labels and namespace prove it is the run's.
func (o *objects) owned(m metav1.ObjectMeta) error {
	if m.Namespace != o.ns || m.Labels[LabelManagedBy] != ManagedBy || m.Labels[LabelRun] != o.label {
		return fmt.Errorf("%w: %s/%s (labels %s=%q %s=%q), not of run %s in namespace %s",
			ErrForeign, m.Namespace, m.Name, LabelManagedBy, m.Labels[LabelManagedBy], LabelRun, m.Labels[LabelRun], o.label, o.ns)
	}
	return nil
}

func (o *objects) namespace() *corev1.Namespace {
	m := o.meta(o.ns)
	m.Namespace = ""
	return &corev1.Namespace{ObjectMeta: m}
}

func (o *objects) secret() *corev1.Secret {
	return &corev1.Secret{ObjectMeta: o.meta("gameday-admin"), Type: corev1.SecretTypeOpaque,
		StringData: map[string]string{secretKey: o.cfg.AdminToken}}
}

// configMap holds the run's effective policy file.
func (o *objects) configMap(policy []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: o.meta("gameday-policy"), Data: map[string]string{policyFile: string(policy)}}
}

// storage is where a stateful service's /data lives.
type storage struct {
	hostPath bool
	class    string // "" = the cluster's default
	mode     corev1.PersistentVolumeAccessMode
}

func claimName(service string) string { return "data-" + service }

func (o *objects) claim(service string, st storage) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{ObjectMeta: o.meta(claimName(service), LabelName, service),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{st.mode},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("256Mi")}},
		}}
	if st.class != "" {
		c.Spec.StorageClassName = &st.class
	}
	return c
}

// hostDir is a stateful service's directory on the node (the hostPath
// fallback).
func (o *objects) hostDir(service string) string { return path.Join(hostPathRoot, o.ns, service) }

// instanceService is the ClusterIP Service of one instance: its stable
// address inside the cluster, which its callers' sidecars dial.
func (o *objects) instanceService(service string, i int) *corev1.Service {
	id := instanceID(service, i)
	return &corev1.Service{ObjectMeta: o.meta(id, LabelName, service, LabelInstance, id),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: o.labels(LabelInstance, id),
			Ports:    []corev1.ServicePort{{Name: "http", Port: shopPort, TargetPort: intstr.FromInt32(shopPort), Protocol: corev1.ProtocolTCP}},
		}}
}

// serviceService is the Service over every instance of a service, for
// users (the shop itself calls instances through its sidecar).
func (o *objects) serviceService(service string) *corev1.Service {
	return &corev1.Service{ObjectMeta: o.meta(service, LabelName, service),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: o.labels(LabelName, service),
			Ports:    []corev1.ServicePort{{Name: "http", Port: shopPort, TargetPort: intstr.FromInt32(shopPort), Protocol: corev1.ProtocolTCP}},
		}}
}

// shopArgs is the shop's command line in instance i of s.
func (o *objects) shopArgs(s Service, i int) []string {
	args := []string{"serve", "--service", s.Name, "--instance", instanceID(s.Name, i),
		"--listen", fmt.Sprintf("0.0.0.0:%d", shopPort)}
	switch {
	case o.cfg.Policy != "":
		args = append(args, "--policy", path.Join(policyDir, policyFile))
	case o.cfg.Variant != "":
		args = append(args, "--variant", o.cfg.Variant)
	}
	eps := o.edges(s.Name)
	for _, e := range o.cfg.Edges {
		if e.From != s.Name {
			continue
		}
		var urls []string
		for _, ep := range eps {
			if ep.Edge == e {
				urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", ep.Port))
			}
		}
		args = append(args, "--upstream", e.To+"="+strings.Join(urls, ","))
	}
	return append(args, "--data", dataPath, "--replicas", strconv.Itoa(max(1, s.Replicas)))
}

// proxyArgs is the sidecar's command line in instance i of s: one edge per
// callee instance, to that instance's ClusterIP (clusterIPs by instance
// id), seeded from the run's seed.
func (o *objects) proxyArgs(s Service, i int, clusterIPs map[string]string) ([]string, error) {
	args := []string{"proxy", "--admin", fmt.Sprintf("0.0.0.0:%d", adminPort),
		"--seed", strconv.FormatInt(fleet.Seed(o.cfg.Seed, instanceID(s.Name, i)+"/sidecar"), 10)}
	for _, ep := range o.edges(s.Name) {
		ip := clusterIPs[ep.Callee]
		if ip == "" || ip == corev1.ClusterIPNone {
			return nil, fmt.Errorf("service %s has no cluster IP", ep.Callee)
		}
		args = append(args, "--edge", fmt.Sprintf("%s=127.0.0.1:%d=%s:%d", ep.Name, ep.Port, ip, shopPort))
	}
	return args, nil
}

// pullPolicy: an image without a registry host (gameday/sut:dev) can only
// have been loaded into the nodes (kind load, ctr import): never pull it.
func pullPolicy(image string) corev1.PullPolicy {
	first, _, ok := strings.Cut(image, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return corev1.PullNever
	}
	return corev1.PullIfNotPresent
}

// env is the environment of both containers: the run id, the admin token
// (from the Secret), GOMAXPROCS=1 unless the user's Env sets it (many small
// Go processes share the node's cores, as on the local runtime), then the
// user's Env.
func (o *objects) env(id string) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: platform.RunIDEnv, Value: o.cfg.RunID},
		{Name: "GAMEDAY_INSTANCE", Value: id},
		{Name: secretKey, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "gameday-admin"}, Key: secretKey}}},
	}
	var user []corev1.EnvVar
	for _, kv := range o.cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			continue
		}
		if i := slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == k }); i >= 0 {
			env = slices.Delete(env, i, i+1)
		}
		if i := slices.IndexFunc(user, func(e corev1.EnvVar) bool { return e.Name == k }); i >= 0 {
			user = slices.Delete(user, i, i+1)
		}
		user = append(user, corev1.EnvVar{Name: k, Value: v})
	}
	if !slices.ContainsFunc(user, func(e corev1.EnvVar) bool { return e.Name == "GOMAXPROCS" }) {
		env = append(env, corev1.EnvVar{Name: "GOMAXPROCS", Value: "1"})
	}
	return append(env, user...)
}

func probe(port int) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(int32(port))}},
		PeriodSeconds:    1,
		TimeoutSeconds:   1,
		FailureThreshold: 2,
		SuccessThreshold: 1,
	}
}

func requests(cpu, mem string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}
}

// statefulSet is instance i of s: one replica, its pod labelled with the
// instance, the shop and (for a caller) its sidecar.
func (o *objects) statefulSet(s Service, i int, clusterIPs map[string]string, st storage) (*appsv1.StatefulSet, error) {
	id := instanceID(s.Name, i)
	podLabels := o.labels(LabelName, s.Name, LabelInstance, id)
	grace := int64(max(1, int(o.cfg.StopGrace.Round(1e9).Seconds())))
	one := int32(1)
	image := o.cfg.Image
	shop := corev1.Container{
		Name:            shopContainer,
		Image:           image,
		ImagePullPolicy: pullPolicy(image),
		Args:            o.shopArgs(s, i),
		Env:             o.env(id),
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: shopPort, Protocol: corev1.ProtocolTCP}},
		ReadinessProbe:  probe(shopPort),
		Resources:       requests("20m", "32Mi"),
	}
	var volumes []corev1.Volume
	if o.cfg.Policy != "" {
		shop.VolumeMounts = append(shop.VolumeMounts, corev1.VolumeMount{Name: "policy", MountPath: policyDir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "policy", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gameday-policy"}}}})
	}
	data := corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	if s.Stateful {
		if st.hostPath {
			t := corev1.HostPathDirectoryOrCreate
			data.VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: o.hostDir(s.Name), Type: &t}}
		} else {
			data.VolumeSource = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(s.Name)}}
		}
	}
	volumes = append(volumes, data)
	shop.VolumeMounts = append(shop.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: dataPath})
	containers := []corev1.Container{shop}
	if len(o.edges(s.Name)) > 0 {
		args, err := o.proxyArgs(s, i, clusterIPs)
		if err != nil {
			return nil, fmt.Errorf("sidecar of %s: %w", id, err)
		}
		containers = append(containers, corev1.Container{
			Name:            proxyContainer,
			Image:           image,
			ImagePullPolicy: pullPolicy(image),
			Args:            args,
			Env:             o.env(id),
			Ports:           []corev1.ContainerPort{{Name: "admin", ContainerPort: adminPort, Protocol: corev1.ProtocolTCP}},
			ReadinessProbe:  probe(adminPort),
			Resources:       requests("10m", "16Mi"),
		})
	}
	noToken := false
	return &appsv1.StatefulSet{
		ObjectMeta: o.meta(id, LabelName, s.Name, LabelInstance, id),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            &one,
			ServiceName:         id,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: podLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: map[string]string{AnnotationRunID: o.cfg.RunID}},
				Spec: corev1.PodSpec{
					Containers:                    containers,
					Volumes:                       volumes,
					TerminationGracePeriodSeconds: &grace,
					AutomountServiceAccountToken:  &noToken,
					EnableServiceLinks:            &noToken,
				},
			},
		},
	}, nil
}
