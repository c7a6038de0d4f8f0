package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platform"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// loadTenant is the tenant a -platform run logs in at; the others are t1, t2, … and only loaded.
const loadTenant = "t0"

// maxPlatform bounds -platform: a tenant is about 2.5 KB in the store and 4 KiB in the bridge.
const maxPlatform = 100_000

// tenantPath is where tenant id's paths start: /t/{id}.
func tenantPath(id string) string { return "/t/" + id }

// storeYAML is the bridge's store section of a -platform run: a SQLite file and a fresh encryption key.
func storeYAML(path string) string {
	return fmt.Sprintf("store:\n  driver: sqlite\n  path: %q\n  encryption_keys: [%q]\n", path, random(32))
}

// writeStore writes the store of the bridge's config at cfgPath with n tenants and returns how long opening,
// writing and closing it took. Tenant t0's document is company — the single-tenant config's redirects, fuyun
// and providers — read as `tenants import` reads a file (its *_file keys too); the n-1 others are copies with
// their own id, name and email domain, written store.MaxCreateMany per transaction.
func writeStore(ctx context.Context, cfgPath, company string, n int) (time.Duration, error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return 0, err
	}
	doc := fmt.Sprintf("id: %s\ndisplay_name: Load tenant %[1]s\ndomains: [example.com]\n%s", loadTenant, company)
	ct, err := config.ParseTenant([]byte(doc), config.TenantOptions{Name: "tenant " + loadTenant,
		PublicURL: cfg.Server.PublicURL, AllowFiles: true})
	if err != nil {
		return 0, fmt.Errorf("tenant %s: %w", loadTenant, err)
	}
	t0, err := platform.Record(ct)
	if err != nil {
		return 0, err
	}
	all, err := copies(t0, n)
	if err != nil {
		return 0, err
	}
	for _, suffix := range []string{"", "-wal", "-shm"} { // a -keep directory's earlier run
		if err := os.Remove(cfg.Store.Path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	start := time.Now()
	st, err := store.Open(ctx, platform.StoreOptions(cfg, nil))
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	for len(all) > 0 {
		batch := all[:min(len(all), store.MaxCreateMany)]
		if _, err := st.CreateMany(ctx, batch); err != nil {
			st.Close()
			return 0, fmt.Errorf("writing %d tenants: %w", n, err)
		}
		all = all[len(batch):]
	}
	if err := st.Close(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// copies is t0 and n-1 tenants shaped like it: t1, t2, … with email domains t1.example.com, … and the same
// providers, Fuyun registration and secrets.
func copies(t0 store.Tenant, n int) ([]store.Tenant, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(t0.Config, &root); err != nil || root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, fmt.Errorf("tenant %s: its stored document does not read back: %v", loadTenant, err)
	}
	id, name, domains := mapValue(root.Content[0], "id"), mapValue(root.Content[0], "display_name"), mapValue(root.Content[0], "domains")
	if id == nil || name == nil || domains == nil || len(domains.Content) != 1 {
		return nil, fmt.Errorf("tenant %s: its stored document lacks id, display_name or its one domain", loadTenant)
	}
	all := make([]store.Tenant, 0, n)
	all = append(all, t0)
	for i := 1; i < n; i++ {
		t := t0
		t.ID = "t" + strconv.Itoa(i)
		t.DisplayName, t.Domains = "Load tenant "+t.ID, []string{t.ID + ".example.com"}
		id.Value, name.Value, domains.Content[0].Value = t.ID, t.DisplayName, t.Domains[0]
		b, err := yaml.Marshal(&root)
		if err != nil {
			return nil, err
		}
		t.Config = b
		all = append(all, t)
	}
	return all, nil
}

// mapValue is the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
