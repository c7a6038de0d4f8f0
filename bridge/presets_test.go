package bridge_test

import (
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/bridgetest"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// startSim serves a Fuyun emulator with clients and agents; its token URL is returned.
func startSim(t *testing.T, clients []fuyunsim.Client, agents ...fuyunsim.Agent) (*fuyunsim.Server, string) {
	t.Helper()
	sim, err := fuyunsim.New(fuyunsim.Config{Issuer: "http://fuyun.test", Clients: clients, Agents: agents}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return sim, ts.URL + fuyunsim.TokenPath
}

// startYAMLBridge builds the bridge exactly as `serve` does, from YAML: a loopback public URL, a session key,
// the fuyun: block (client crm, JWT key, plus fuyunExtra lines) and providersYAML; it returns the public URL.
func startYAMLBridge(t *testing.T, tokenURL string, key *rsa.PrivateKey, fuyunExtra, providersYAML string) string {
	t.Helper()
	return startYAMLBridgeWith(t, tokenURL, key, fuyunExtra, providersYAML, "", bridge.BuildOptions{})
}

// startYAMLBridgeWith is startYAMLBridge with extra top-level YAML (e.g. api:) and build options (e.g. a logger).
func startYAMLBridgeWith(t *testing.T, tokenURL string, key *rsa.PrivateKey, fuyunExtra, providersYAML, extra string, bo bridge.BuildOptions) string {
	t.Helper()
	pem, err := fuyun.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	public := "http://" + ts.Listener.Addr().String()
	yaml := bridgetest.ConfigYAML(public, tokenURL, fuyunExtra, providersYAML, extra)
	cfg, err := config.Parse([]byte(yaml), config.ParseOptions{LookupEnv: func(string) (string, bool) { return string(pem), true }})
	if err != nil {
		t.Fatalf("config:\n%v\n%s", err, yaml)
	}
	srv, err := bridge.NewFromConfig(cfg, bo)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return public
}

// loginToken runs /login/{provider} in a fresh cookie jar, following every redirect, and returns AC_TOKEN.
func loginToken(t *testing.T, public, provider string) string {
	t.Helper()
	r := bridgetest.LoginAt(t, public, provider)
	if r.Status != http.StatusOK {
		t.Fatalf("login %s ended at %s with %d", provider, r.URL, r.Status)
	}
	if r.ACToken == "" {
		t.Fatalf("login %s: no AC_TOKEN", provider)
	}
	return r.ACToken
}

// TestFullLoginPerPreset runs whole logins through real HTTP: the bridge built from YAML, each preset's
// stub IdP (its documented paths and payloads), and the Fuyun emulator — in JWT mode and in OAuth mode.
func TestFullLoginPerPreset(t *testing.T) {
	presets := []struct {
		name, yaml string
		flavor     idpstub.Flavor
		userinfo   string
		email      string
		shape      func(s *idpstub.Shape)
	}{
		{"oidc", "type: oidc\n    issuer: %[1]s", idpstub.Generic, "/userinfo", "alice@example.com", nil},
		{"microsoft", "type: microsoft\n    tenant: organizations\n    allowed_tenants: [" + idpstub.TenantA + "]\n    issuer: %[1]s\n    userinfo_url: %[1]s/oidc/userinfo", idpstub.Microsoft,
			"/oidc/userinfo", "AbeLi@microsoft.com",
			func(s *idpstub.Shape) {
				s.IDToken = func(c map[string]any) { c["email"] = "AbeLi@microsoft.com"; c["xms_edov"] = true }
			}},
		{"salesforce", "type: salesforce\n    domain: %[2]s", idpstub.Salesforce, "/services/oauth2/userinfo", "agent@example.com", nil},
		{"google", "type: google\n    issuer: %[1]s", idpstub.Google, "/v1/userinfo", "agent@corp.example.com", nil},
	}
	for _, p := range presets {
		for _, mode := range []string{"jwt", "oauth"} {
			t.Run(p.name+"/"+mode, func(t *testing.T) {
				opts := idpstub.Options{Flavor: p.flavor, ClientID: "bridge-client", ClientSecret: "idp-secret"}
				if p.flavor == idpstub.Microsoft {
					opts.Tenant = "organizations"
				}
				stub := idpstub.New(t, opts)
				if p.shape != nil {
					stub.Shape(p.shape)
				}
				account := strings.Split(p.email, "@")[0]
				key, err := fuyun.GenerateKey()
				if err != nil {
					t.Fatal(err)
				}
				sim, tokenURL := startSim(t, []fuyunsim.Client{{
					ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
					JWT:   &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey},
					OAuth: &fuyunsim.OAuthClient{AppName: "crmapp", UserEndpoint: stub.URL + p.userinfo, MappingField: "email"},
				}}, fuyunsim.Agent{AccountName: account, Email: p.email})
				public := startYAMLBridge(t, tokenURL, key, "  mode: "+mode+"\n  app_name: crmapp\n", `  - id: idp
    client_id: bridge-client
    client_secret: idp-secret
    `+fmt.Sprintf(p.yaml, stub.URL, strings.TrimPrefix(stub.URL, "http://"))+`
    mapping: {field: email, transform: strip_domain, allowed_domains: ["`+strings.SplitN(p.email, "@", 2)[1]+`"]}
`)
				claims, err := sim.VerifyAccessToken(loginToken(t, public, "idp"))
				if err != nil {
					t.Fatalf("AC_TOKEN not accepted by the emulator: %v", err)
				}
				if claims.UserName != account {
					t.Errorf("Fuyun token for %q, want %q", claims.UserName, account)
				}
			})
		}
	}
}

// TestProviderOwnFuyunClient: Fuyun's portal ties one mode to one client registration, so a provider may
// bring its own (providers[].fuyun). Provider "jwt" uses fuyun:'s client in JWT mode, provider "oauth" its own
// client and App Name in OAuth mode; the emulator's tokens name the client each exchange used.
func TestProviderOwnFuyunClient(t *testing.T) {
	stub := idpstub.New(t, idpstub.Options{Flavor: idpstub.Generic, ClientID: "bridge-client", ClientSecret: "idp-secret"})
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sim, tokenURL := startSim(t, []fuyunsim.Client{
		{ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
			JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey}},
		{ClientID: "crm-oauth", ClientSecret: "other-secret", Scopes: []string{"user_management", "hotline"},
			OAuth: &fuyunsim.OAuthClient{AppName: "oauthapp", UserEndpoint: stub.URL + "/userinfo", MappingField: "email"}},
	}, fuyunsim.Agent{AccountName: "alice", Email: "alice@example.com"})
	public := startYAMLBridge(t, tokenURL, key, "  mode: jwt\n", fmt.Sprintf(`
  - {id: jwt, type: oidc, issuer: %[1]q, client_id: bridge-client, client_secret: idp-secret, mapping: {field: email, transform: strip_domain, allowed_domains: [example.com]}}
  - id: oauth
    type: oidc
    issuer: %[1]q
    client_id: bridge-client
    client_secret: idp-secret
    fuyun_mode: oauth
    fuyun: {client_id: crm-oauth, client_secret: other-secret, app_name: oauthapp}
`, stub.URL))
	for _, tc := range []struct{ provider, client string }{{"jwt", "crm"}, {"oauth", "crm-oauth"}} {
		claims, err := sim.VerifyAccessToken(loginToken(t, public, tc.provider))
		if err != nil {
			t.Fatalf("%s: AC_TOKEN not the emulator's: %v", tc.provider, err)
		}
		if claims.ClientID != tc.client || claims.UserName != "alice" {
			t.Errorf("%s: token for client %q agent %q, want %q alice", tc.provider, claims.ClientID, claims.UserName, tc.client)
		}
	}
}

