package config

import (
	"bytes"
	"errors"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestLoadFull(t *testing.T) {
	t.Setenv("FUYUN_CLIENT_ID", "fuyun-client-id")
	t.Setenv("MS_CLIENT_ID", "ms-client-id")
	t.Setenv("MS_CLIENT_SECRET", "ms-client-secret")
	cfg, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Load resolves against the config file's directory as given, here relative.
	rel := func(p string) string { return filepath.Join("testdata", p) }

	yes, no := true, false
	s := cfg.Server
	if s.Listen != ":8443" || s.PublicURL != "https://bridge.example.com" || s.MetricsListen != "127.0.0.1:9090" {
		t.Errorf("server = %+v", s)
	}
	if s.PublicBase == nil || s.PublicBase.String() != "https://bridge.example.com" {
		t.Errorf("PublicBase = %v", s.PublicBase)
	}
	if want := []string{"10.0.0.0/8", "192.168.1.10"}; !reflect.DeepEqual(s.TrustedProxies, want) {
		t.Errorf("trusted_proxies = %v", s.TrustedProxies)
	}
	if s.TLS != (TLS{CertFile: rel("tls/cert.pem"), KeyFile: rel("tls/key.pem")}) {
		t.Errorf("tls = %+v", s.TLS)
	}

	wantPairs := []KeyPair{
		{Hash: bytes.Repeat([]byte{'A'}, 32), Block: bytes.Repeat([]byte{0xa5}, 32)},
		{Hash: bytes.Repeat([]byte{'B'}, 32), Block: bytes.Repeat([]byte{0xa6}, 32)},
	}
	if !reflect.DeepEqual(cfg.Session.KeyPairs, wantPairs) {
		t.Errorf("session key pairs = %x", cfg.Session.KeyPairs)
	}

	wantCookie := Cookie{
		Name: "AC_TOKEN", Domain: ".example.com", Secure: &yes, SameSite: "none", Partitioned: true,
		MaxAge: Duration(12 * time.Hour), SameSiteMode: http.SameSiteNoneMode, SecureValue: true,
	}
	if !reflect.DeepEqual(cfg.Cookie, wantCookie) {
		t.Errorf("cookie = %+v\nwant     %+v", cfg.Cookie, wantCookie)
	}
	if want := []string{"https://crm.example.com", "https://*.example.com"}; !reflect.DeepEqual(cfg.Redirects.Allowed, want) {
		t.Errorf("redirects = %v", cfg.Redirects.Allowed)
	}
	if want := []string{"https://crm.example.com"}; !reflect.DeepEqual(cfg.Embed.AllowedOrigins, want) {
		t.Errorf("embed = %v", cfg.Embed.AllowedOrigins)
	}

	wantFuyun := Fuyun{
		TokenURL: "https://signin.rhinokeen.com/oauth/token_exchange", ClientID: "fuyun-client-id",
		ClientSecret: "full-fuyun-client-secret", ClientSecretFile: rel("secrets/fuyun_client_secret"),
		Scope: "user_management,hotline", RedirectURL: "https://bridge.example.com/callback", Mode: ModeOAuth, AppName: "crmapp",
		JWT: FuyunJWT{
			Issuer: "https://crm.example.com", PrivateKeyFile: rel("keys/fuyun-private.pem"),
			PrivateKey: "test-only private key placeholder (config does not parse it; the fuyun package does)",
			TTL:        Duration(2 * time.Minute), KeyID: "2024-06",
		},
		Timeout: Duration(15 * time.Second),
	}
	if !reflect.DeepEqual(cfg.Fuyun, wantFuyun) {
		t.Errorf("fuyun = %+v\nwant    %+v", cfg.Fuyun, wantFuyun)
	}
	if cfg.API.KeysFile != rel("secrets/api_keys") {
		t.Errorf("api.keys_file = %q", cfg.API.KeysFile)
	}
	if cfg.Log.Level != "debug" || cfg.Log.Format != "text" || cfg.Log.SlogLevel != slog.LevelDebug || !cfg.Log.Access {
		t.Errorf("log = %+v", cfg.Log)
	}

	if len(cfg.Providers) != 4 {
		t.Fatalf("%d providers, want 4", len(cfg.Providers))
	}
	ms := cfg.Providers[0]
	msc, _ := ms.Preset.(*providers.MicrosoftConfig)
	if ms.ID != "microsoft" || ms.Type != "microsoft" || ms.DisplayName != "Microsoft" || msc == nil || msc.Tenant != "organizations" ||
		msc.ClientID != "ms-client-id" || msc.ClientSecret != "ms-client-secret" ||
		ms.RedirectURL != "https://bridge.example.com/callback/microsoft" || ms.Mode() != ModeJWT ||
		!reflect.DeepEqual(msc.AllowedTenants, []string{"72f988bf-86f1-41af-91ab-2d7cd011db47"}) ||
		!reflect.DeepEqual(msc.Scopes, []string{"openid", "profile", "email"}) {
		t.Errorf("microsoft = %+v %+v", ms, msc)
	}
	m := ms.Mapping
	if m.Field != "email" || !reflect.DeepEqual(m.Fallbacks, []string{"preferred_username", "upn"}) || m.Transform != "lowercase" ||
		m.RequireVerified == nil || !*m.RequireVerified || !reflect.DeepEqual(m.AllowedDomains, []string{"corp.example.com"}) ||
		m.AccountsFile != rel("accounts.csv") {
		t.Errorf("microsoft mapping = %+v", m)
	}

	sf := cfg.Providers[1]
	sfc, _ := sf.Preset.(*providers.SalesforceConfig)
	if sfc == nil {
		t.Fatalf("salesforce preset configuration: %T", sf.Preset)
	}
	if sf.DisplayName != "salesforce" || sfc.Domain != "login.salesforce.com" || sfc.ClientSecret != "full-salesforce-client-secret" ||
		sfc.ClientSecretFile != rel("secrets/salesforce_client_secret") || sf.Mode() != ModeOAuth ||
		sf.RedirectURL != "https://bridge.example.com/callback/salesforce" ||
		sf.Fuyun.ClientID != "fuyun-sf" || sf.Fuyun.ClientSecret != "full-sf-fuyun-client-secret" || sf.Fuyun.AppName != "sfapp" {
		t.Errorf("salesforce = %+v", sf)
	}
	if sf.Mapping.Field != "email" || sf.Mapping.Transform != "none" || sf.Mapping.RequireVerified == nil || !*sf.Mapping.RequireVerified {
		t.Errorf("salesforce mapping defaults = %+v", sf.Mapping)
	}
	if len(sfc.Scopes) == 0 {
		t.Error("salesforce scopes: preset default not applied")
	}

	okta := cfg.Providers[2]
	oktac, _ := okta.Preset.(*providers.OIDCConfig)
	if oktac == nil || oktac.Issuer != "https://corp.okta.com" || okta.Mapping.Field != "phone_number" || okta.Mapping.Transform != "e164" ||
		okta.Mapping.RequireVerified == nil || *okta.Mapping.RequireVerified != no || len(okta.Mapping.Fallbacks) != 0 {
		t.Errorf("okta = %+v mapping %+v", okta, okta.Mapping)
	}
	legacy := cfg.Providers[3]
	lc, _ := legacy.Preset.(*providers.OAuth2Config)
	if lc == nil || lc.AuthURL != "https://sso.example.com/oauth/authorize" || lc.TokenURL != "https://sso.example.com/oauth/token" ||
		lc.UserinfoURL != "https://sso.example.com/api/me" || !reflect.DeepEqual(lc.Scopes, []string{"profile"}) ||
		legacy.Mapping.Field != "data.login" || legacy.Mapping.Transform != "lowercase" {
		t.Errorf("legacy-sso = %+v mapping %+v", legacy, legacy.Mapping)
	}

	if p, ok := cfg.ProviderByID("okta"); !ok || p != &cfg.Providers[2] {
		t.Errorf("ProviderByID(okta) = %v, %v", p, ok)
	}
	if _, ok := cfg.ProviderByID("nope"); ok {
		t.Error("ProviderByID(nope) found something")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadResolvesAgainstFileDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fuyun.secret"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(compose(""), "  client_secret: base-fuyun-secret\n", "  client_secret_file: fuyun.secret\n", 1)
	path := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Fuyun.ClientSecret != "from-file" {
		t.Errorf("client secret = %q", cfg.Fuyun.ClientSecret)
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustParse(t, compose(""), nil, nil)
	if cfg.Server.Listen != ":8080" {
		t.Errorf("listen = %q", cfg.Server.Listen)
	}
	c := cfg.Cookie
	if c.Name != "AC_TOKEN" || c.SameSite != "lax" || c.SameSiteMode != http.SameSiteLaxMode || !c.SecureValue || c.Secure != nil ||
		c.HTTPOnly || c.Partitioned || c.Domain != "" || c.MaxAge.Std() != 720*time.Hour {
		t.Errorf("cookie = %+v", c)
	}
	f := cfg.Fuyun
	if f.TokenURL != "https://signin.rhinokeen.com/oauth/token_exchange" || f.Mode != "oauth" || f.Scope != "user_management,hotline" ||
		f.JWT.TTL.Std() != 5*time.Minute || f.Timeout.Std() != 10*time.Second {
		t.Errorf("fuyun = %+v", f)
	}
	if cfg.Log.Level != "info" || cfg.Log.Format != "json" || cfg.Log.SlogLevel != slog.LevelInfo || cfg.Log.Access {
		t.Errorf("log = %+v", cfg.Log)
	}
	p := cfg.Providers[0]
	if p.DisplayName != "ms" || p.Mode() != ModeOAuth || p.RedirectURL != "https://bridge.example.com/callback/ms" {
		t.Errorf("provider = %+v", p)
	}
	if mc, _ := p.Preset.(*providers.MicrosoftConfig); mc == nil || !reflect.DeepEqual(mc.Scopes, []string{"openid", "profile", "email"}) {
		t.Errorf("scopes of %+v: want the preset's default", p.Preset)
	}
	m := p.Mapping
	if m.Field != "email" || !reflect.DeepEqual(m.Fallbacks, []string{"preferred_username", "upn"}) || m.Transform != "none" ||
		m.RequireVerified == nil || !*m.RequireVerified {
		t.Errorf("mapping = %+v", m)
	}
}

// goodCase is a snippet that must be accepted, with check inspecting the result.
type goodCase struct {
	name    string
	snippet string
	env     map[string]string
	files   map[string]string
	check   func(t *testing.T, c *Config)
}

func TestAccepted(t *testing.T) {
	jwtFuyun := "fuyun:\n  client_id: c\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  mode: jwt\n" +
		"  jwt:\n    issuer: https://crm.example.com\n    private_key: k\n"
	for _, tc := range []goodCase{
		{name: "insecure cookie on http localhost", snippet: "server:\n  public_url: http://localhost:8080\ncookie:\n  secure: false\n",
			check: func(t *testing.T, c *Config) {
				if c.Cookie.SecureValue || c.Cookie.Secure == nil {
					t.Errorf("cookie = %+v", c.Cookie)
				}
			}},
		{name: "insecure cookie on http 127.0.0.1", snippet: "server:\n  public_url: http://127.0.0.1\ncookie:\n  secure: false\n"},
		{name: "insecure cookie on http ::1", snippet: "server:\n  public_url: http://[::1]:8080\ncookie:\n  secure: false\n"},
		{name: "public_url with path, trailing slash trimmed", snippet: "server:\n  public_url: https://example.com/bridge/\n",
			check: func(t *testing.T, c *Config) {
				if c.Server.PublicURL != "https://example.com/bridge" || c.Providers[0].RedirectURL != "https://example.com/bridge/callback/ms" {
					t.Errorf("public_url = %q, redirect = %q", c.Server.PublicURL, c.Providers[0].RedirectURL)
				}
			}},
		{name: "cookie domain equal to host", snippet: "cookie:\n  domain: bridge.example.com\n"},
		{name: "cookie domain parent without dot", snippet: "cookie:\n  domain: Example.COM\n"},
		{name: "strict", snippet: "cookie:\n  same_site: strict\n", check: func(t *testing.T, c *Config) {
			if c.Cookie.SameSiteMode != http.SameSiteStrictMode {
				t.Errorf("SameSiteMode = %v", c.Cookie.SameSiteMode)
			}
		}},
		{name: "origins normalised", snippet: "redirects:\n  allowed: [\"HTTPS://CRM.Example.com/\", \"https://*.Example.com:8443\", \"http://localhost:3000\", \"https://10.1.2.3\"]\n",
			check: func(t *testing.T, c *Config) {
				want := []string{"https://crm.example.com", "https://*.example.com:8443", "http://localhost:3000", "https://10.1.2.3"}
				if !reflect.DeepEqual(c.Redirects.Allowed, want) {
					t.Errorf("allowed = %q", c.Redirects.Allowed)
				}
			}},
		{name: "loopback http endpoints", snippet: "fuyun:\n  token_url: http://127.0.0.1:9999/oauth/token_exchange\n  client_id: c\n  client_secret: s\n" +
			"  redirect_url: http://127.0.0.1:8080/callback\n  app_name: a\nproviders:\n  - id: dev\n    type: oidc\n    issuer: http://localhost:5556/dex\n    client_id: c\n"},
		{name: "jwt everywhere needs no app_name", snippet: jwtFuyun, check: func(t *testing.T, c *Config) {
			if c.Providers[0].Mode() != ModeJWT {
				t.Errorf("mode = %q", c.Providers[0].Mode())
			}
		}},
		{name: "provider overrides to oauth", snippet: strings.Replace(jwtFuyun, "  mode: jwt\n", "  mode: jwt\n  app_name: App01\n", 1) +
			"providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    allowed_tenants: [72f988bf-86f1-41af-91ab-2d7cd011db47]\n    client_id: c\n    fuyun_mode: oauth\n",
			check: func(t *testing.T, c *Config) {
				if c.Providers[0].Mode() != ModeOAuth {
					t.Errorf("mode = %q", c.Providers[0].Mode())
				}
			}},
		{name: "multi-tenant pinned by allowed_domains", snippet: "providers:\n  - id: ms\n    type: microsoft\n    tenant: organizations\n    client_id: c\n    mapping: {allowed_domains: [corp.example.com]}\n"},
		{name: "multi-tenant pinned by require_claims", snippet: "providers:\n  - id: ms\n    type: microsoft\n    tenant: organizations\n    client_id: c\n    mapping: {require_claims: [{claim: tid, values: [72f988bf-86f1-41af-91ab-2d7cd011db47]}]}\n"},
		{name: "single tenant needs no pin", snippet: "providers:\n  - id: ms\n    type: microsoft\n    tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47\n    client_id: c\n"},
		{name: "own field drops preset fallbacks", snippet: "providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    mapping: {field: upn, allowed_domains: [corp.example.com]}\n",
			check: func(t *testing.T, c *Config) {
				if m := c.Providers[0].Mapping; m.Field != "upn" || len(m.Fallbacks) != 0 {
					t.Errorf("mapping = %+v", m)
				}
			}},
		{name: "explicit display name and scopes kept", snippet: "providers:\n  - id: g\n    type: google\n    display_name: Google 账号\n    client_id: c\n    scopes: [openid]\n",
			check: func(t *testing.T, c *Config) {
				p := c.Providers[0]
				if gc, _ := p.Preset.(*providers.GoogleConfig); p.DisplayName != "Google 账号" || gc == nil || !reflect.DeepEqual(gc.Scopes, []string{"openid"}) {
					t.Errorf("provider = %+v %+v", p, p.Preset)
				}
			}},
		{name: "empty values keep defaults", snippet: "cookie:\n  name:\n  max_age:\nlog:\n", check: func(t *testing.T, c *Config) {
			if c.Cookie.Name != "AC_TOKEN" || c.Log.Level != "info" {
				t.Errorf("cookie = %+v log = %+v", c.Cookie, c.Log)
			}
		}},
		{name: "anchors and aliases", snippet: "redirects:\n  allowed: &origins [\"https://crm.example.com\"]\nembed:\n  allowed_origins: *origins\n",
			check: func(t *testing.T, c *Config) {
				if !reflect.DeepEqual(c.Embed.AllowedOrigins, []string{"https://crm.example.com"}) {
					t.Errorf("embed = %v", c.Embed.AllowedOrigins)
				}
			}},
		{name: "jwt ttl bounds inclusive", snippet: "fuyun:\n  client_id: c\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n  jwt: {ttl: 1h}\n"},
		{name: "trusted proxies v6", snippet: "server:\n  public_url: https://bridge.example.com\n  trusted_proxies: [\"fd00::/8\", \"::1\"]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, compose(tc.snippet), tc.env, tc.files)
			if tc.check != nil {
				tc.check(t, cfg)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	env := map[string]string{
		"FUYUN_ID":     "id-from-env",
		"FUYUN_SECRET": "a: b\nc: [d]\n# not a comment",
		"EMPTY":        "",
		"SECURE":       "false",
		"HOST":         "bridge.example.com",
		"NULLISH":      "null",
	}
	doc := "server:\n  public_url: http://127.0.0.1:8080\n" +
		"cookie:\n  secure: ${SECURE}\n" +
		"fuyun:\n  client_id: ${FUYUN_ID}\n  client_secret: ${FUYUN_SECRET}\n  scope: \"$${literal}${EMPTY} $5 $$ ${HOST}\"\n" +
		"  redirect_url: https://${HOST}/callback\n  app_name: a\n  jwt:\n    key_id: ${NULLISH}\n"
	cfg := mustParse(t, compose(doc), env, nil)
	f := cfg.Fuyun
	if f.ClientID != "id-from-env" {
		t.Errorf("client_id = %q", f.ClientID)
	}
	if f.ClientSecret != env["FUYUN_SECRET"] {
		t.Errorf("client_secret = %q, want the variable's value as one scalar", f.ClientSecret)
	}
	if want := "${literal} $5 $$ bridge.example.com"; f.Scope != want {
		t.Errorf("scope = %q, want %q", f.Scope, want)
	}
	if f.RedirectURL != "https://bridge.example.com/callback" {
		t.Errorf("redirect_url = %q", f.RedirectURL)
	}
	if f.JWT.KeyID != "null" {
		t.Errorf("key_id = %q, want the string null", f.JWT.KeyID)
	}
	if cfg.Cookie.SecureValue {
		t.Error("secure: ${SECURE}=false not applied")
	}
}

func TestSecretFiles(t *testing.T) {
	files := map[string]string{
		"/cfg/secrets/fuyun":  "\n  fuyun-from-file \n",
		"/cfg/secrets/ms":     "ms-from-file\n",
		"/keys/fuyun.pem":     "-----PEM PLACEHOLDER-----\n",
		"/cfg/secrets/keys":   "# newest first\n" + keyB + "  # new\n\n" + keyA + "\n",
		"/cfg/accounts.csv":   "a,b\n",
		"/cfg/tls/c.pem":      "c",
		"/cfg/tls/k.pem":      "k",
		"/cfg/secrets/api":    "",
		"/cfg/unused/ignored": "",
	}
	doc := "server:\n  public_url: https://bridge.example.com\n  tls: {cert_file: tls/c.pem, key_file: ./tls/k.pem}\n" +
		"session:\n  keys_file: secrets/keys\n" +
		"fuyun:\n  client_id: c\n  client_secret_file: secrets/fuyun\n  redirect_url: https://b.example.com/cb\n  app_name: a\n" +
		"  jwt:\n    issuer: https://crm.example.com\n    private_key_file: /keys/fuyun.pem\n" +
		"api:\n  keys_file: secrets/api\n" +
		"providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    client_secret_file: secrets/ms\n    fuyun_mode: jwt\n" +
		"    mapping: {accounts_file: accounts.csv}\n"
	cfg := mustParse(t, doc, nil, files)
	if cfg.Fuyun.ClientSecret != "fuyun-from-file" {
		t.Errorf("fuyun secret = %q", cfg.Fuyun.ClientSecret)
	}
	if mc, _ := cfg.Providers[0].Preset.(*providers.MicrosoftConfig); mc == nil || mc.ClientSecret != "ms-from-file" || mc.ClientSecretFile != "/cfg/secrets/ms" {
		t.Errorf("provider secret not read from /cfg/secrets/ms: %+v", cfg.Providers[0].Preset)
	}
	if cfg.Fuyun.JWT.PrivateKey != "-----PEM PLACEHOLDER-----" || cfg.Fuyun.JWT.PrivateKeyFile != "/keys/fuyun.pem" {
		t.Errorf("private key = %q from %q", cfg.Fuyun.JWT.PrivateKey, cfg.Fuyun.JWT.PrivateKeyFile)
	}
	if cfg.Server.TLS != (TLS{CertFile: "/cfg/tls/c.pem", KeyFile: "/cfg/tls/k.pem"}) {
		t.Errorf("tls = %+v", cfg.Server.TLS)
	}
	if cfg.API.KeysFile != "/cfg/secrets/api" || cfg.Providers[0].Mapping.AccountsFile != "/cfg/accounts.csv" {
		t.Errorf("api = %q, accounts = %q", cfg.API.KeysFile, cfg.Providers[0].Mapping.AccountsFile)
	}
	// Rotation: the file's order is kept; the first pair signs.
	want := []KeyPair{
		{Hash: bytes.Repeat([]byte{'B'}, 32), Block: bytes.Repeat([]byte{0xa6}, 32)},
		{Hash: bytes.Repeat([]byte{'A'}, 32), Block: bytes.Repeat([]byte{0xa5}, 32)},
	}
	if !reflect.DeepEqual(cfg.Session.KeyPairs, want) {
		t.Errorf("key pairs = %x", cfg.Session.KeyPairs)
	}
}

func TestSessionKeyEncodingsAndRotation(t *testing.T) {
	hashA, blockA, _ := strings.Cut(keyA, ":")
	// The same keys in all four base64 forms, listed in reverse rotation order.
	url := strings.NewReplacer("+", "-", "/", "_")
	hashRaw := strings.TrimRight(hashA, "=")
	blockStd := strings.NewReplacer("-", "+", "_", "/").Replace(blockA) + "="
	doc := "session:\n  keys:\n    - \"" + keyB + "\"\n    - \"" + hashRaw + ":" + blockStd + "\"\n    - \" " + url.Replace(hashA) + " : " + blockA + " \"\n"
	cfg := mustParse(t, compose(doc), nil, nil)
	if len(cfg.Session.KeyPairs) != 3 {
		t.Fatalf("%d pairs, want 3", len(cfg.Session.KeyPairs))
	}
	if cfg.Session.KeyPairs[0].Hash[0] != 'B' {
		t.Error("first pair is not the first listed")
	}
	for i, kp := range cfg.Session.KeyPairs[1:] {
		if !bytes.Equal(kp.Hash, bytes.Repeat([]byte{'A'}, 32)) || !bytes.Equal(kp.Block, bytes.Repeat([]byte{0xa5}, 32)) {
			t.Errorf("pair %d = %x", i+1, kp)
		}
	}
}

func TestManyProblemsAtOnce(t *testing.T) {
	doc := "server:\n" + //   1
		"  public_url: ftp://bridge\n" + //   2
		"  tls: {cert_file: c.pem}\n" + //   3
		"session:\n" + //   4
		"  keys: [\"short:short\"]\n" + //   5
		"cookie:\n" + //   6
		"  same_site: sometimes\n" + //   7
		"  max_age: forever\n" + //   8
		"fuyun:\n" + //   9
		"  mode: smoke\n" + //  10
		"providers:\n" + //  11
		"  - id: ms\n" + //  12
		"    type: microsoft\n" + //  13
		"    client_id: c\n" + //  14
		"    tenant: common\n" + //  15
		"  - id: sf\n" + //  16
		"    type: salesforce\n" + //  17
		"    client_id: c\n" + //  18
		"    mapping:\n" + //  19
		"      transform: upper\n" + //  20
		"    colour: blue\n" + //  21
		"log:\n" + //  22
		"  level: loud\n" //  23
	_, ps := parse(t, doc, nil, nil)
	want := []Problem{
		{Path: "server.public_url", Line: 2},
		{Path: "server.tls", Line: 3},
		{Path: "session.keys[0]", Line: 5},
		{Path: "cookie.same_site", Line: 7},
		{Path: "cookie.max_age", Line: 8},
		{Path: "fuyun.client_id", Line: 9},
		{Path: "fuyun.client_secret", Line: 9},
		{Path: "fuyun.redirect_url", Line: 9},
		{Path: "fuyun.mode", Line: 10},
		{Path: "providers[1].domain", Line: 16},
		{Path: "providers[1].mapping.transform", Line: 20},
		{Path: "providers[1].colour", Line: 21},
		{Path: "log.level", Line: 23},
	}
	for _, w := range want {
		p, ok := find(ps, w.Path)
		if !ok {
			t.Errorf("missing problem at %s", w.Path)
			continue
		}
		if p.Line != w.Line {
			t.Errorf("%s: line %d, want %d", w.Path, p.Line, w.Line)
		}
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Line < ps[i-1].Line {
			t.Errorf("problems out of line order: %v before %v", ps[i-1], ps[i])
		}
	}
	if t.Failed() {
		t.Logf("got:%s", paths(ps))
	}
}

func TestProblemsError(t *testing.T) {
	ps := Problems{
		{File: "config.yaml", Path: "providers", Msg: "at least one provider is required"},
		{File: "config.yaml", Path: "providers[1].mapping.transform", Line: 12,
			Msg: `unknown transform "upper" (want none, lowercase, strip_domain or e164)`},
	}
	want := "config.yaml: providers: at least one provider is required\n" +
		`config.yaml:12: providers[1].mapping.transform: unknown transform "upper" (want none, lowercase, strip_domain or e164)`
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}

	// And the same text from a real parse.
	doc := "providers:\n  - id: ms\n    type: google\n    client_id: c\n    mapping:\n      transform: upper\n"
	_, err := Parse([]byte(compose(doc)), testOptions(nil, nil))
	wantLine := `config.yaml:6: providers[0].mapping.transform: unknown transform "upper" (want none, lowercase, strip_domain or e164)`
	if err == nil || err.Error() != wantLine {
		t.Errorf("Parse error = %v, want %s", err, wantLine)
	}
}

func TestParseDefaultName(t *testing.T) {
	_, err := Parse([]byte("bogus: 1\n"), ParseOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err == nil || !strings.Contains("\n"+err.Error(), "\nconfig:1: bogus: ") {
		t.Errorf("err = %v", err)
	}
}

func TestNoSecretInProblems(t *testing.T) {
	const (
		envSecret   = "ENV-SECRET-4f1c"
		fuyunSecret = "FUYUN-SECRET-9a2b"
		msSecret    = "MS-SECRET-77de"
		pemSecret   = "PEM-SECRET-c0ffee"
		urlPassword = "URLPASS-5e5e"
	)
	hashA, _, _ := strings.Cut(keyA, ":")
	badKey := hashA + ":" + key16
	env := map[string]string{"S": envSecret}
	files := map[string]string{"/cfg/fuyun": fuyunSecret, "/cfg/ms": msSecret, "/cfg/pem": pemSecret}
	doc := "server:\n  public_url: https://u:" + urlPassword + "@bridge.example.com\n" +
		"session:\n  keys: [\"" + badKey + "\", \"" + keyB + "x\"]\n" +
		"cookie:\n  http_only: ${S}\n  secure: \"" + fuyunSecret + "\"\n  max_age: " + msSecret + "\n" +
		"fuyun:\n  token_url: https://u:" + urlPassword + "@signin.example.com/t\n  client_id: c\n" +
		"  client_secret: " + fuyunSecret + "\n  client_secret_file: fuyun\n" +
		"  redirect_url: \"https://" + envSecret + " bad\"\n" +
		"  jwt:\n    private_key: " + pemSecret + "\n    private_key_file: pem\n    ttl: ${S}\n" +
		"providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n" +
		"    client_secret: " + msSecret + "\n    client_secret_file: ms\n    issuer: \"https://u:" + urlPassword + "@[bad\"\n" +
		"    mapping:\n      require_verified: ${S}\n"
	_, ps := parse(t, doc, env, files)
	if len(ps) < 10 {
		t.Errorf("only %d problems; the test wants most secret-bearing keys to be refused:%s", len(ps), paths(ps))
	}
	text := ps.Error()
	secrets := []string{envSecret, fuyunSecret, msSecret, pemSecret, urlPassword, hashA, key16, keyB[:20]}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("problems reveal %q:\n%s", s, text)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{`"90s"`, 90 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"300", 0, false},
		{"1.5", 0, false},
		{"true", 0, false},
		{"5 minutes", 0, false},
		{"[5m]", 0, false},
	} {
		var d Duration
		err := yaml.Unmarshal([]byte(tc.in), &d)
		if (err == nil) != tc.ok || (tc.ok && d.Std() != tc.want) {
			t.Errorf("%s: got %v, %v; want %v ok=%v", tc.in, d, err, tc.want, tc.ok)
		}
	}
	out, err := yaml.Marshal(Duration(720 * time.Hour))
	if err != nil || string(out) != "720h0m0s\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

func TestExpand(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"A": "1", "B_2": "${A}"}[k]
		return v, ok
	}
	for _, tc := range []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"${A}${B_2}", "1${A}", ""}, // values are not expanded again
		{"$${A}", "${A}", ""},
		{"$$${A}", "$${A}", ""}, // a lone $, then the $${ escape
		{"cost $5, $ {A}", "cost $5, $ {A}", ""},
		{"${}", "", "malformed"},
		{"${A", "", "malformed"},
		{"${A-B}", "", "malformed"},
		{"${MISSING}", "", "MISSING is not set"},
	} {
		got, err := expand(tc.in, env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("expand(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestPresetExamplesParse: the docs snippet every provider type carries is a valid providers entry.
func TestPresetExamplesParse(t *testing.T) {
	for _, typ := range providers.Types() {
		p, _ := providers.Lookup(typ)
		entry := "  " + strings.ReplaceAll(p.Example, "\n", "\n  ") + "\n"
		snippet := "providers:\n" + entry
		if p.JWTOnly { // a JWT-mode provider needs fuyun.jwt's issuer and key
			snippet += "fuyun:\n  client_id: c\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n" +
				"  jwt:\n    issuer: https://crm.example.com\n    private_key: k\n"
		}
		doc := compose(snippet)
		opts := testOptions(nil, nil)
		opts.ReadFile = func(string) ([]byte, error) { return []byte("example-secret"), nil }
		if _, err := Parse([]byte(doc), opts); err != nil {
			t.Errorf("%s example:\n%s\n%v", typ, entry, err)
		}
	}
}

// TestMisindentedKeyIsReportedAtItsLine: yaml.v3 reports a key that fits no block at the line where the
// enclosing block starts ("line 16: did not find expected key" for the over-indented key on line 22); the
// problem names line 22 and says to check its indentation.
func TestMisindentedKeyIsReportedAtItsLine(t *testing.T) {
	doc := strings.Repeat("# comment\n", 8) + // lines 1-8
		"server:\n  public_url: https://bridge.example.com\n" + // 9-10
		"session:\n  keys: [\"" + keyA + "\"]\n" + // 11-12
		"cookie:\n  secure: true\n  same_site: lax\n" + // 13-15
		"fuyun:\n" + // 16
		"  client_id: crm\n  client_secret: s\n" + // 17-18
		"  jwt:\n    issuer: https://crm.example.com\n    key_id: k1\n" + // 19-21
		"   app_name: crmapp\n" + // 22: three spaces, between fuyun's keys (2) and jwt's (4)
		"providers:\n  - id: p\n    type: oidc\n"
	_, ps := parse(t, doc, nil, nil)
	if len(ps) != 1 || ps[0].Line != 22 || !strings.Contains(ps[0].Msg, "did not find expected key") ||
		!strings.Contains(ps[0].Msg, "check the indentation of line 22") {
		t.Errorf("problems:%s\nwant one at line 22 with the hint", paths(ps))
	}
	// A document whose lists and block scalars are well indented gets no hint pointing into them.
	for _, good := range []string{
		"providers:\n  - id: p\n    type: oidc\n    mapping:\n      field: email\n  - id: q\n",
		"fuyun:\n  jwt:\n    private_key: |\n      -----BEGIN-----\n        deeper\n    issuer: x\n",
	} {
		if bad := misindentedLine([]byte(good), 1); bad != 0 {
			t.Errorf("misindentedLine flags line %d of\n%s", bad, good)
		}
	}
}
