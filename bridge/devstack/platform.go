package devstack

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/admin"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platform"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
	"github.com/fuyun-bridge/fuyun-bridge/providers/devidp"
)

// platformTenants are the platform demo's tenants (id, display name). Each has its own dev IdP (users alice, bob
// and carol @{id}.example) and its own registration at the one Fuyun emulator. All but the last are in the
// store at start; the last is the one the printed curl creates through the admin API.
var platformTenants = []struct{ id, name string }{{"acme", "Acme Corp"}, {"globex", "Globex"}, {"initech", "Initech"}}

// PlatformStack is a running platform-mode demo: the bridge serving a SQLite store of tenants, the admin API,
// a dev IdP per tenant and the Fuyun emulator. Close stops it and removes Dir.
type PlatformStack struct {
	BridgeURL string // e.g. http://127.0.0.1:8080; tenant acme is at {BridgeURL}/t/acme/
	AdminURL  string // the admin API's listener, e.g. http://127.0.0.1:40123
	AdminKey  string // a key of the admin API, for "Authorization: Bearer"
	FuyunURL  string
	IdPURLs   map[string]string // tenant id → its dev IdP
	// Tenants are the tenants in the store at start (acme, globex); NewTenant (initech) is known to its IdP
	// and to the Fuyun emulator but not to the store until CreateCommand runs.
	Tenants   []string
	NewTenant string
	// Dir is the temporary directory of the store, the admin keys file and NewTenantFile.
	Dir string
	// NewTenantFile is NewTenant's JSON document, to POST to the admin API (see CreateCommand).
	NewTenantFile string

	Platform *bridge.Platform
	Fuyun    *fuyunsim.Server
	Config   *config.Config

	services
}

// tenantSetup is what the demo generates for one tenant: the secrets its IdP and Fuyun registration share
// with its document, and in JWT mode its signing key.
type tenantSetup struct {
	id, name, domain     string
	idpURL               string
	idpSecret, crmSecret string
	jwtKey               *rsa.PrivateKey // nil: OAuth mode
}

