package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store/pgtest"
)

// Encryption keys of the tests' stores.
var (
	storeKeyA = bytes.Repeat([]byte{'a'}, 32)
	storeKeyB = bytes.Repeat([]byte{'b'}, 32)
)

// platformConfig writes a platform-mode bridge config (no providers of its own) whose store is section, and
// returns its path.
func platformConfig(t *testing.T, dir, section string) string {
	t.Helper()
	k := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32))
	doc := fmt.Sprintf("server: {public_url: \"https://bridge.example.com\"}\nsession: {keys: [\"%s:%s\"]}\n%s", k, k, section)
	path := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sqliteSection is a store: section for a SQLite database in dir, sealed with keys.
func sqliteSection(dir string, keys ...[]byte) string {
	return fmt.Sprintf("store:\n  driver: sqlite\n  path: %s\n  encryption_keys: [%s]\n", filepath.Join(dir, "tenants.db"), keyList(keys))
}

func keyList(keys [][]byte) string {
	var ks []string
	for _, k := range keys {
		ks = append(ks, `"`+base64.StdEncoding.EncodeToString(k)+`"`)
	}
	return strings.Join(ks, ", ")
}

// acmeTenant is a tenant file as an operator writes it: its Fuyun secret from the environment, its IdP's from
// a file beside it. Line 11 is the provider's type.
const acmeTenant = `id: acme
display_name: Acme Corp
domains: [acme.com]
fuyun:
  client_id: acme-fuyun
  client_secret: ${ACME_FUYUN_SECRET}
  redirect_url: https://crm.acme.com/fuyun/callback
  app_name: crmapp
providers:
  - id: corp
    type: oidc
    issuer: https://idp.acme.com
    client_id: bridge
    client_secret_file: idp.secret
`

var acmeSecrets = map[string]string{"fuyun.client_secret": "fuyun-secret-value", "providers[0].client_secret": "idp-secret-value"}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tenantDir is a directory with acme.yaml and the secret file it reads.
func tenantDir(t *testing.T) string {
	t.Helper()
	t.Setenv("ACME_FUYUN_SECRET", "fuyun-secret-value")
	dir := t.TempDir()
	writeFile(t, dir, "idp.secret", "idp-secret-value\n")
	writeFile(t, dir, "acme.yaml", acmeTenant)
	return dir
}

