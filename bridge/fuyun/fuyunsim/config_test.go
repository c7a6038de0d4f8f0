package fuyunsim_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

const validYAML = `
listen: 127.0.0.1:8081
issuer: http://developer.rhinokeen.test
token_ttl: 2h
clients:
  - client_id: crm-client
    client_secret: s3cr3t
    scopes: [user_management, hotline]
    jwt:
      issuer: https://crm.example.test
      public_key_file: keys/fuyun-public.pem
    oauth:
      app_name: crmapp
      user_endpoint: https://graph.microsoft.com/oidc/userinfo
      mapping_field: email
agents:
  - account_name: alice
    email: alice@corp.example.test
    mobile: "+8613800000001"
`

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	pubPEM, err := fuyun.MarshalPublicKeyPEM(&integratorKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "conf", "keys", "fuyun-public.pem"), string(pubPEM))
	path := filepath.Join(dir, "conf", "fuyun-sim.yaml")
	writeFile(t, path, validYAML)

	// Load from another working directory: the key path is relative to the config file, not to the cwd.
	t.Chdir(t.TempDir())
	cfg, err := fuyunsim.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Clients[0]
	if cfg.Listen != "127.0.0.1:8081" || cfg.TokenTTL != 2*time.Hour || c.JWT.Key == nil || !c.JWT.Key.Equal(&integratorKey().PublicKey) ||
		c.OAuth.MappingField != "email" || cfg.Agents[0].Mobile != "+8613800000001" {
		t.Fatalf("loaded %+v", cfg)
	}
	if _, err := fuyunsim.New(*cfg, fuyunsim.Options{SigningKey: simKey()}); err != nil {
		t.Fatalf("a loaded config should build an emulator: %v", err)
	}
}

func TestLoadConfigInlinePortalKey(t *testing.T) {
	line, err := fuyun.PublicKeyBase64(&integratorKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sim.yaml")
	writeFile(t, path, strings.Replace(validYAML, "public_key_file: keys/fuyun-public.pem", "public_key: "+line, 1))
	cfg, err := fuyunsim.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Clients[0].JWT.Key.Equal(&integratorKey().PublicKey) {
		t.Fatal("inline key not loaded")
	}
	if cfg.Issuer != "http://developer.rhinokeen.test" {
		t.Fatalf("issuer %q", cfg.Issuer)
	}
}

func TestLoadConfigRefusals(t *testing.T) {
	pubPEM, err := fuyun.MarshalPublicKeyPEM(&integratorKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := fuyun.MarshalPrivateKeyPEM(integratorKey())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		yaml string
		key  string // content of keys/fuyun-public.pem
		hint string
	}{
		{"unknown top-level key", validYAML + "debug: true\n", string(pubPEM), "field debug not found"},
		{"misspelt client key", strings.Replace(validYAML, "client_secret:", "secret:", 1), string(pubPEM), "field secret not found"},
		{"duration as a bare number", strings.Replace(validYAML, "token_ttl: 2h", "token_ttl: 7200", 1), string(pubPEM), "line 4: cannot unmarshal !!int `7200` into time.Duration"},
		{"bad duration", strings.Replace(validYAML, "token_ttl: 2h", "token_ttl: 2 hours", 1), string(pubPEM), "into time.Duration"},
		{"missing key file", validYAML, "", "fuyun-public.pem"},
		{"private key in the public key file", validYAML, string(privPEM), "private key"},
		{"empty file", "", string(pubPEM), "empty"},
		{"not YAML", "clients: [", string(pubPEM), "yaml"},
		{"no clients", "issuer: x\n", string(pubPEM), "at least one client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.key != "" {
				writeFile(t, filepath.Join(dir, "keys", "fuyun-public.pem"), tc.key)
			}
			path := filepath.Join(dir, "sim.yaml")
			writeFile(t, path, tc.yaml)
			_, err := fuyunsim.LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("error %v; want one mentioning %q", err, tc.hint)
			}
			if !strings.Contains(err.Error(), "sim.yaml") {
				t.Fatalf("error %v does not name the config file", err)
			}
		})
	}
	if _, err := fuyunsim.LoadConfig(filepath.Join(t.TempDir(), "absent.yaml")); err == nil {
		t.Fatal("loaded a missing file")
	}
}

// TestExampleConfig keeps configs/fuyun-sim.yaml loadable, given the key pair keygen writes.
func TestExampleConfig(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "..", "configs", "fuyun-sim.yaml"))
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	root := t.TempDir()
	pubPEM, _ := fuyun.MarshalPublicKeyPEM(&integratorKey().PublicKey)
	writeFile(t, filepath.Join(root, "keys", "fuyun-public.pem"), string(pubPEM))
	path := filepath.Join(root, "configs", "fuyun-sim.yaml")
	writeFile(t, path, string(example))
	cfg, err := fuyunsim.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fuyunsim.New(*cfg, fuyunsim.Options{SigningKey: simKey()}); err != nil {
		t.Fatal(err)
	}
}
