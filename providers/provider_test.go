package providers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
	"github.com/fuyun-bridge/fuyun-bridge/static"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

const (
	testClientID = "client-123"
	testSecret   = "s3cret-value-never-logged"
	testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	testRedirect = "https://bridge.example.com/callback/idp"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newStub(t *testing.T, o idpstub.Options) *idpstub.Stub {
	if o.ClientID == "" {
		o.ClientID = testClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = testSecret
	}
	return idpstub.New(t, o)
}

func baseConfig(typ string) Config {
	return Config{ID: "idp", Type: typ, ClientID: testClientID, ClientSecret: testSecret, RedirectURL: testRedirect}
}

func build(t *testing.T, cfg Config, now func() time.Time) testProvider {
	t.Helper()
	p, err := New(cfg, Options{HTTPClient: &http.Client{Timeout: 5 * time.Second}, Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func authRequest() AuthRequest {
	return AuthRequest{State: "state-abc", Nonce: "nonce-xyz", CodeVerifier: testVerifier}
}

// login runs AuthCodeURL → stub authorize → Callback; edit may change the callback request.
func login(t *testing.T, p Provider, s *idpstub.Stub, edit func(*CallbackRequest)) (*Identity, error) {
	t.Helper()
	ctx := context.Background()
	u, err := p.AuthCodeURL(ctx, authRequest())
	if err != nil {
		return nil, err
	}
	code, iss := s.Authorize(t, u)
	c := callback(code, iss, testVerifier, "nonce-xyz")
	if edit != nil {
		edit(&c)
	}
	return p.Callback(ctx, c)
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want error %s", code)
	}
	if got := ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error leaks the client secret: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	if got, want := Types(), []string{"dingtalk", "feishu", "google", "microsoft", "oauth2", "oidc", "salesforce", "wecom"}; !slices.Equal(got, want) {
		t.Errorf("Types() = %v, want %v", got, want)
	}
	tests := []struct {
		typ       string
		field     string
		fallbacks []string
		scopes    []string
	}{
		{"microsoft", "email", []string{"preferred_username", "upn"}, []string{"openid", "profile", "email"}},
		{"salesforce", "email", nil, []string{"openid", "profile", "email"}},
		{"google", "email", nil, []string{"openid", "email", "profile"}},
		{"oidc", "email", nil, []string{"openid", "profile", "email"}},
		{"oauth2", "email", nil, nil},
		{"feishu", "user_id", nil, []string{FeishuScopeUserID}},
	}
	for _, tt := range tests {
		f, fb := MappingDefaults(tt.typ)
		if f != tt.field || !slices.Equal(fb, tt.fallbacks) {
			t.Errorf("MappingDefaults(%s) = %q %v", tt.typ, f, fb)
		}
		if got := DefaultScopes(tt.typ); !slices.Equal(got, tt.scopes) {
			t.Errorf("DefaultScopes(%s) = %v", tt.typ, got)
		}
	}
	// Callers get copies: the registry is immutable.
	DefaultScopes("google")[0] = "x"
	if DefaultScopes("google")[0] != "openid" {
		t.Error("DefaultScopes returned the registry's own slice")
	}
}

func TestNewValidation(t *testing.T) {
	with := func(typ string, f func(*Config)) Config {
		c := baseConfig(typ)
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"unknown type", with("okta", func(*Config) {}), `unknown type "okta"`},
		{"missing client_id", with("google", func(c *Config) { c.ClientID = "" }), "client_id: required"},
		{"bad id", with("google", func(c *Config) { c.ID = "a/b" }), "URL segment"},
		{"scope with space", with("google", func(c *Config) { c.Scopes = []string{"openid email"} }), "scope"},
		{"oidc without openid", with("google", func(c *Config) { c.Scopes = []string{"email"} }), "must include openid"},
		{"oidc missing issuer", with("oidc", func(*Config) {}), "issuer: required"},
		{"oidc http issuer", with("oidc", func(c *Config) { c.Issuer = "http://idp.example.com" }), "must use https"},
		{"oidc issuer with query", with("oidc", func(c *Config) { c.Issuer = "https://idp.example.com/?a=b" }), "must not have a query"},
		{"oidc loopback http", with("oidc", func(c *Config) { c.Issuer = "http://127.0.0.1:9/" }), ""},
		{"bad redirect", with("google", func(c *Config) { c.RedirectURL = "/callback" }), "redirect URL"},
		{"oauth2 ok", with("oauth2", func(c *Config) {
			c.AuthURL, c.TokenURL, c.UserinfoURL = "https://a.example/auth", "https://a.example/token", "https://a.example/me"
		}), ""},
		{"oauth2 missing token_url", with("oauth2", func(c *Config) { c.AuthURL, c.UserinfoURL = "https://a.example/auth", "https://a.example/me" }), "token_url: required"},
		{"oauth2 http userinfo", with("oauth2", func(c *Config) {
			c.AuthURL, c.TokenURL, c.UserinfoURL = "https://a.example/auth", "https://a.example/token", "http://a.example/me"
		}), "userinfo_url"},
		{"microsoft missing tenant", with("microsoft", func(*Config) {}), "tenant: required"},
		{"microsoft consumers", with("microsoft", func(c *Config) { c.Tenant = "consumers" }), "personal Microsoft accounts are not call-center agents"},
		{"microsoft MSA tenant id", with("microsoft", func(c *Config) { c.Tenant = MicrosoftConsumerTenant }), "personal Microsoft accounts"},
		{"microsoft bad tenant", with("microsoft", func(c *Config) { c.Tenant = "not a tenant" }), "neither a tenant id"},
		{"microsoft organizations", with("microsoft", func(c *Config) { c.Tenant = "organizations" }), ""},
		{"microsoft domain", with("microsoft", func(c *Config) { c.Tenant = "contoso.onmicrosoft.com" }), ""},
		{"microsoft guid", with("microsoft", func(c *Config) { c.Tenant = idpstub.TenantA }), ""},
		{"microsoft allowed not guid", with("microsoft", func(c *Config) { c.Tenant = "common"; c.AllowedTenants = []string{"contoso.com"} }), "not a tenant id"},
		{"microsoft allowed excludes tenant", with("microsoft", func(c *Config) { c.Tenant = idpstub.TenantA; c.AllowedTenants = []string{idpstub.TenantB} }), "does not contain the configured tenant"},
		{"microsoft http issuer", with("microsoft", func(c *Config) { c.Tenant = "common"; c.Issuer = "http://login.example.com" }), "must use https"},
		{"salesforce missing domain", with("salesforce", func(*Config) {}), "domain: required"},
		{"salesforce login", with("salesforce", func(c *Config) { c.Domain = "login.salesforce.com" }), ""},
		{"salesforce my domain", with("salesforce", func(c *Config) { c.Domain = "acme.my.salesforce.com" }), ""},
		{"salesforce scheme", with("salesforce", func(c *Config) { c.Domain = "https://login.salesforce.com" }), "bare host"},
		{"salesforce foreign host", with("salesforce", func(c *Config) { c.Domain = "salesforce.com.evil.example" }), "must be login.salesforce.com"},
		{"salesforce non-loopback port", with("salesforce", func(c *Config) { c.Domain = "10.0.0.1:8443" }), "must be login.salesforce.com"},
		{"google ok", with("google", func(*Config) {}), ""},
	}
	// A key that a type does not have (issuer for salesforce, tenant for oidc) is an unknown key of the YAML:
	// bridge/config's TestProviderProblems.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, Options{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewMakesNoNetworkCall(t *testing.T) {
	s := newStub(t, idpstub.Options{})
	cfg := baseConfig("oidc")
	cfg.Issuer = s.URL
	build(t, cfg, nil)
	if n := s.Hits("discovery") + s.Hits("jwks"); n != 0 {
		t.Fatalf("New made %d requests", n)
	}
}

func TestAuthCodeURL(t *testing.T) {
	s := newStub(t, idpstub.Options{})
	cfg := baseConfig("oidc")
	cfg.Issuer = s.URL
	p := build(t, cfg, nil)
	a := authRequest()
	a.LoginHint = "alice@example.com"
	raw, err := p.AuthCodeURL(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	want := map[string]string{
		"response_type": "code", "client_id": testClientID, "redirect_uri": testRedirect, "scope": "openid profile email",
		"state": "state-abc", "nonce": "nonce-xyz", "code_challenge": oauth2.S256ChallengeFromVerifier(testVerifier),
		"code_challenge_method": "S256", "login_hint": "alice@example.com",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if u.Scheme+"://"+u.Host+u.Path != s.URL+"/authorize" {
		t.Errorf("authorization endpoint = %s", raw)
	}
	bad := []AuthRequest{
		{Nonce: "n", CodeVerifier: testVerifier},
		{State: "s", CodeVerifier: testVerifier},
		{State: "s", Nonce: "n", CodeVerifier: "short"},
	}
	for _, b := range bad {
		if _, err := p.AuthCodeURL(context.Background(), b); err == nil {
			t.Errorf("AuthCodeURL(%+v) succeeded", b)
		}
	}
}

func TestCallbackSuccessPerPreset(t *testing.T) {
	tests := []struct {
		name   string
		stub   idpstub.Options
		cfg    func(c *Config, s *idpstub.Stub)
		sub    func(s *idpstub.Stub) string
		claims map[string]any
	}{
		{
			name: "oidc", stub: idpstub.Options{},
			cfg:    func(c *Config, s *idpstub.Stub) { c.Type, c.Issuer = "oidc", s.URL },
			sub:    func(*idpstub.Stub) string { return "user-1" },
			claims: map[string]any{"email": "alice@example.com", "email_verified": true, "preferred_username": "alice"},
		},
		{
			name: "google", stub: idpstub.Options{Flavor: idpstub.Google},
			cfg:    func(c *Config, s *idpstub.Stub) { c.Type, c.Issuer = "google", s.URL },
			sub:    func(*idpstub.Stub) string { return "110169484474386276334" },
			claims: map[string]any{"email": "agent@corp.example.com", "email_verified": true, "hd": "corp.example.com"},
		},
		{
			name: "salesforce", stub: idpstub.Options{Flavor: idpstub.Salesforce},
			cfg: func(c *Config, s *idpstub.Stub) {
				c.Type, c.Domain = "salesforce", strings.TrimPrefix(s.URL, "http://")
			},
			sub: func(s *idpstub.Stub) string { return s.URL + "/id/00Dxx0000001gPLEAY/005xx000001Sv6AAAS" },
			claims: map[string]any{"email": "agent@example.com", "email_verified": true, "user_id": "005xx000001Sv6AAAS",
				"organization_id": "00Dxx0000001gPLEAY", "user_type": "STANDARD"},
		},
		{
			name: "microsoft single tenant", stub: idpstub.Options{Flavor: idpstub.Microsoft, Tenant: idpstub.TenantA},
			cfg:    func(c *Config, s *idpstub.Stub) { c.Type, c.Tenant, c.Issuer = "microsoft", idpstub.TenantA, s.URL },
			sub:    func(*idpstub.Stub) string { return "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ" },
			claims: map[string]any{"tid": idpstub.TenantA, "family_name": "Lincoln", "email_verified": false},
		},
		{
			name: "microsoft organizations", stub: idpstub.Options{Flavor: idpstub.Microsoft, Tenant: "organizations"},
			cfg: func(c *Config, s *idpstub.Stub) {
				c.Type, c.Tenant, c.Issuer, c.AllowedTenants = "microsoft", "organizations", s.URL, []string{idpstub.TenantA}
			},
			sub:    func(*idpstub.Stub) string { return "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ" },
			claims: map[string]any{"tid": idpstub.TenantA, "oid": "00000000-0000-0000-66f3-3332eca7ea81"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, tt.stub)
			cfg := baseConfig("")
			tt.cfg(&cfg, s)
			cfg.Scopes = DefaultScopes(cfg.Type)
			p := build(t, cfg, nil)
			if err := p.Ready(context.Background()); err != nil {
				t.Fatalf("Ready: %v", err)
			}
			id, err := login(t, p, s, nil)
			if err != nil {
				t.Fatalf("Callback: %v", err)
			}
			if id.Provider != "idp" || id.Subject != tt.sub(s) || id.Issuer != s.TokenIssuer() || id.AccessToken == "" {
				t.Errorf("identity = %+v", id)
			}
			for k, v := range tt.claims {
				if id.Claims[k] != v {
					t.Errorf("claim %s = %v, want %v", k, id.Claims[k], v)
				}
			}
			if s.Hits("userinfo") != 1 {
				t.Errorf("userinfo hits = %d", s.Hits("userinfo"))
			}
		})
	}
}

// oidcStub returns a generic stub and a provider for it.
func oidcStub(t *testing.T, now func() time.Time) (*idpstub.Stub, testProvider) {
	s := newStub(t, idpstub.Options{})
	cfg := baseConfig("oidc")
	cfg.Issuer = s.URL
	cfg.Scopes = DefaultScopes("oidc")
	return s, build(t, cfg, now)
}

func TestCallbackRefusals(t *testing.T) {
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		shape func(s *idpstub.Stub, sh *idpstub.Shape)
		edit  func(c *CallbackRequest)
		want  string // "" = success
	}{
		{"wrong iss parameter", func(_ *idpstub.Stub, sh *idpstub.Shape) { sh.IssParam = "https://evil.example" }, nil, CodeIssuerMismatch},
		{"missing iss when advertised", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.Discovery = func(d map[string]any) { d["authorization_response_iss_parameter_supported"] = true }
		}, nil, CodeIssuerMismatch},
		{"iss present when advertised", func(s *idpstub.Stub, sh *idpstub.Shape) {
			sh.Discovery = func(d map[string]any) { d["authorization_response_iss_parameter_supported"] = true }
			sh.IssParam = s.URL
		}, nil, ""},
		{"bad signature", func(s *idpstub.Stub, sh *idpstub.Shape) {
			_, kid := s.Key()
			sh.Sign = func(c map[string]any) string { return idpstub.SignWith(jose.RS256, otherKey, kid, c) }
		}, nil, CodeIDTokenInvalid},
		{"alg none", func(_ *idpstub.Stub, sh *idpstub.Shape) { sh.Sign = idpstub.Unsigned }, nil, CodeIDTokenInvalid},
		{"HS256 with the public key as secret", func(s *idpstub.Stub, sh *idpstub.Shape) {
			k, kid := s.Key()
			der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			sh.Sign = func(c map[string]any) string { return idpstub.SignWith(jose.HS256, secret, kid, c) }
		}, nil, CodeIDTokenInvalid},
		{"wrong issuer in token", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.IDToken = func(c map[string]any) { c["iss"] = "https://evil.example" }
		}, nil, CodeIDTokenInvalid},
		{"wrong audience", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.IDToken = func(c map[string]any) { c["aud"] = "other-client" }
		}, nil, CodeIDTokenInvalid},
		{"several audiences without azp", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.IDToken = func(c map[string]any) { c["aud"] = []string{testClientID, "other"} }
		}, nil, CodeIDTokenInvalid},
		{"several audiences with wrong azp", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.IDToken = func(c map[string]any) { c["aud"] = []string{testClientID, "other"}; c["azp"] = "other" }
		}, nil, CodeIDTokenInvalid},
		{"several audiences with our azp", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.IDToken = func(c map[string]any) { c["aud"] = []string{testClientID, "other"}; c["azp"] = testClientID }
		}, nil, ""},
		{"expired", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.IDToken = func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }
		}, nil, CodeIDTokenInvalid},
		{"iat in the future", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.IDToken = func(c map[string]any) {
				c["iat"] = time.Now().Add(time.Hour).Unix()
				c["exp"] = time.Now().Add(2 * time.Hour).Unix()
			}
		}, nil, CodeIDTokenInvalid},
		{"at_hash mismatch", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.IDToken = func(c map[string]any) { c["at_hash"] = idpstub.AtHash("another-token") }
		}, nil, CodeIDTokenInvalid},
		{"nonce mismatch", nil, func(c *CallbackRequest) { c.Nonce = "other-nonce" }, CodeNonceMismatch},
		{"wrong PKCE verifier", nil, func(c *CallbackRequest) { c.CodeVerifier = strings.Repeat("x", 43) }, CodeTokenFailed},
		{"missing id_token", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.TokenResponse = func(r map[string]any) { delete(r, "id_token") }
		}, nil, CodeIDTokenMissing},
		{"userinfo sub mismatch", func(_ *idpstub.Stub, sh *idpstub.Shape) { sh.Userinfo = func(c map[string]any) { c["sub"] = "user-2" } }, nil, CodeUserinfoSubMismatch},
		{"userinfo 5xx", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.UserinfoHTTP = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusBadGateway) }
		}, nil, CodeUserinfoFailed},
		{"userinfo oversized body", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.UserinfoHTTP = func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"sub":"user-1","pad":"` + strings.Repeat("a", MaxResponseBytes) + `"}`))
			}
		}, nil, CodeUserinfoFailed},
		{"userinfo not JSON", func(_ *idpstub.Stub, sh *idpstub.Shape) {
			sh.UserinfoHTTP = func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }
		}, nil, CodeUserinfoFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := oidcStub(t, nil)
			if tt.shape != nil {
				var local idpstub.Shape // built outside the stub's lock: shapes may call s.Key
				tt.shape(s, &local)
				s.Shape(func(sh *idpstub.Shape) { *sh = local })
			}
			id, err := login(t, p, s, tt.edit)
			if tt.want == "" {
				if err != nil || id.Subject != "user-1" {
					t.Fatalf("Callback = %+v, %v", id, err)
				}
				return
			}
			wantCode(t, err, tt.want)
		})
	}
}

func TestTokenErrorHidesSecrets(t *testing.T) {
	s := newStub(t, idpstub.Options{})
	cfg := baseConfig("oidc")
	cfg.Issuer, cfg.Scopes, cfg.ClientSecret = s.URL, DefaultScopes("oidc"), "wrong-"+testSecret
	p := build(t, cfg, nil)
	var code string
	_, err := login(t, p, s, func(c *CallbackRequest) { code = c.Query.Get("code") })
	wantCode(t, err, CodeTokenFailed)
	if !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), code) {
		t.Fatalf("error = %v", err)
	}
}

func TestDiscoveryDownThenRecovers(t *testing.T) {
	clk := &clock{t: time.Now()}
	s, p := oidcStub(t, clk.now)
	s.Shape(func(sh *idpstub.Shape) { sh.Down = true })
	ctx := context.Background()

	_, err := p.AuthCodeURL(ctx, authRequest())
	wantCode(t, err, CodeIdPUnavailable)
	wantCode(t, p.Ready(ctx), CodeIdPUnavailable)
	if n := s.Hits("discovery"); n != 1 {
		t.Fatalf("discovery hits = %d, want 1 (retries are rate-limited)", n)
	}
	s.Shape(func(sh *idpstub.Shape) { sh.Down = false })
	clk.add(RetryInterval - time.Second)
	wantCode(t, p.Ready(ctx), CodeIdPUnavailable)
	if n := s.Hits("discovery"); n != 1 {
		t.Fatalf("discovery hits = %d within the retry interval", n)
	}
	clk.add(2 * time.Second)
	if err := p.Ready(ctx); err != nil {
		t.Fatalf("Ready after recovery: %v", err)
	}
	if _, err := login(t, p, s, nil); err != nil {
		t.Fatalf("login after recovery: %v", err)
	}
	// Cached once loaded: the IdP going down again does not stop logins.
	_ = p.Ready(ctx)
	if n := s.Hits("discovery"); n != 2 {
		t.Fatalf("discovery hits = %d, want 2", n)
	}
}

func TestJWKSDownIsUnavailable(t *testing.T) {
	s, p := oidcStub(t, nil)
	s.Shape(func(sh *idpstub.Shape) {
		sh.Discovery = func(d map[string]any) { d["jwks_uri"] = s.URL + "/missing-keys" }
	})
	wantCode(t, p.Ready(context.Background()), CodeIdPUnavailable)
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	s, p := oidcStub(t, nil)
	s.Shape(func(sh *idpstub.Shape) {
		sh.Discovery = func(d map[string]any) { d["issuer"] = "https://other.example" }
	})
	err := p.Ready(context.Background())
	wantCode(t, err, CodeIdPUnavailable)
	if !strings.Contains(err.Error(), "differs from the configured issuer") {
		t.Fatalf("error = %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	s, p := oidcStub(t, nil)
	if _, err := login(t, p, s, nil); err != nil {
		t.Fatal(err)
	}
	before := s.Hits("jwks")
	s.RotateKey(t)
	if _, err := login(t, p, s, nil); err != nil {
		t.Fatalf("login after key rotation: %v", err)
	}
	if s.Hits("jwks") <= before {
		t.Fatal("rotated key verified without refetching the JWKS")
	}
}

func TestUserInfo(t *testing.T) {
	s, p := oidcStub(t, nil)
	ctx := context.Background()
	id, err := p.UserInfo(ctx, s.IssueAccessToken())
	if err != nil || id.Subject != "user-1" || id.Claims["email"] != "alice@example.com" || id.Issuer != s.URL {
		t.Fatalf("UserInfo = %+v, %v", id, err)
	}
	_, err = p.UserInfo(ctx, "unknown-token")
	wantCode(t, err, CodeInvalidToken)
	_, err = p.UserInfo(ctx, "")
	wantCode(t, err, CodeInvalidToken)
	s.Shape(func(sh *idpstub.Shape) {
		sh.UserinfoHTTP = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }
	})
	_, err = p.UserInfo(ctx, "any")
	wantCode(t, err, CodeUserinfoFailed)
}

// TestEveryPresetIsComplete: a preset is one unit with its name, configuration, icon and docs snippet.
func TestEveryPresetIsComplete(t *testing.T) {
	for _, typ := range Types() {
		p, _ := Lookup(typ)
		if p.Name == "" || p.NewConfig == nil || p.MappingField == "" || p.Example == "" {
			t.Errorf("%s: incomplete preset %+v", typ, p)
		}
		if err := static.CheckIcon(p.Icon); err != nil {
			t.Errorf("%s: icon: %v", typ, err)
		}
		if !strings.Contains(p.Example, "type: "+typ) {
			t.Errorf("%s: example does not show its type", typ)
		}
		if p.JWTOnly && p.Why == "" {
			t.Errorf("%s: JWT-only without saying why", typ)
		}
		if a, b := p.NewConfig(), p.NewConfig(); a == b {
			t.Errorf("%s: NewConfig returns a shared configuration", typ)
		}
	}
}