// storedTenants opens the store of so and returns every tenant.
func storedTenants(t *testing.T, so store.Options) []store.Tenant {
	t.Helper()
	st, err := store.Open(context.Background(), so)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts, _, err := st.List(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(args...)
	if code != 0 {
		t.Fatalf("%v = %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// roundTrip imports acme, exports it without secrets, edits and imports it back: the secrets stay, and no
// output ever shows one.
func roundTrip(t *testing.T, cfg string, so store.Options) {
	dir := tenantDir(t)
	acme := filepath.Join(dir, "acme.yaml")
	if out := mustRun(t, "tenants", "import", "--config", cfg, acme); out != "created    acme  version 1\n" {
		t.Errorf("first import: %q", out)
	}
	if out := mustRun(t, "tenants", "import", "--config", cfg, acme); out != "unchanged  acme  version 1\n" {
		t.Errorf("second import: %q", out)
	}
	exported := mustRun(t, "tenants", "export", "--config", cfg)
	if strings.Contains(exported, "-value") || strings.Count(exported, "client_secret: {set: true}") != 2 {
		t.Fatalf("export without secrets:\n%s", exported)
	}
	edited := writeFile(t, t.TempDir(), "acme.yaml", strings.Replace(exported, "Acme Corp", "Acme Inc", 1))
	if out := mustRun(t, "tenants", "import", "--config", cfg, edited); out != "updated    acme  version 1 → 2\n" {
		t.Errorf("import of the edited export: %q", out)
	}
	ts := storedTenants(t, so)
	if len(ts) != 1 || ts[0].DisplayName != "Acme Inc" || !maps.Equal(ts[0].Secrets, acmeSecrets) {
		t.Fatalf("stored after the round trip: %+v", ts)
	}
}

func TestTenantsRoundTripSQLite(t *testing.T) {
	dir := t.TempDir()
	cfg := platformConfig(t, dir, sqliteSection(dir, storeKeyA))
	roundTrip(t, cfg, store.Options{Driver: "sqlite", Path: filepath.Join(dir, "tenants.db"), EncryptionKeys: [][]byte{storeKeyA}})
}

func TestTenantsRoundTripPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	cfg := platformConfig(t, t.TempDir(), fmt.Sprintf("store:\n  driver: postgres\n  dsn: %q\n  encryption_keys: [%s]\n", dsn, keyList([][]byte{storeKeyA})))
	roundTrip(t, cfg, store.Options{Driver: "postgres", DSN: dsn, EncryptionKeys: [][]byte{storeKeyA}})
}

// TestTenantsImportAllOrNothing: a second file with a problem stops the first one too; every problem is
// printed as FILE:LINE: path: message.
func TestTenantsImportAllOrNothing(t *testing.T) {
	dir := tenantDir(t)
	cfg := platformConfig(t, dir, sqliteSection(dir, storeKeyA))
	bad := writeFile(t, dir, "globex.yaml", strings.NewReplacer("acme", "globex", "type: oidc", "type: okta").Replace(acmeTenant))
	kept := writeFile(t, dir, "initech.yaml", strings.NewReplacer("acme", "initech", "${ACME_FUYUN_SECRET}", "{set: true}").Replace(acmeTenant))
	code, out, errOut := runCmd("tenants", "import", "--config", cfg, filepath.Join(dir, "acme.yaml"), bad, kept)
	for _, want := range []string{
		bad + `:11: providers[0].type: unknown type "okta"`,
		kept + ": fuyun.client_secret: is {set: true}, but the store has no value for it: give the value",
		"nothing was written",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != 1 || out != "" {
		t.Errorf("import = %d, stdout %q", code, out)
	}
	if ts := storedTenants(t, store.Options{Driver: "sqlite", Path: filepath.Join(dir, "tenants.db"), EncryptionKeys: [][]byte{storeKeyA}}); len(ts) != 0 {
		t.Errorf("%d tenant(s) written", len(ts))
	}

	// Two files claiming one domain are refused before anything is written, too.
	other := writeFile(t, dir, "other.yaml", strings.Replace(acmeTenant, "id: acme", "id: other", 1))
	if code, _, errOut := runCmd("tenants", "import", "--config", cfg, filepath.Join(dir, "acme.yaml"), other); code != 1 ||
		!strings.Contains(errOut, other+`: domains: domain "acme.com" is also in `) {
		t.Errorf("import of a shared domain = %d:\n%s", code, errOut)
	}
}

func TestTenantsExportAndList(t *testing.T) {
	dir := tenantDir(t)
	cfg := platformConfig(t, dir, sqliteSection(dir, storeKeyA))
	mustRun(t, "tenants", "import", "--config", cfg, filepath.Join(dir, "acme.yaml"))

	out := t.TempDir()
	code, stdout, stderr := runCmd("tenants", "export", "--config", cfg, "--dir", out, "--with-secrets", "acme")
	if code != 0 || !strings.Contains(stderr, "warning: the output holds the tenants' secrets") || !strings.Contains(stdout, "acme.yaml  version 1") {
		t.Fatalf("export --with-secrets = %d\n%s\n%s", code, stdout, stderr)
	}
	path := filepath.Join(out, "acme.yaml")
	data, err := os.ReadFile(path)
	info, _ := os.Stat(path)
	if err != nil || !strings.Contains(string(data), "client_secret: idp-secret-value") || info.Mode().Perm() != 0o600 {
		t.Fatalf("exported with secrets (%v, mode %v):\n%s", err, info.Mode(), data)
	}
	mustRun(t, "tenants", "export", "--config", cfg, "--dir", out)
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o644 {
		t.Errorf("export without secrets: mode %v, want 0644", info.Mode())
	}
	if code, _, stderr := runCmd("tenants", "export", "--config", cfg, "globex"); code != 1 || !strings.Contains(stderr, `there is no tenant "globex"`) {
		t.Errorf("export of a missing tenant = %d %s", code, stderr)
	}

	table := mustRun(t, "tenants", "list", "--config", cfg)
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "ID    NAME       VERSION  UPDATED") ||
		!strings.HasPrefix(lines[1], "acme  Acme Corp  1 ") || !strings.HasSuffix(lines[1], "acme.com") {
		t.Errorf("list:\n%s", table)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "tenants", "list", "--config", cfg, "--json")), &listed); err != nil ||
		len(listed) != 1 || listed[0]["id"] != "acme" || listed[0]["version"] != 1.0 {
		t.Errorf("list --json: %v %v", listed, err)
	}
}

func TestPlatformUsage(t *testing.T) {
	dir := t.TempDir()
	cfg := platformConfig(t, dir, sqliteSection(dir, storeKeyA))
	single := writeFile(t, dir, "single.yaml", "server: {public_url: \"https://bridge.example.com\"}\n")
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"tenants"}, 2, "Usage: fuyun-bridge tenants <command>"},
		{[]string{"tenants", "frob"}, 2, `unknown command "frob"`},
		{[]string{"tenants", "import", "--config", cfg}, 2, "name at least one tenant file"},
		{[]string{"tenants", "list"}, 2, "--config FILE is required"},
		{[]string{"tenants", "list", "--config", single}, 1, "platform mode is off: set store.driver"},
		{[]string{"tenants", "import", "--config", cfg, filepath.Join(dir, "missing.yaml")}, 1, "missing.yaml: cannot read the file"},
		{[]string{"store", "migrate", "--config", cfg, "--to", "1", "--down"}, 2, "not both"},
		{[]string{"admin", "apikey"}, 2, "--id NAME is required"},
		{[]string{"admin", "apikey", "--id", "ops", "--tenants", "Acme"}, 2, `"Acme" is not a tenant id`},
	} {
		if code, _, stderr := runCmd(tc.args...); code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%v = %d %q, want %d with %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
	if code, stdout, _ := runCmd("store", "--help"); code != 0 || !strings.Contains(stdout, "rotate-keys") {
		t.Errorf("store --help = %d %s", code, stdout)
	}
}
