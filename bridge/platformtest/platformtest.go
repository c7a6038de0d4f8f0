// Package platformtest is test support for platform mode: a dev IdP and the Fuyun emulator that know a few
// tenants in advance (tenant ids a fixed list: one IdP client and one Fuyun registration each), a tenant store,
// and bridges — one or several replicas — serving that store, with a cookie-jar browser that logs in.
package platformtest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platform"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
	"github.com/fuyun-bridge/fuyun-bridge/providers/devidp"
)

// Tenants are the tenant ids the IdP and the emulator know: tenant X's IdP client is "idp-X" (secret
// "idp-secret-X") and its Fuyun registration "crm-X" (secret "fuyun-secret-X", JWT issuer https://X.example).
var Tenants = []string{"acme", "globex", "initech", "umbrella"}

// EncryptionKey is the store key of every rig (base64).
var EncryptionKey = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))

// Rig is the upstreams of platform mode and the address the bridge is served at.
type Rig struct {
	Public   string // the bridge's URL (one replica's; Replica gives others)
	IdPURL   string
	TokenURL string
	Sim      *fuyunsim.Server
	Keys     map[string]*rsa.PrivateKey // tenant id → its JWT signing key
	// Extra is YAML appended to ConfigYAML's file (other top-level sections), before the replicas start.
	Extra string
	// Logger receives the replicas' logs; nil discards them.
	Logger *slog.Logger
	front  *httptest.Server

	start    sync.Once
	mu       sync.Mutex
	replicas []*Bridge
	next     int
}

// New starts the dev IdP (users alice, bob, carol) and the emulator (agents alice, bob, carol) for Tenants,
// with the bridge's address reserved; everything stops when the test ends.
func New(t testing.TB) *Rig {
	t.Helper()
	front := httptest.NewUnstartedServer(nil)
	t.Cleanup(front.Close)
	r := &Rig{Public: "http://" + front.Listener.Addr().String(), Keys: map[string]*rsa.PrivateKey{}, front: front}
	idpSrv := httptest.NewUnstartedServer(nil)
	t.Cleanup(idpSrv.Close)
	r.IdPURL = "http://" + idpSrv.Listener.Addr().String()
	var idpClients []devidp.Client
	var simClients []fuyunsim.Client
	for _, id := range Tenants {
		key, err := fuyun.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		r.Keys[id] = key
		idpClients = append(idpClients, devidp.Client{ID: "idp-" + id, Secret: "idp-secret-" + id,
			RedirectURIs: []string{r.Public + "/t/" + id + "/callback/dev"}})
		simClients = append(simClients, fuyunsim.Client{ClientID: "crm-" + id, ClientSecret: "fuyun-secret-" + id,
			Scopes: []string{"user_management", "hotline"},
			JWT:    &fuyunsim.JWTClient{Issuer: "https://" + id + ".example", Key: &key.PublicKey}})
	}
	idp, err := devidp.New(devidp.Options{Issuer: r.IdPURL, Clients: idpClients})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = idp
	idpSrv.Start()
	var agents []fuyunsim.Agent
	for _, u := range devidp.DemoUsers() {
		agents = append(agents, fuyunsim.Agent{AccountName: u.Username, Email: u.Email})
	}
	r.Sim, err = fuyunsim.New(fuyunsim.Config{Issuer: "http://fuyun.test", Clients: simClients, Agents: agents}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(r.Sim)
	t.Cleanup(simSrv.Close)
	r.TokenURL = simSrv.URL + fuyunsim.TokenPath
	return r
}

// TenantYAML is tenant id's document: domain {id}.example, the dev IdP as provider "dev" (mapping
// preferred_username) and its own Fuyun registration in JWT mode, secrets and key inline.
func (r *Rig) TenantYAML(id string) string {
	pem, err := fuyun.MarshalPrivateKeyPEM(r.Keys[id])
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`id: %s
display_name: %s Corp
domains: [%s.example]
redirects: {allowed: ["https://crm.%s.example"]}
fuyun:
  token_url: %q
  client_id: crm-%s
  client_secret: fuyun-secret-%s
  redirect_url: https://crm.%s.example/callback
  mode: jwt
  jwt: {issuer: "https://%s.example", private_key: %q}
providers:
  - id: dev
    type: oidc
    display_name: %s IdP
    issuer: %q
    client_id: idp-%s
    client_secret: idp-secret-%s
    mapping: {field: preferred_username, require_verified: false}
`, id, strings.ToUpper(id[:1])+id[1:], id, id, r.TokenURL, id, id, id, id, string(pem), id, r.IdPURL, id, id)
}

// Record parses a tenant document as the admin API would and returns what the store keeps.
func (r *Rig) Record(t testing.TB, doc string) store.Tenant {
	t.Helper()
	ct, err := config.ParseTenant([]byte(doc), config.TenantOptions{PublicURL: r.Public})
	if err != nil {
		t.Fatalf("tenant document: %v", err)
	}
	cfgDoc, secrets, err := ct.Split()
	if err != nil {
		t.Fatal(err)
	}
	return store.Tenant{ID: ct.ID, DisplayName: ct.DisplayName, Domains: ct.Domains, Hosts: ct.Hosts, Config: cfgDoc, Secrets: secrets}
}

