// Package kubernetes_test checks the example manifests: the bridge configuration is valid and the objects
// are wired to each other.
package kubernetes_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
)

func TestConfigMapHoldsAValidConfig(t *testing.T) {
	raw, err := os.ReadFile("configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	cfg := bridgeConfig(t, cm.Data["bridge.yaml"])
	if cfg.Server.MetricsListen == "" || len(cfg.Server.TrustedProxies) == 0 {
		t.Error("the Kubernetes example should serve metrics separately and trust the ingress")
	}
}

// bridgeConfig parses the ConfigMap's bridge.yaml as `serve` would, with the Secret's files and variables
// stood in for.
func bridgeConfig(t *testing.T, doc string) *config.Config {
	t.Helper()
	if doc == "" {
		t.Fatal("configmap.yaml has no data.bridge.yaml")
	}
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32))
	cfg, err := config.Parse([]byte(doc), config.ParseOptions{
		Name: "configmap.yaml#bridge.yaml",
		LookupEnv: func(name string) (string, bool) {
			if strings.Contains(name, "TENANT") {
				return "72f988bf-86f1-41af-91ab-2d7cd011db47", true
			}
			return "placeholder-" + strings.ToLower(name), true
		},
		ReadFile: func(path string) ([]byte, error) {
			if strings.HasSuffix(path, "session_keys") {
				return []byte(key + ":" + key + "\n"), nil
			}
			return []byte("placeholder"), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
