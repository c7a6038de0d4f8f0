package kubernetes_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The parts of the manifests whose wiring the tests check; yaml.v3 ignores the rest.
type (
	meta struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	}
	selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	port struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Port          int    `yaml:"port"`
		TargetPort    string `yaml:"targetPort"`
	}
	probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
	}
	container struct {
		Name           string   `yaml:"name"`
		Image          string   `yaml:"image"`
		Args           []string `yaml:"args"`
		Ports          []port   `yaml:"ports"`
		LivenessProbe  *probe   `yaml:"livenessProbe"`
		ReadinessProbe *probe   `yaml:"readinessProbe"`
		EnvFrom        []struct {
			SecretRef struct{ Name string } `yaml:"secretRef"`
		} `yaml:"envFrom"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	backend struct {
		Service struct {
			Name string `yaml:"name"`
			Port struct {
				Name   string `yaml:"name"`
				Number int    `yaml:"number"`
			} `yaml:"port"`
		} `yaml:"service"`
	}
	manifest struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   meta              `yaml:"metadata"`
		Data       map[string]string `yaml:"data"`
		Spec       struct {
			Selector yaml.Node `yaml:"selector"` // a label selector in a Deployment or PDB, a map in a Service
			Template struct {
				Metadata meta `yaml:"metadata"`
				Spec     struct {
					SecurityContext struct {
						RunAsUser  int `yaml:"runAsUser"`
						RunAsGroup int `yaml:"runAsGroup"`
					} `yaml:"securityContext"`
					Containers []container `yaml:"containers"`
					Volumes    []struct {
						Name      string `yaml:"name"`
						ConfigMap *struct {
							Name string `yaml:"name"`
						} `yaml:"configMap"`
						Secret *struct {
							SecretName string `yaml:"secretName"`
						} `yaml:"secret"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
			Ports          []port `yaml:"ports"`
			ScaleTargetRef struct {
				Kind string `yaml:"kind"`
				Name string `yaml:"name"`
			} `yaml:"scaleTargetRef"`
			MinReplicas    int `yaml:"minReplicas"`
			MaxUnavailable int `yaml:"maxUnavailable"`
			TLS            []struct {
				Hosts      []string `yaml:"hosts"`
				SecretName string   `yaml:"secretName"`
			} `yaml:"tls"`
			Rules []struct {
				Host string `yaml:"host"`
				HTTP struct {
					Paths []struct {
						Path    string  `yaml:"path"`
						Backend backend `yaml:"backend"`
					} `yaml:"paths"`
				} `yaml:"http"`
			} `yaml:"rules"`
		} `yaml:"spec"`
	}
)

// loadManifests parses every YAML document of every manifest file, keyed by kind; each kind appears once.
func loadManifests(t *testing.T) map[string]manifest {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]manifest{}
	for _, file := range files {
		if file == "kustomization.yaml" {
			continue
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var m manifest
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if m.APIVersion == "" || m.Kind == "" || m.Metadata.Name != "fuyun-bridge" || m.Metadata.Labels["app.kubernetes.io/name"] != "fuyun-bridge" {
				t.Errorf("%s: %s %q lacks apiVersion, kind, the name fuyun-bridge or its app.kubernetes.io/name label", file, m.Kind, m.Metadata.Name)
			}
			if _, dup := byKind[m.Kind]; dup {
				t.Errorf("%s: a second %s", file, m.Kind)
			}
			byKind[m.Kind] = m
		}
	}
	for _, kind := range []string{"ConfigMap", "Secret", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget"} {
		if _, ok := byKind[kind]; !ok {
			t.Fatalf("no %s among the manifests", kind)
		}
	}
	return byKind
}

func matchLabels(t *testing.T, n yaml.Node, named bool) map[string]string {
	t.Helper()
	var labels map[string]string
	var err error
	if named {
		var s selector
		err = n.Decode(&s)
		labels = s.MatchLabels
	} else {
		err = n.Decode(&labels)
	}
	if err != nil || len(labels) == 0 {
		t.Fatalf("empty or bad selector: %v", err)
	}
	return labels
}

// selects reports whether every selector label is on the pod template.
func selects(sel, pod map[string]string) bool {
	for k, v := range sel {
		if pod[k] != v {
			return false
		}
	}
	return true
}

func portOf(t *testing.T, listen string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("listen %q: %v", listen, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("listen %q: %v", listen, err)
	}
	return n
}