// Fill writes n tenants through st, a transaction per store.MaxCreateMany: acme, which logs in, and n-1
// copies of its document (ids t-00001, t-00002, …, each with its own domain t-NNNNN.example), records of a
// real tenant's size whose own logins the IdP and the emulator do not know.
func (r *Rig) Fill(t testing.TB, st *store.Store, n int) {
	t.Helper()
	acme := r.Record(t, r.TenantYAML("acme"))
	all := []store.Tenant{acme}
	for i := 1; i < n; i++ {
		id := fmt.Sprintf("t-%05d", i)
		c := acme
		c.ID, c.DisplayName, c.Domains = id, "Tenant "+id, []string{id + ".example"}
		c.Config = bytes.ReplaceAll(acme.Config, []byte("acme"), []byte(id))
		all = append(all, c)
	}
	for len(all) > 0 {
		batch := all[:min(len(all), store.MaxCreateMany)]
		if _, err := st.CreateMany(context.Background(), batch); err != nil {
			t.Fatalf("writing %d tenants: %v", n, err)
		}
		all = all[len(batch):]
	}
}

// ConfigYAML is the bridge's file for a store (driver and where): no providers of its own, the rig's session
// key and store key, a fast poll.
func (r *Rig) ConfigYAML(driver, where string) string {
	sk := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))
	loc := "path: " + fmt.Sprintf("%q", where)
	if driver == "postgres" {
		loc = "dsn: " + fmt.Sprintf("%q", where)
	}
	return fmt.Sprintf(`server: {public_url: %q, listen: "127.0.0.1:0"}
session: {keys: [%q]}
cookie: {secure: false}
store:
  driver: %s
  %s
  encryption_keys: [%q]
  poll_interval: 100ms
admin: {listen: "127.0.0.1:0"}
%s`, r.Public, sk+":"+sk, driver, loc, EncryptionKey, r.Extra)
}

// SQLite is a store path in a fresh temporary directory.
func SQLite(t testing.TB) string { return filepath.Join(t.TempDir(), "tenants.db") }

// Bridge is one replica: its platform, its store and the URL it is served at.
type Bridge struct {
	URL      string
	Platform *bridge.Platform
	Store    *store.Store
	Config   *config.Config
}

// Open parses ConfigYAML(driver, where) and opens its store (closed when the test ends).
func (r *Rig) Open(t testing.TB, driver, where string) (*config.Config, *store.Store) {
	t.Helper()
	cfg, err := config.Parse([]byte(r.ConfigYAML(driver, where)), config.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), platform.StoreOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return cfg, st
}

// Serve runs a platform replica over the store, waits until it has loaded the tenants, and serves it at the
// rig's public URL, the only replica there.
func (r *Rig) Serve(t testing.TB, driver, where string) *Bridge {
	t.Helper()
	b := r.Replica(t, driver, where)
	r.Balance(b)
	return b
}

// Replica runs a platform replica over the store, on its own address (Bridge.URL), and waits until it has
// loaded the tenants. Balance puts it behind the public URL.
func (r *Rig) Replica(t testing.TB, driver, where string) *Bridge {
	t.Helper()
	b := r.replica(t, driver, where)
	srv := httptest.NewServer(b.Platform)
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

// Release frees the public URL's address for a bridge that another process serves there (a `serve` under
// test); Balance cannot be used afterwards.
func (r *Rig) Release() string {
	addr := r.front.Listener.Addr().String()
	r.front.Listener.Close()
	return addr
}

// Balance serves the public URL with replicas in turn, request by request, as a load balancer without
// stickiness would: a login's /login, callback and handoff may each reach another replica.
func (r *Rig) Balance(replicas ...*Bridge) {
	r.mu.Lock()
	r.replicas = replicas
	r.mu.Unlock()
	r.start.Do(func() {
		r.front.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			r.mu.Lock()
			b := r.replicas[r.next%len(r.replicas)]
			r.next++
			r.mu.Unlock()
			b.Platform.ServeHTTP(w, req)
		})
		r.front.Start()
	})
}

func (r *Rig) replica(t testing.TB, driver, where string) *Bridge {
	t.Helper()
	cfg, st := r.Open(t, driver, where)
	p, err := bridge.NewPlatform(cfg, st, bridge.BuildOptions{Logger: r.Logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	Eventually(t, 5*time.Second, func() error {
		if !p.Loaded() {
			return fmt.Errorf("tenants not loaded")
		}
		return nil
	})
	return &Bridge{Platform: p, Store: st, Config: cfg}
}

// Eventually retries f every 20ms until it returns nil or d has passed (then the test fails with f's error).
func Eventually(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Result is where a login ended.
type Result struct {
	Status  int
	URL     *url.URL // the last request's URL
	Body    string
	ACToken string // "" when the bridge set none
}

// Browser is a cookie jar that follows redirects.
type Browser struct {
	Client *http.Client
	Jar    *cookiejar.Jar
}

// NewBrowser is an empty browser.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{Client: &http.Client{Jar: jar}, Jar: jar}
}

// Get fetches u, following redirects, and reports where it ended and the AC_TOKEN the browser holds for
// the host it ended at.
func (b *Browser) Get(t testing.TB, u string) Result {
	t.Helper()
	res, err := b.Fetch(u)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Fetch is Get for a goroutine other than the test's: a request that fails is an error, not a failed test.
func (b *Browser) Fetch(u string) (Result, error) {
	resp, err := b.Client.Get(u)
	if err != nil {
		return Result{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return Result{}, err
	}
	res := Result{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body)}
	for _, ck := range b.Jar.Cookies(resp.Request.URL) {
		if ck.Name == "AC_TOKEN" {
			res.ACToken = ck.Value
		}
	}
	return res, nil
}

// Login signs user in at tenant id's provider "dev" through base (a bridge URL) in a fresh browser.
func Login(t testing.TB, base, tenant, user string) Result {
	t.Helper()
	return NewBrowser().Get(t, base+"/t/"+tenant+"/login/dev?login_hint="+url.QueryEscape(user))
}
