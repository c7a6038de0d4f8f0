package bridge

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// TestTenantLabelIsBounded: however many tenants log in, concurrently or not, at most maxTenantLabels get a
// label value of their own; the rest share "other", and a tenant keeps the value it got.
func TestTenantLabelIsBounded(t *testing.T) {
	m := NewMetrics()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxTenantLabels + 300 {
				m.tenantLabel(fmt.Sprintf("tenant-%d", (i*7+w)%(maxTenantLabels+300)))
			}
		}()
	}
	wg.Wait()
	own := 0
	for i := range maxTenantLabels + 300 {
		id := fmt.Sprintf("tenant-%d", i)
		switch got := m.tenantLabel(id); got {
		case id:
			own++
		case "other":
		default:
			t.Fatalf("tenant %s labelled %q", id, got)
		}
	}
	if own != maxTenantLabels {
		t.Fatalf("%d tenants have a label of their own, want %d", own, maxTenantLabels)
	}
}

// TestIdleTenantServersAreDropped: a tenant's server is built on its first request, dropped after the idle
// time without one, built again on the next.
func TestIdleTenantServersAreDropped(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	p := testPlatform(t, clock, "acme", "globex")
	e := p.table.Load().byID["acme"]
	if e.srv.Load() != nil {
		t.Fatal("built before any request")
	}
	first, err := e.server(p)
	if err != nil {
		t.Fatal(err)
	}
	if d, b := p.dropIdle(time.Minute); d != 0 || b != 1 {
		t.Fatalf("fresh: dropped %d, built %d", d, b)
	}
	now.Add(int64(2 * time.Minute))
	if d, b := p.dropIdle(time.Minute); d != 1 || b != 0 || e.srv.Load() != nil {
		t.Fatalf("idle: dropped %d, built %d", d, b)
	}
	again, err := e.server(p)
	if err != nil || again == first || again == nil {
		t.Fatalf("rebuilt %p after %p: %v", again, first, err)
	}
}

// testPlatform is a platform over a fresh SQLite store holding minimal tenants ids (no upstream is ever
// called: building a tenant's server makes no network call), loaded.
func testPlatform(t *testing.T, now func() time.Time, ids ...string) *Platform {
	t.Helper()
	key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	cfg, err := config.Parse([]byte(fmt.Sprintf(`server: {public_url: "http://127.0.0.1:9"}
session: {keys: [%q]}
cookie: {secure: false}
store: {driver: sqlite, path: %q, encryption_keys: [%q]}
`, key+":"+key, filepath.Join(t.TempDir(), "t.db"), key)), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", Path: cfg.Store.Path, EncryptionKeys: cfg.Store.Keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, id := range ids {
		ct, err := config.ParseTenant([]byte(fmt.Sprintf(`id: %s
fuyun: {client_id: c, client_secret: s, redirect_url: "https://crm.example/cb", app_name: app}
providers:
  - {id: corp, type: oidc, issuer: "http://127.0.0.1:9/idp", client_id: c, client_secret: s, mapping: {field: email}}
`, id)), config.TenantOptions{PublicURL: cfg.Server.PublicURL})
		if err != nil {
			t.Fatal(err)
		}
		doc, secrets, err := ct.Split()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Create(context.Background(), store.Tenant{ID: id, Config: doc, Secrets: secrets}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := NewPlatform(cfg, st, BuildOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.loadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKeepWarmFollowsReload: the keep-warm loop runs for the root of the running configuration — after a
// reload, the new root's identity provider is the one warmed.
func TestKeepWarmFollowsReload(t *testing.T) {
	hits := func() (*httptest.Server, *atomic.Int32) {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			http.NotFound(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv, &n
	}
	oldIdP, oldHits := hits()
	newIdP, newHits := hits()
	fuyunStub, _ := hits()
	key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	file := func(issuer string) *config.Config {
		cfg, err := config.Parse([]byte(fmt.Sprintf(`server: {public_url: "http://127.0.0.1:9"}
session: {keys: [%q]}
cookie: {secure: false}
store: {driver: sqlite, path: %q, encryption_keys: [%q]}
fuyun: {token_url: %q, client_id: c, client_secret: s, redirect_url: "https://crm.example/cb", app_name: app}
providers:
  - {id: corp, type: oidc, issuer: %q, client_id: c, client_secret: s, mapping: {field: email}}
`, key+":"+key, filepath.Join(t.TempDir(), "t.db"), key, fuyunStub.URL, issuer)), config.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := file(oldIdP.URL)
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", Path: cfg.Store.Path, EncryptionKeys: cfg.Store.Keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := NewPlatform(cfg, st, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.KeepWarm(ctx)
	waitFor := func(what string, n *atomic.Int32) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); n.Load() == 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s was never warmed", what)
			}
		}
	}
	waitFor("the first root's IdP", oldHits)
	if err := p.Reload(file(newIdP.URL), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the reloaded root's IdP", newHits)
}

// TestRefreshAppliesABatch: tenants read together are published as one snapshot — a changed one at its new
// version, a deleted one gone — and a tenant already current keeps its entry, and so its built server.
func TestRefreshAppliesABatch(t *testing.T) {
	p := testPlatform(t, time.Now, "acme", "globex", "initech")
	ctx := context.Background()
	initech := p.table.Load().byID["initech"]
	if _, err := initech.server(p); err != nil {
		t.Fatal(err)
	}
	acme, err := p.store.Get(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	acme.DisplayName = "Acme Inc"
	if _, err := p.store.Update(ctx, acme, acme.Version); err != nil {
		t.Fatal(err)
	}
	if err := p.store.Delete(ctx, "globex", 1); err != nil {
		t.Fatal(err)
	}
	before := p.table.Load()
	pending := map[string]bool{"acme": true, "globex": true, "initech": true}
	if err := p.refresh(ctx, pending); err != nil || len(pending) != 0 {
		t.Fatalf("refresh: %v, %d left pending", err, len(pending))
	}
	after := p.table.Load()
	if after == before || after.byID["acme"].rec.Version != 2 || after.byID["globex"] != nil || after.byID["initech"] != initech ||
		initech.srv.Load() == nil || len(after.byID) != 2 {
		t.Fatalf("snapshot after the batch: %v", after.byID)
	}
}

// TestBuiltTenantCost measures what a tenant's server (one OpenID Connect provider, before its first login
// loads discovery and keys) adds to the heap once built, and bounds it: the figure in docs/platform.md.
func TestBuiltTenantCost(t *testing.T) {
	n := 1000
	if raceEnabled {
		n = 100 // the detector's shadow memory would be measured too
	}
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("t%d", i))
	}
	p := testPlatform(t, time.Now, ids...)
	var before, after runtime.MemStats
	debug.FreeOSMemory()
	runtime.ReadMemStats(&before)
	built := make([]*Server, 0, n)
	for _, e := range p.table.Load().byID {
		s, err := e.server(p)
		if err != nil {
			t.Fatal(err)
		}
		built = append(built, s)
	}
	debug.FreeOSMemory()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / 1024 / float64(len(built))
	t.Logf("%d tenants' servers built: %.1f KiB of heap each", len(built), per)
	if !raceEnabled && per > 256 {
		t.Errorf("a built tenant holds %.1f KiB, want under 256 KiB", per)
	}
	runtime.KeepAlive(built)
}
