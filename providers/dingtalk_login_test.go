package providers_test

import (
	"crypto/rsa"
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

// dingTalkStack is a bridge built from YAML with one dingtalk provider, the DingTalk stub it signs in at,
// and the Fuyun emulator it exchanges with; all on loopback.
type dingTalkStack struct {
	public string // the bridge's URL
	stub   *idpstub.DingTalk
	sim    *fuyunsim.Server
}

// dingTalkYAML is the bridge's configuration: fuyun_mode is the provider's exchange mode.
func dingTalkYAML(public, tokenURL, fuyunMode string, stub *idpstub.DingTalk) string {
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
  jwt: {issuer: "https://crm.example.com", private_key: "${KEY}"}
providers:
  - id: dingtalk
    type: dingtalk
    client_id: dingapp
    client_secret: ding-secret
    corp_id: %s
    login_url: %s
    api_url: %s
    oapi_url: %s
    fuyun_mode: %s
`, public, sk+":"+sk, tokenURL, idpstub.DingTalkCorp, stub.LoginURL, stub.APIURL, stub.OAPIURL, fuyunMode)
}

// startDingTalk serves the three parties; the agent zhangsan (the stub's member's userid) exists at Fuyun.
func startDingTalk(t *testing.T) *dingTalkStack {
	t.Helper()
	front := httptest.NewUnstartedServer(nil)
	public := "http://" + front.Listener.Addr().String()
	stub := idpstub.NewDingTalk(t, idpstub.DingTalkOptions{ClientID: "dingapp", ClientSecret: "ding-secret",
		RedirectURI: public + "/callback/dingtalk"})
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sim, err := fuyunsim.New(fuyunsim.Config{Issuer: "http://fuyun.test",
		Clients: []fuyunsim.Client{{ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
			JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey}}},
		Agents: []fuyunsim.Agent{{AccountName: "zhangsan"}}}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	cfg, err := parseDingTalk(dingTalkYAML(public, simSrv.URL+fuyunsim.TokenPath, "jwt", stub), key)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	front.Config.Handler = srv
	front.Start()
	t.Cleanup(front.Close)
	return &dingTalkStack{public: public, stub: stub, sim: sim}
}

func parseDingTalk(yaml string, key *rsa.PrivateKey) (*config.Config, error) {
	pem, err := fuyun.MarshalPrivateKeyPEM(key)
	if err != nil {
		return nil, err
	}
	return config.Parse([]byte(yaml), config.ParseOptions{LookupEnv: func(string) (string, bool) { return string(pem), true }})
}

// TestDingTalkFullLogin: /login/dingtalk → DingTalk's login page (the stub signs its member in) → the
// bridge's callback redeems the authCode, pins the corpId, looks the member up → JWT exchange at Fuyun →
// AC_TOKEN, which the emulator verifies as its own token for zhangsan.
func TestDingTalkFullLogin(t *testing.T) {
	st := startDingTalk(t)
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(st.public + "/login/dingtalk")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/callback/dingtalk" {
		t.Fatalf("login ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	u, _ := url.Parse(st.public)
	var token string
	for _, c := range jar.Cookies(u) {
		if c.Name == "AC_TOKEN" {
			token = c.Value
		}
	}
	claims, err := st.sim.VerifyAccessToken(token)
	if err != nil {
		t.Fatalf("AC_TOKEN %q not accepted by the emulator: %v", token, err)
	}
	if claims.UserName != "zhangsan" {
		t.Errorf("Fuyun token for %q, want zhangsan", claims.UserName)
	}
	for name, want := range map[string]int{"authorize": 1, "userAccessToken": 1, "contactUser": 1, "accessToken": 1, "getbyunionid": 1, "userGet": 1} {
		if got := st.stub.Hits(name); got != want {
			t.Errorf("stub %s hits = %d, want %d", name, got, want)
		}
	}
}

// TestDingTalkOAuthModeRefused: Fuyun's OAuth mode cannot read DingTalk's user endpoint, so the same
// configuration with fuyun_mode: oauth is refused, naming the key.
func TestDingTalkOAuthModeRefused(t *testing.T) {
	stub := idpstub.NewDingTalk(t, idpstub.DingTalkOptions{})
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, err = parseDingTalk(dingTalkYAML("http://127.0.0.1:8080", "http://127.0.0.1:9/oauth/token_exchange", "oauth", stub), key)
	if err == nil || !strings.Contains(err.Error(), "providers[0].fuyun_mode") || !strings.Contains(err.Error(), "jwt mode only") {
		t.Fatalf("oauth mode: %v; want a problem on providers[0].fuyun_mode", err)
	}
}