// TestManifestsWiring checks what `kubectl apply` would not: that the objects point at each other. Pods are
// selected by the Deployment, Service and PDB; the container serves server.listen and server.metrics_listen
// on the named ports the probes, the Service and the Ingress use; the Ingress publishes public_url's host
// over TLS and never the metrics port; volumes and env come from the ConfigMap and Secret given here.
func TestManifestsWiring(t *testing.T) {
	m := loadManifests(t)
	dep, svc, pdb, ing, hpa := m["Deployment"], m["Service"], m["PodDisruptionBudget"], m["Ingress"], m["HorizontalPodAutoscaler"]
	pod := dep.Spec.Template.Metadata.Labels

	if !selects(matchLabels(t, dep.Spec.Selector, true), pod) {
		t.Error("the Deployment's selector does not match its own pod template")
	}
	if !selects(matchLabels(t, svc.Spec.Selector, false), pod) {
		t.Error("the Service's selector does not match the Deployment's pods")
	}
	if !selects(matchLabels(t, pdb.Spec.Selector, true), pod) {
		t.Error("the PodDisruptionBudget's selector does not match the Deployment's pods")
	}
	if pdb.Spec.MaxUnavailable < 1 || pdb.Spec.MaxUnavailable >= hpa.Spec.MinReplicas {
		t.Errorf("PDB maxUnavailable %d: want at least 1 and fewer than the HPA's %d replicas", pdb.Spec.MaxUnavailable, hpa.Spec.MinReplicas)
	}
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != dep.Metadata.Name {
		t.Errorf("the HPA scales %s %q", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name)
	}

	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	cfg := bridgeConfig(t, m["ConfigMap"].Data["bridge.yaml"])
	containerPorts := map[string]int{}
	for _, p := range c.Ports {
		containerPorts[p.Name] = p.ContainerPort
	}
	if containerPorts["http"] != portOf(t, cfg.Server.Listen) {
		t.Errorf("container port http %d, server.listen %q", containerPorts["http"], cfg.Server.Listen)
	}
	if containerPorts["metrics"] != portOf(t, cfg.Server.MetricsListen) {
		t.Errorf("container port metrics %d, server.metrics_listen %q", containerPorts["metrics"], cfg.Server.MetricsListen)
	}
	for name, pr := range map[string]*probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if pr == nil || pr.HTTPGet.Path != name || pr.HTTPGet.Port != "http" {
			t.Errorf("probe for %s: %+v, want GET %s on the http port", name, pr, name)
		}
	}
	if u := dep.Spec.Template.Spec.SecurityContext; u.RunAsUser != 65532 || u.RunAsGroup != 65532 {
		t.Errorf("runs as %d:%d, the image's user is 65532:65532", u.RunAsUser, u.RunAsGroup)
	}
	if !slices.Equal(c.Args, []string{"serve", "--config", "/etc/fuyun-bridge/bridge.yaml"}) {
		t.Errorf("args %q", c.Args)
	}

	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		switch {
		case v.ConfigMap != nil && v.ConfigMap.Name != m["ConfigMap"].Metadata.Name,
			v.Secret != nil && v.Secret.SecretName != m["Secret"].Metadata.Name:
			t.Errorf("volume %s names an object not given here", v.Name)
		}
		delete(mounts, v.Name)
	}
	if len(mounts) > 0 {
		t.Errorf("mounts without a volume: %v", mounts)
	}
	for _, e := range c.EnvFrom {
		if e.SecretRef.Name != m["Secret"].Metadata.Name {
			t.Errorf("envFrom secret %q is not the Secret given here", e.SecretRef.Name)
		}
	}

	servicePorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		if _, ok := containerPorts[p.TargetPort]; !ok {
			t.Errorf("Service port %s targets %q, which the container does not name", p.Name, p.TargetPort)
		}
		servicePorts[p.Name] = true
	}
	if !servicePorts["http"] || !servicePorts["metrics"] {
		t.Errorf("Service ports %v, want http and metrics", servicePorts)
	}

	public, err := url.Parse(cfg.Server.PublicURL)
	if err != nil {
		t.Fatal(err)
	}
	var tlsHosts []string
	for _, tls := range ing.Spec.TLS {
		if tls.SecretName == "" {
			t.Error("an Ingress TLS entry without a secretName")
		}
		tlsHosts = append(tlsHosts, tls.Hosts...)
	}
	if len(ing.Spec.Rules) == 0 {
		t.Fatal("the Ingress has no rules")
	}
	for _, r := range ing.Spec.Rules {
		if r.Host != public.Hostname() || !slices.Contains(tlsHosts, r.Host) {
			t.Errorf("Ingress host %q: want server.public_url's host %q, covered by TLS %v", r.Host, public.Hostname(), tlsHosts)
		}
		for _, p := range r.HTTP.Paths {
			b := p.Backend.Service
			if b.Name != svc.Metadata.Name || b.Port.Name != "http" {
				t.Errorf("Ingress path %s goes to %s port %q/%d, want the Service's http port", p.Path, b.Name, b.Port.Name, b.Port.Number)
			}
		}
	}
}

// TestKustomizationListsEveryManifest: `kubectl apply -k` applies all of them, once.
func TestKustomizationListsEveryManifest(t *testing.T) {
	raw, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.yaml")
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	got := slices.Clone(k.Resources)
	slices.Sort(got)
	if !slices.Equal(got, files) {
		t.Errorf("kustomization resources %v, manifest files %v", got, files)
	}
}

// TestImageIsTheReleasedOne: the Deployment pulls the repository .goreleaser.yaml publishes, at a tag the
// reader must set.
func TestImageIsTheReleasedOne(t *testing.T) {
	raw, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rel struct {
		Dockers []struct {
			Images []string `yaml:"images"`
		} `yaml:"dockers_v2"`
	}
	if err := yaml.Unmarshal(raw, &rel); err != nil {
		t.Fatal(err)
	}
	if len(rel.Dockers) != 1 || len(rel.Dockers[0].Images) != 1 {
		t.Fatalf(".goreleaser.yaml: want one dockers_v2 image, got %+v", rel.Dockers)
	}
	image := loadManifests(t)["Deployment"].Spec.Template.Spec.Containers[0].Image
	repo, tag, _ := strings.Cut(image, ":")
	if repo != rel.Dockers[0].Images[0] || tag != "REPLACE-ME" {
		t.Errorf("image %q, want %s:REPLACE-ME", image, rel.Dockers[0].Images[0])
	}
}
