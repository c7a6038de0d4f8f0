package bridge_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// TestFullLoginPerPreset runs whole logins through real HTTP: the bridge built from YAML, each preset's
// stub IdP (its documented paths and payloads), and the Fuyun emulator — in JWT mode and in OAuth mode.
func TestFullLoginPerPreset(t *testing.T) {
	presets := []struct {
		name, yaml string
		flavor     idpstub.Flavor
		email      string
		shape      func(s *idpstub.Shape)
	}{
		{"oidc", "type: oidc\n    issuer: %[1]s", idpstub.Generic, "alice@example.com", nil},
		{"microsoft", "type: microsoft\n    tenant: organizations\n    issuer: %[1]s\n    userinfo_url: %[1]s/oidc/userinfo", idpstub.Microsoft, "AbeLi@microsoft.com",
			func(s *idpstub.Shape) {
				s.IDToken = func(c map[string]any) { c["email"] = "AbeLi@microsoft.com"; c["xms_edov"] = true }
			}},
		{"salesforce", "type: salesforce\n    domain: %[2]s", idpstub.Salesforce, "agent@example.com", nil},
		{"google", "type: google\n    issuer: %[1]s", idpstub.Google, "agent@corp.example.com", nil},
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
				userinfo := map[idpstub.Flavor]string{idpstub.Generic: "/userinfo", idpstub.Microsoft: "/oidc/userinfo",
					idpstub.Salesforce: "/services/oauth2/userinfo", idpstub.Google: "/v1/userinfo"}[p.flavor]
				sim, err := fuyunsim.New(fuyunsim.Config{
					Issuer: "http://fuyun.test",
					Clients: []fuyunsim.Client{{
						ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
						JWT:   &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey},
						OAuth: &fuyunsim.OAuthClient{AppName: "crmapp", UserEndpoint: stub.URL + userinfo, MappingField: "email"},
					}},
					Agents: []fuyunsim.Agent{{AccountName: account, Email: p.email}},
				}, fuyunsim.Options{})
				if err != nil {
					t.Fatal(err)
				}
				simTS := httptest.NewServer(sim)
				defer simTS.Close()
				pem, _ := fuyun.MarshalPrivateKeyPEM(key)

				ts := httptest.NewUnstartedServer(nil)
				public := "http://" + ts.Listener.Addr().String()
				sk := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))
				stubHost := strings.TrimPrefix(stub.URL, "http://")
				yaml := fmt.Sprintf(`
server: {public_url: %q}
session: {keys: [%q]}
cookie: {secure: false}
fuyun:
  token_url: %q
  client_id: crm
  client_secret: s3cret
  redirect_url: https://crm.example.com/callback
  mode: %s
  app_name: crmapp
  jwt: {issuer: "https://crm.example.com", private_key: "${KEY}"}
providers:
  - id: idp
    client_id: bridge-client
    client_secret: idp-secret
    `+fmt.Sprintf(p.yaml, stub.URL, stubHost)+`
    mapping: {field: email, transform: strip_domain}
`, public, sk+":"+sk, simTS.URL+fuyunsim.TokenPath, mode)
				cfg, err := config.Parse([]byte(yaml), config.ParseOptions{LookupEnv: func(string) (string, bool) { return string(pem), true }})
				if err != nil {
					t.Fatalf("config:\n%v\n%s", err, yaml)
				}
				srv, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{})
				if err != nil {
					t.Fatal(err)
				}
				ts.Config.Handler = srv
				ts.Start()
				defer ts.Close()

				jar, _ := cookiejar.New(nil)
				c := &http.Client{Jar: jar}
				resp, err := c.Get(public + "/login/idp")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/callback/idp" {
					t.Fatalf("ended at %s with %d", resp.Request.URL, resp.StatusCode)
				}
				u, _ := url.Parse(public)
				var token string
				for _, ck := range jar.Cookies(u) {
					if ck.Name == "AC_TOKEN" {
						token = ck.Value
					}
				}
				claims, err := sim.VerifyAccessToken(token)
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
	sim, err := fuyunsim.New(fuyunsim.Config{
		Clients: []fuyunsim.Client{
			{ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
				JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey}},
			{ClientID: "crm-oauth", ClientSecret: "other-secret", Scopes: []string{"user_management", "hotline"},
				OAuth: &fuyunsim.OAuthClient{AppName: "oauthapp", UserEndpoint: stub.URL + "/userinfo", MappingField: "email"}},
		},
		Agents: []fuyunsim.Agent{{AccountName: "alice", Email: "alice@example.com"}},
	}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simTS := httptest.NewServer(sim)
	defer simTS.Close()
	pem, _ := fuyun.MarshalPrivateKeyPEM(key)
	ts := httptest.NewUnstartedServer(nil)
	public := "http://" + ts.Listener.Addr().String()
	sk := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))
	yaml := fmt.Sprintf(`
server: {public_url: %q}
session: {keys: [%q]}
cookie: {secure: false}
fuyun:
  token_url: %q
  client_id: crm
  client_secret: s3cret
  redirect_url: https://crm.example.com/callback
  mode: jwt
  jwt: {issuer: "https://crm.example.com", private_key: "${KEY}"}
providers:
  - {id: jwt, type: oidc, issuer: %[4]q, client_id: bridge-client, client_secret: idp-secret, mapping: {field: email, transform: strip_domain}}
  - id: oauth
    type: oidc
    issuer: %[4]q
    client_id: bridge-client
    client_secret: idp-secret
    fuyun_mode: oauth
    fuyun: {client_id: crm-oauth, client_secret: other-secret, app_name: oauthapp}
`, public, sk+":"+sk, simTS.URL+fuyunsim.TokenPath, stub.URL)
	cfg, err := config.Parse([]byte(yaml), config.ParseOptions{LookupEnv: func(string) (string, bool) { return string(pem), true }})
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	srv, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	defer ts.Close()
	for _, tc := range []struct{ provider, client string }{{"jwt", "crm"}, {"oauth", "crm-oauth"}} {
		jar, _ := cookiejar.New(nil)
		resp, err := (&http.Client{Jar: jar}).Get(public + "/login/" + tc.provider)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, _ := url.Parse(public)
		var token string
		for _, ck := range jar.Cookies(u) {
			if ck.Name == "AC_TOKEN" {
				token = ck.Value
			}
		}
		claims, err := sim.VerifyAccessToken(token)
		if err != nil {
			t.Fatalf("%s: status %d, AC_TOKEN not the emulator's: %v", tc.provider, resp.StatusCode, err)
		}
		if claims.ClientID != tc.client || claims.UserName != "alice" {
			t.Errorf("%s: token for client %q agent %q, want %q alice", tc.provider, claims.ClientID, claims.UserName, tc.client)
		}
	}
}
