package main

import (
	"maps"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

func TestStoreMigrate(t *testing.T) {
	dir := t.TempDir()
	cfg := platformConfig(t, dir, sqliteSection(dir, storeKeyA))
	for _, step := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 0, "schema moved from version 0 to 1\n", ""},
		{nil, 0, "schema at version 1; nothing to do\n", ""},
		{[]string{"--down"}, 1, "", "say --to 0 to mean it"},
		{[]string{"--to", "0"}, 0, "schema moved from version 1 to 0\n", ""},
		{[]string{"--to", "1"}, 0, "schema moved from version 0 to 1\n", ""},
		{[]string{"--to", "-1"}, 2, "", "a version is 0 or more"},
	} {
		args := append([]string{"store", "migrate", "--config", cfg}, step.args...)
		if code, stdout, stderr := runCmd(args...); code != step.code || stdout != step.stdout || !strings.Contains(stderr, step.stderr) {
			t.Errorf("%v = %d %q %q, want %d %q %q", step.args, code, stdout, stderr, step.code, step.stdout, step.stderr)
		}
	}
}

// TestStoreRotateKeys: with a new key first, rotate-keys re-seals every tenant under it, after which the old
// key can go.
func TestStoreRotateKeys(t *testing.T) {
	dir := tenantDir(t)
	mustRun(t, "tenants", "import", "--config", platformConfig(t, dir, sqliteSection(dir, storeKeyA)), filepath.Join(dir, "acme.yaml"))

	both := platformConfig(t, dir, sqliteSection(dir, storeKeyB, storeKeyA))
	out := mustRun(t, "store", "rotate-keys", "--config", both)
	if !strings.HasPrefix(out, "re-encrypted 1 tenant(s) under key "+store.KeyID(storeKeyB)) || !strings.Contains(out, "remove the other 1 key(s)") {
		t.Errorf("rotate-keys:\n%s", out)
	}
	if out := mustRun(t, "store", "rotate-keys", "--config", both); !strings.HasPrefix(out, "re-encrypted 0 tenant(s)") {
		t.Errorf("second rotate-keys:\n%s", out)
	}
	ts := storedTenants(t, store.Options{Driver: "sqlite", Path: filepath.Join(dir, "tenants.db"), EncryptionKeys: [][]byte{storeKeyB}})
	if len(ts) != 1 || !maps.Equal(ts[0].Secrets, acmeSecrets) {
		t.Errorf("read with the new key only: %+v", ts)
	}
}

func TestAdminAPIKey(t *testing.T) {
	out := mustRun(t, "admin", "apikey", "--id", "ops", "--tenants", "acme,globex")
	key := regexp.MustCompile(`fbk_ops\.[A-Za-z0-9_-]+`).FindString(out)
	line := regexp.MustCompile(`(?m)^ops:sha256:[0-9a-f]{64}$`).FindString(out)
	keys, err := apikeys.Parse(strings.NewReader(line), "keys")
	if err != nil || key == "" {
		t.Fatalf("no key or keys-file line (%v):\n%s", err, out)
	}
	if id, ok := keys.Verify(key); !ok || id != "ops" {
		t.Errorf("the printed line does not verify the printed key")
	}
	scopes := out[strings.Index(out, "admin:\n"):]
	if scopes != "admin:\n  scopes:\n    ops: [acme, globex]\n" {
		t.Errorf("scopes:\n%s", scopes)
	}
	if out := mustRun(t, "admin", "apikey", "--id", "root"); strings.Contains(out, "scopes") {
		t.Errorf("a key for every tenant printed scopes:\n%s", out)
	}
}