// StartPlatform starts platform mode on loopback with no configuration: configs/dev-platform.yaml over a
// SQLite store in a new temporary directory, with two demo tenants (Tenants) in the store, and serves everything in
// the background.
func StartPlatform(opts Options) (ps *PlatformStack, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fuyun-bridge-dev-platform-")
	if err != nil {
		return nil, err
	}
	ps = &PlatformStack{Dir: dir, IdPURLs: map[string]string{}}
	var lns listeners
	defer func() {
		if err != nil {
			lns.close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = ps.Close(ctx)
		}
	}()
	ps.closers = append(ps.closers, func() { _ = os.RemoveAll(dir) })
	bridgeLn, bridgeURL, err := lns.listen(opts.Listen)
	if err != nil {
		return nil, err
	}
	adminLn, adminURL, err := lns.listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fuyunLn, fuyunURL, err := lns.listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ps.BridgeURL, ps.AdminURL, ps.FuyunURL = bridgeURL, adminURL, fuyunURL

	var key, keysLine string
	if key, keysLine, err = apikeys.Generate("dev"); err != nil {
		return nil, err
	}
	ps.AdminKey = key
	keysFile := filepath.Join(dir, "admin_keys")
	if err := os.WriteFile(keysFile, []byte(keysLine+"\n"), 0o600); err != nil {
		return nil, err
	}
	storeKey := make([]byte, 32)
	_, _ = rand.Read(storeKey)
	env := map[string]string{
		"DEV_LISTEN":          bridgeLn.Addr().String(),
		"DEV_BRIDGE_URL":      bridgeURL,
		"DEV_SESSION_KEY":     random(32) + ":" + random(32),
		"DEV_STORE_PATH":      filepath.Join(dir, "tenants.db"),
		"DEV_STORE_KEY":       base64.StdEncoding.EncodeToString(storeKey),
		"DEV_ADMIN_LISTEN":    adminLn.Addr().String(),
		"DEV_ADMIN_KEYS_FILE": keysFile,
	}
	cfg, err := devConfig("dev-platform.yaml", env)
	if err != nil {
		return nil, err
	}
	ps.Config = cfg

	var tenants []*tenantSetup
	var crmClients []fuyunsim.Client
	for i, tn := range platformTenants {
		if i < len(platformTenants)-1 {
			ps.Tenants = append(ps.Tenants, tn.id)
		} else {
			ps.NewTenant = tn.id
		}
		t, crm, err := ps.startIdP(&lns, opts.Logger, tn.id, tn.name)
		if err != nil {
			return nil, err
		}
		tenants = append(tenants, t)
		crmClients = append(crmClients, crm)
	}
	ps.Fuyun, err = fuyunsim.New(fuyunsim.Config{Issuer: fuyunURL, TokenTTL: fuyunsim.DefaultTokenTTL,
		Clients: crmClients, Agents: demoAgents()}, fuyunsim.Options{Logger: opts.Logger.With("component", "fuyun-sim")})
	if err != nil {
		return nil, fmt.Errorf("fuyun emulator: %w", err)
	}
	ps.serve(fuyunLn, ps.Fuyun)

	ctx := context.Background()
	st, err := store.Open(ctx, platform.StoreOptions(cfg, opts.Logger.With("component", "store")))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	ps.closers = append([]func(){func() { _ = st.Close() }}, ps.closers...) // before the directory goes
	for _, t := range tenants {
		doc, err := t.document(bridgeURL, fuyunURL)
		if err != nil {
			return nil, err
		}
		if t.id == ps.NewTenant {
			ps.NewTenantFile = filepath.Join(dir, t.id+".json")
			if err := os.WriteFile(ps.NewTenantFile, doc, 0o600); err != nil {
				return nil, err
			}
			continue
		}
		// The same schema and validator as the admin API's.
		ct, err := config.ParseTenant(doc, config.TenantOptions{Name: "tenant " + t.id, PublicURL: cfg.Server.PublicURL})
		if err != nil {
			return nil, err
		}
		rec, err := platform.Record(ct)
		if err != nil {
			return nil, err
		}
		if _, err := st.Create(ctx, rec); err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.id, err)
		}
	}

	ps.Platform, err = bridge.NewPlatform(cfg, st, bridge.BuildOptions{
		Logger: opts.Logger.With("component", "bridge"), ShowToken: true, Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	adm, err := platform.NewAdmin(cfg, st, admin.Options{Logger: opts.Logger.With("component", "admin"),
		Check: func(ctx context.Context, t store.Tenant) (any, error) { return platform.Check(ctx, cfg, t) }})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); ps.Platform.Run(runCtx) }()
	ps.closers = append([]func(){func() { stop(); <-ran }}, ps.closers...) // before the store closes
	loadCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ps.Platform.WaitLoaded(loadCtx); err != nil {
		return nil, fmt.Errorf("store: the tenants were not loaded within 5s")
	}
	ps.serve(bridgeLn, ps.Platform)
	ps.serve(adminLn, adm)
	return ps, nil
}

// startIdP serves tenant id's dev IdP and returns the tenant's setup with its Fuyun registration: the demo
// tenants sign with their own JWT key, NewTenant uses OAuth mode, so that its document holds no private key.
func (ps *PlatformStack) startIdP(lns *listeners, logger *slog.Logger, id, name string) (*tenantSetup, fuyunsim.Client, error) {
	idpLn, idpURL, err := lns.listen("127.0.0.1:0")
	if err != nil {
		return nil, fuyunsim.Client{}, err
	}
	t := &tenantSetup{id: id, name: name, domain: ps.Domain(id), idpURL: idpURL, idpSecret: random(24), crmSecret: random(24)}
	crm := fuyunsim.Client{ClientID: "crm-" + id, ClientSecret: t.crmSecret, Scopes: []string{"user_management", "hotline"}}
	if id == ps.NewTenant {
		crm.OAuth = &fuyunsim.OAuthClient{AppName: id, UserEndpoint: idpURL + "/userinfo", MappingField: "preferred_username"}
	} else {
		if t.jwtKey, err = fuyun.GenerateKey(); err != nil {
			return nil, crm, err
		}
		crm.JWT = &fuyunsim.JWTClient{Issuer: t.jwtIssuer(ps.BridgeURL), Key: &t.jwtKey.PublicKey}
	}
	idp, err := devidp.New(devidp.Options{
		Issuer:  idpURL,
		Clients: []devidp.Client{{ID: ClientID, Secret: t.idpSecret, RedirectURIs: []string{ps.TenantURL(id) + "callback/dev"}}},
		Users:   t.users(),
		Logger:  logger.With("component", "dev-idp", "tenant", id),
	})
	if err != nil {
		return nil, crm, fmt.Errorf("dev IdP of %s: %w", id, err)
	}
	ps.serve(idpLn, idp)
	ps.IdPURLs[id] = idpURL
	return t, crm, nil
}

