package configs_test

import (
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/configs"
)

// exampleEnv answers ${VAR} the way an operator's environment would: a valid session key pair for *SESSION_KEY*,
// an address for *LISTEN* (another for *ADMIN_LISTEN*), URLs and origins for *_URL / *_ORIGIN, and a placeholder for every other secret.
func exampleEnv(name string) (string, bool) {
	key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	switch {
	case strings.Contains(name, "SESSION_KEY"):
		return key + ":" + key, true
	case strings.Contains(name, "STORE_KEY"):
		return key, true
	case strings.Contains(name, "DSN"):
		return "postgres://bridge@127.0.0.1:5432/bridge", true
	case strings.Contains(name, "ADMIN_LISTEN"):
		return "127.0.0.1:8081", true // its own listener, never server.listen
	case strings.Contains(name, "LISTEN"):
		return "127.0.0.1:8080", true
	case strings.HasSuffix(name, "_URL"):
		return "http://127.0.0.1:8080", true
	case strings.HasSuffix(name, "_ORIGIN"):
		return "http://127.0.0.1:3000", true
	}
	return "placeholder-" + strings.ToLower(name), true
}

func exampleFile(path string) ([]byte, error) {
	if strings.Contains(path, "session") {
		k := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
		return []byte(k + ":" + k + "\n"), nil
	}
	if strings.HasSuffix(path, ".csv") {
		return []byte("idp_value,fuyun_account_name\nalice@example.com,alice\n"), nil
	}
	return []byte("placeholder"), nil
}

// TestExamplesParse proves that every bridge configuration in configs/ is valid as shipped.
func TestExamplesParse(t *testing.T) {
	names, err := fs.Glob(configs.FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, name := range names {
		if strings.HasPrefix(name, "fuyun-sim") {
			continue // the emulator's own format, below
		}
		seen++
		t.Run(name, func(t *testing.T) {
			data, _ := configs.FS.ReadFile(name)
			if _, err := config.Parse(data, config.ParseOptions{Name: name, Dir: ".", LookupEnv: exampleEnv, ReadFile: exampleFile}); err != nil {
				t.Errorf("%s does not parse:\n%v", name, err)
			}
		})
	}
	if seen == 0 {
		t.Fatal("no example configurations found")
	}
}

// TestFuyunSimExampleParses loads the emulator's example as README's steps would: keys from keygen in keys/
// beside configs/.
func TestFuyunSimExampleParses(t *testing.T) {
	root := t.TempDir()
	data, err := configs.FS.ReadFile("fuyun-sim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "configs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := fuyun.MarshalPublicKeyPEM(&key.PublicKey)
	if err := os.WriteFile(filepath.Join(root, "keys", "fuyun-public.pem"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "configs", "fuyun-sim.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := fuyunsim.LoadConfig(path)
	if err != nil {
		t.Fatalf("configs/fuyun-sim.yaml: %v", err)
	}
	if _, err := fuyunsim.New(*cfg, fuyunsim.Options{}); err != nil {
		t.Fatalf("emulator from configs/fuyun-sim.yaml: %v", err)
	}
}
