// Package bridgetest is test support for whole logins: a bridge built from YAML exactly as `serve` builds it,
// in front of the Fuyun emulator, and a cookie-jar browser that logs in through it. The provider presets'
// end-to-end tests share it, so every preset's full login is set up the same way.
package bridgetest

import (
	"crypto/rsa"
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
)

// Stack is the Fuyun emulator (client "crm", JWT mode under Key's public key) and the bridge's loopback address,
// reserved before the bridge starts: an IdP stub needs the callback URL first.
type Stack struct {
	// Public is the bridge's URL; callbacks are Public + "/callback/{id}".
	Public   string
	TokenURL string
	Sim      *fuyunsim.Server
	Key      *rsa.PrivateKey
	front    *httptest.Server
}

// New starts the emulator, which knows agents, and reserves the bridge's address; both close when the test ends.
func New(t testing.TB, agents ...string) *Stack {
	t.Helper()
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var as []fuyunsim.Agent
	for _, a := range agents {
		as = append(as, fuyunsim.Agent{AccountName: a})
	}
	sim, err := fuyunsim.New(fuyunsim.Config{Issuer: "http://fuyun.test", Clients: []fuyunsim.Client{{
		ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
		JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey},
	}}, Agents: as}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	front := httptest.NewUnstartedServer(nil)
	t.Cleanup(front.Close)
	return &Stack{Public: "http://" + front.Listener.Addr().String(), TokenURL: simSrv.URL + fuyunsim.TokenPath, Sim: sim, Key: key, front: front}
}

// Config is a whole bridge configuration: the bridge at Public, a session key, the fuyun: block (client crm, the
// JWT key read from ${KEY}) and providersYAML, the `providers:` list's entries.
func (s *Stack) Config(providersYAML string) string {
	return ConfigYAML(s.Public, s.TokenURL, "", providersYAML, "")
}

// ConfigYAML is Config for a bridge at public whose Fuyun token URL is tokenURL, with fuyunExtra lines added to
// the fuyun: block and extra top-level YAML after the providers.
func ConfigYAML(public, tokenURL, fuyunExtra, providersYAML, extra string) string {
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
%sproviders:
%s%s`, public, sk+":"+sk, tokenURL, fuyunExtra, providersYAML, extra)
}

// Parse parses a configuration from Config as `serve` would, with ${KEY} the emulator's JWT key.
func (s *Stack) Parse(yaml string) (*config.Config, error) {
	pem, err := fuyun.MarshalPrivateKeyPEM(s.Key)
	if err != nil {
		return nil, err
	}
	return config.Parse([]byte(yaml), config.ParseOptions{LookupEnv: func(string) (string, bool) { return string(pem), true }})
}

// Serve builds the bridge from Config(providersYAML) and serves it at Public.
func (s *Stack) Serve(t testing.TB, providersYAML string) {
	t.Helper()
	cfg, err := s.Parse(s.Config(providersYAML))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.front.Config.Handler = srv
	s.front.Start()
}

// Result is where a login ended.
type Result struct {
	Status  int
	URL     *url.URL // the last request's URL
	Body    string
	ACToken string // "" when the bridge set none
}

// Login runs /login/{provider} in a fresh cookie jar, following every redirect (bridge → IdP → bridge), and
// returns where it ended. It fails the test unless the login ended at the bridge's callback.
func (s *Stack) Login(t testing.TB, provider string) Result {
	t.Helper()
	return LoginAt(t, s.Public, provider)
}

// LoginAt is Login at the bridge at public.
func LoginAt(t testing.TB, public, provider string) Result {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(public + "/login/" + provider)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/callback/"+provider {
		t.Fatalf("login %s ended at %s (%d), not the callback", provider, resp.Request.URL, resp.StatusCode)
	}
	r := Result{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body)}
	u, _ := url.Parse(public)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "AC_TOKEN" {
			r.ACToken = ck.Value
		}
	}
	return r
}