// CreateCommand is the curl that creates NewTenant through the admin API.
func (ps *PlatformStack) CreateCommand() string {
	return fmt.Sprintf("curl -s -X POST %s/admin/v1/tenants -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d @%s",
		ps.AdminURL, ps.AdminKey, ps.NewTenantFile)
}

// users are the tenant's dev IdP users: the demo agents, with email addresses at the tenant's domain.
func (t *tenantSetup) users() []devidp.User {
	users := devidp.DemoUsers()
	for i := range users {
		users[i].Subject = t.id + "-" + users[i].Username
		users[i].Email = users[i].Username + "@" + t.domain
	}
	return users
}

// jwtIssuer is the tenant's JWT issuer, as its Fuyun registration knows it.
func (t *tenantSetup) jwtIssuer(bridgeURL string) string { return bridgeURL + "/t/" + t.id }

// document is the tenant as the admin API takes it (JSON): the dev IdP as provider "dev", mapping the email
// at the tenant's domain to the agent, and the tenant's own Fuyun registration.
func (t *tenantSetup) document(bridgeURL, fuyunURL string) ([]byte, error) {
	type jwt struct {
		Issuer     string `json:"issuer"`
		PrivateKey string `json:"private_key"`
	}
	type fuyunDoc struct {
		TokenURL     string `json:"token_url"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Scope        string `json:"scope"`
		RedirectURL  string `json:"redirect_url"`
		Mode         string `json:"mode"`
		AppName      string `json:"app_name,omitempty"`
		JWT          *jwt   `json:"jwt,omitempty"`
	}
	type mapping struct {
		Field           string   `json:"field"`
		Transform       string   `json:"transform,omitempty"`
		RequireVerified bool     `json:"require_verified"`
		AllowedDomains  []string `json:"allowed_domains"`
	}
	type provider struct {
		ID           string   `json:"id"`
		Type         string   `json:"type"`
		DisplayName  string   `json:"display_name"`
		Issuer       string   `json:"issuer"`
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		Scopes       []string `json:"scopes"`
		Mapping      mapping  `json:"mapping"`
	}
	f := fuyunDoc{TokenURL: fuyunURL + fuyunsim.TokenPath, ClientID: "crm-" + t.id, ClientSecret: t.crmSecret,
		Scope: "user_management,hotline", RedirectURL: bridgeURL + "/t/" + t.id + "/callback", Mode: "oauth", AppName: t.id}
	m := mapping{Field: "email", Transform: "lowercase", RequireVerified: true, AllowedDomains: []string{t.domain}}
	if t.jwtKey != nil {
		pem, err := fuyun.MarshalPrivateKeyPEM(t.jwtKey)
		if err != nil {
			return nil, err
		}
		f.Mode, f.AppName, f.JWT = "jwt", "", &jwt{Issuer: t.jwtIssuer(bridgeURL), PrivateKey: string(pem)}
		m.Transform = "strip_domain" // alice@acme.example → alice, the agent's account name
	}
	name := t.name
	doc, err := json.MarshalIndent(struct {
		ID          string     `json:"id"`
		DisplayName string     `json:"display_name"`
		Domains     []string   `json:"domains"`
		Fuyun       fuyunDoc   `json:"fuyun"`
		Providers   []provider `json:"providers"`
	}{t.id, name, []string{t.domain}, f, []provider{{ID: "dev", Type: "oidc", DisplayName: name + " IdP (dev)",
		Issuer: t.idpURL, ClientID: ClientID, ClientSecret: t.idpSecret, Scopes: []string{"openid", "profile", "email"},
		Mapping: m}}}, "", "  ")
	return append(doc, '\n'), err
}

// Domain is tenant id's email domain: alice@{Domain} finds the tenant on the root page.
func (ps *PlatformStack) Domain(id string) string { return id + ".example" }

// TenantURL is tenant id's sign-in page.
func (ps *PlatformStack) TenantURL(id string) string { return ps.BridgeURL + "/t/" + id + "/" }
