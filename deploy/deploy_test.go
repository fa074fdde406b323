// Package deploy holds the container and cluster manifests; its test
// validates them.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Build       any               `yaml:"build"`
			Image       string            `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"parley1", "parley2", "parley3", "mongo1", "mongo2", "mongo3", "redis"} {
		if _, ok := c.Services[s]; !ok {
			t.Errorf("service %s missing", s)
		}
	}
	if bin, err := exec.LookPath("docker-compose"); err == nil {
		out, err := exec.Command(bin, "-f", "compose.yaml", "config", "-q").CombinedOutput()
		if err != nil {
			t.Fatalf("docker-compose config: %v\n%s", err, out)
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	b, err := os.ReadFile("k8s/parley.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kind, _ := doc["kind"].(string)
		if doc["apiVersion"] == nil || kind == "" || doc["metadata"] == nil {
			t.Fatalf("document without apiVersion/kind/metadata: %v", doc)
		}
		kinds[kind]++
		if kind == "Deployment" {
			spec := doc["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			c := spec["containers"].([]any)[0].(map[string]any)
			if c["readinessProbe"] == nil || c["livenessProbe"] == nil {
				t.Fatal("probes missing")
			}
			ports := map[string]bool{}
			for _, p := range c["ports"].([]any) {
				ports[p.(map[string]any)["name"].(string)] = true
			}
			for _, p := range []string{"c2s", "c2s-tls", "websocket", "https", "admin"} {
				if !ports[p] {
					t.Errorf("container port %s missing", p)
				}
			}
		}
	}
	for _, k := range []string{"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"} {
		if kinds[k] == 0 {
			t.Errorf("no %s", k)
		}
	}
}
