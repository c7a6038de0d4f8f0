package providers_test

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

// wecomYAML is a whole bridge configuration with one wecom provider; %[1]s is the public URL, %[2]s Fuyun's
// token URL, %[3]s the stub's base URL, %[4]s the exchange mode.
const wecomYAML = `
server: {public_url: %[1]q}
session: {keys: [%[5]q]}
cookie: {secure: false}
fuyun:
  token_url: %[2]q
  client_id: crm
  client_secret: s3cret
  redirect_url: https://crm.example.com/callback
  jwt: {issuer: "https://crm.example.com", private_key: "${KEY}"}
providers:
  - id: wecom
    type: wecom
    corp_id: ` + idpstub.WeComCorp + `
    agent_id: "1000002"
    secret: wecom-secret
    login_url: %[3]s/login
    oauth_url: %[3]s/open
    api_url: %[3]s/qyapi
    fuyun_mode: %[4]s
    mapping: {field: userid}
`

// TestWeComLogin signs a WeCom member in end to end over real HTTP: the bridge built from YAML, the WeCom
// stub's sign-in page and API, and the Fuyun emulator, which verifies the AC_TOKEN it issued.
func TestWeComLogin(t *testing.T) {
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sim, err := fuyunsim.New(fuyunsim.Config{Issuer: "http://fuyun.test", Clients: []fuyunsim.Client{{
		ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
		JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey},
	}}, Agents: []fuyunsim.Agent{{AccountName: "zhangsan"}}}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := httptest.NewServer(sim)
	t.Cleanup(fs.Close)

	ts := httptest.NewUnstartedServer(nil)
	public := "http://" + ts.Listener.Addr().String()
	stub := idpstub.NewWeCom(t, idpstub.WeComOptions{TrustedHost: ts.Listener.Addr().String()})
	yaml := func(mode string) []byte {
		sk := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))
		return fmt.Appendf(nil, wecomYAML, public, fs.URL+fuyunsim.TokenPath, strings.TrimSuffix(stub.LoginURL, "/login"), mode, sk+":"+sk)
	}
	pem, err := fuyun.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	opts := config.ParseOptions{LookupEnv: func(string) (string, bool) { return string(pem), true }}

	if _, err := config.Parse(yaml("oauth"), opts); err == nil || !strings.Contains(err.Error(), "fuyun_mode") {
		t.Fatalf("wecom in oauth mode: %v; want a refusal naming fuyun_mode", err)
	}

	cfg, err := config.Parse(yaml("jwt"), opts)
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

	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(public + "/login/wecom")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/callback/wecom" {
		t.Fatalf("login ended at %s with %d", resp.Request.URL, resp.StatusCode)
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
		t.Fatalf("AC_TOKEN %q not the emulator's: %v", token, err)
	}
	if claims.UserName != "zhangsan" || stub.Hits("login") != 1 || stub.Hits("getuserinfo") != 1 {
		t.Fatalf("token for %q; stub hits login %d getuserinfo %d", claims.UserName, stub.Hits("login"), stub.Hits("getuserinfo"))
	}
}