// TestSalesforceOrgPinned: every Salesforce org shares one issuer, so require_claims pins the org. A user of
// another org is refused before Fuyun is called (no AC_TOKEN); a user of the listed org signs in.
func TestSalesforceOrgPinned(t *testing.T) {
	for _, tc := range []struct {
		org string
		ok  bool
	}{{"00DOTHERORG0000AAA", false}, {"00Dxx0000001gPLEAY", true}} {
		stub := idpstub.New(t, idpstub.Options{Flavor: idpstub.Salesforce, ClientID: "bridge-client", ClientSecret: "idp-secret"})
		key, err := fuyun.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		sim, tokenURL := startSim(t, []fuyunsim.Client{{ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
			JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey}}},
			fuyunsim.Agent{AccountName: "agent", Email: "agent@example.com"})
		public := startYAMLBridge(t, tokenURL, key, "  mode: jwt\n", fmt.Sprintf(`  - id: idp
    type: salesforce
    domain: %s
    client_id: bridge-client
    client_secret: idp-secret
    mapping:
      field: email
      transform: strip_domain
      allowed_domains: [example.com]
      require_claims: [{claim: organization_id, values: [%q]}]
`, strings.TrimPrefix(stub.URL, "http://"), tc.org))
		if tc.ok {
			if _, err := sim.VerifyAccessToken(loginToken(t, public, "idp")); err != nil {
				t.Fatalf("own org: %v", err)
			}
			continue
		}
		jar, _ := cookiejar.New(nil)
		req, _ := http.NewRequest(http.MethodGet, public+"/login/idp", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := (&http.Client{Jar: jar}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"error":"mapping_claim_not_allowed"`) {
			t.Fatalf("other org: %s %s", resp.Status, body)
		}
		u, _ := url.Parse(public)
		for _, ck := range jar.Cookies(u) {
			if ck.Name == "AC_TOKEN" {
				t.Fatal("AC_TOKEN set for a user of another org")
			}
		}
	}
}
