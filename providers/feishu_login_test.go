package providers_test

import (
	"encoding/base64"
	"fmt"
	"io"
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

// feishuAgent is the Fuyun agent of the stub's member: their Feishu user_id, the preset's mapping field.
const feishuAgent = "5d9bd7a1"

// feishuYAML is a whole bridge configuration with one feishu provider in fuyunMode.
func feishuYAML(public, fuyunTokenURL string, stub *idpstub.Feishu, fuyunMode string) string {
	sk := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))
	return fmt.Sprintf(`
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
  - id: feishu
    type: feishu
    client_id: cli_a5d611352af9d00b
    client_secret: feishu-secret
    tenant_key: %s
    accounts_url: %s
    open_url: %s
    fuyun_mode: %s
`, public, sk+":"+sk, fuyunTokenURL, idpstub.FeishuTenant, stub.AccountsURL, stub.OpenURL, fuyunMode)
}

// feishuLogin is a bridge built from YAML as `serve` builds it, in front of a Feishu stub (users added to its
// directory) and the Fuyun emulator, which knows the agent feishuAgent.
type feishuLogin struct {
	public string
	stub   *idpstub.Feishu
	sim    *fuyunsim.Server
}

func startFeishuLogin(t *testing.T, users map[string]idpstub.FeishuUser) feishuLogin {
	t.Helper()
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sim, err := fuyunsim.New(fuyunsim.Config{Issuer: "http://fuyun.test", Clients: []fuyunsim.Client{{
		ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
		JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey},
	}}, Agents: []fuyunsim.Agent{{AccountName: feishuAgent}}}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	// The stub matches redirect_uri exactly, so the bridge's address is needed before the stub starts.
	ts := httptest.NewUnstartedServer(nil)
	public := "http://" + ts.Listener.Addr().String()
	stub := idpstub.NewFeishu(t, idpstub.FeishuOptions{RedirectURI: public + "/callback/feishu", Users: users})
	pem, err := fuyun.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(feishuYAML(public, simSrv.URL+fuyunsim.TokenPath, stub, "jwt")),
		config.ParseOptions{LookupEnv: func(string) (string, bool) { return string(pem), true }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return feishuLogin{public: public, stub: stub, sim: sim}
}

// login runs /login/feishu in a fresh cookie jar, following every redirect (bridge → Feishu's sign-in page →
// bridge callback), and returns the last status, the page and the AC_TOKEN cookie ("" if none).
func (l feishuLogin) login(t *testing.T) (status int, page, acToken string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(l.public + "/login/feishu")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/callback/feishu" {
		t.Fatalf("login ended at %s, not the callback", resp.Request.URL)
	}
	u, _ := url.Parse(l.public)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "AC_TOKEN" {
			acToken = ck.Value
		}
	}
	return resp.StatusCode, string(body), acToken
}

// TestFeishuFullLogin: YAML → bridge → Feishu stub → bridge → Fuyun emulator → an AC_TOKEN the emulator
// verifies, for the agent whose Feishu user_id it names.
func TestFeishuFullLogin(t *testing.T) {
	l := startFeishuLogin(t, nil)
	status, _, tok := l.login(t)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("login answered %d, AC_TOKEN %q", status, tok)
	}
	claims, err := l.sim.VerifyAccessToken(tok)
	if err != nil {
		t.Fatalf("AC_TOKEN not accepted by the emulator: %v", err)
	}
	if claims.UserName != feishuAgent {
		t.Errorf("Fuyun token for %q, want %q", claims.UserName, feishuAgent)
	}
	for name, want := range map[string]int{"authorize": 1, "token": 1, "user_info": 1} {
		if got := l.stub.Hits(name); got != want {
			t.Errorf("stub %s hit %d times, want %d", name, got, want)
		}
	}
}

// TestFeishuFullLoginOtherTenant: a user of another tenant with the agent's very user_id is refused before
// Fuyun is asked: user_id is unique only within a tenant.
func TestFeishuFullLoginOtherTenant(t *testing.T) {
	l := startFeishuLogin(t, map[string]idpstub.FeishuUser{idpstub.Member: {OpenID: "ou_other", UnionID: "on_other",
		UserID: feishuAgent, TenantKey: idpstub.FeishuOtherTenant, Name: "冒名"}})
	if status, page, tok := l.login(t); status != http.StatusForbidden || tok != "" || !strings.Contains(page, "tenant_not_allowed") {
		t.Fatalf("another tenant's user: %d, AC_TOKEN %q; want 403 tenant_not_allowed and none:\n%s", status, tok, page)
	}
}

// TestFeishuOAuthModeRefused: Fuyun's OAuth mode cannot read Feishu's user_info, so the configuration says so.
func TestFeishuOAuthModeRefused(t *testing.T) {
	stub := idpstub.NewFeishu(t, idpstub.FeishuOptions{})
	_, err := config.Parse([]byte(feishuYAML("http://127.0.0.1:8080", "http://127.0.0.1:9/token", stub, "oauth")),
		config.ParseOptions{LookupEnv: func(string) (string, bool) { return "unused", true }})
	if err == nil || !strings.Contains(err.Error(), "providers[0].fuyun_mode") || !strings.Contains(err.Error(), "jwt mode only") {
		t.Fatalf("oauth mode: %v; want an error naming fuyun_mode", err)
	}
}
