package bridge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
)

// upstreamStub is one loopback server that plays a cheap OIDC IdP (ES256 ID tokens, so that its own
// signing costs little) and Fuyun's token endpoint (a canned, pre-signed access token), for the bench,
// fault and soak tests. Each endpoint can be replaced by a fault hook, and every request is counted.
type upstreamStub struct {
	srv    *httptest.Server
	signer jose.Signer
	jwks   []byte
	fuyun  []byte // the canned token-exchange answer

	// userinfo and mapping are the providers' `userinfo:` mode and `mapping:` block in stubConfig; defaults
	// "always" (these tests exercise the userinfo call) and email within example.com.
	userinfo, mapping string

	mu     sync.Mutex
	codes  map[string]string // code → nonce
	hooks  map[string]http.HandlerFunc
	counts map[string]*atomic.Int64
}

const (
	stubClientID  = "stub-client"
	stubPathFuyun = "/fuyun/token_exchange"
)

func newUpstreamStub(t testing.TB) *upstreamStub {
	t.Helper()
	return newUpstreamStubOn(t, httptest.NewServer)
}

// newUpstreamStubOn is newUpstreamStub served by start (e.g. a TLS server on a wrapped listener).
func newUpstreamStubOn(t testing.TB, start func(http.Handler) *httptest.Server) *upstreamStub {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	// Fuyun's access token: signed once; the bridge only reads its payload.
	fk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: fk}, nil)
	at, err := jwt.Signed(fs).Claims(map[string]any{
		"iss": "http://fuyun.test", "user_name": "alice", "client_id": "crm", "jti": "j1",
		"exp": time.Now().Add(720 * time.Hour).Unix(), "scope": []string{"user_management", "hotline"},
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	fy, _ := json.Marshal(map[string]any{"access_token": at, "token_type": "bearer", "expires_in": 2591999, "scope": "user_management,hotline", "iss": "http://fuyun.test", "jti": "j1"})
	s := &upstreamStub{signer: signer, jwks: jwks, fuyun: fy, codes: map[string]string{}, hooks: map[string]http.HandlerFunc{}, counts: map[string]*atomic.Int64{}}
	for _, p := range []string{"/.well-known/openid-configuration", "/jwks", "/authorize", "/token", "/userinfo", stubPathFuyun} {
		s.counts[p] = &atomic.Int64{}
	}
	s.srv = start(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.CloseClientConnections() // ends hanging fault handlers
		s.srv.Close()
	})
	return s
}

// hook replaces the handler of path (nil restores it).
func (s *upstreamStub) hook(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.hooks, path)
		return
	}
	s.hooks[path] = h
}

func (s *upstreamStub) count(path string) int64 { return s.counts[path].Load() }

func (s *upstreamStub) serve(w http.ResponseWriter, r *http.Request) {
	if c := s.counts[r.URL.Path]; c != nil {
		c.Add(1)
	}
	s.mu.Lock()
	h := s.hooks[r.URL.Path]
	s.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	base := s.srv.URL
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		writeJSON(w, 200, map[string]any{
			"issuer": base, "authorization_endpoint": base + "/authorize", "token_endpoint": base + "/token",
			"userinfo_endpoint": base + "/userinfo", "jwks_uri": base + "/jwks",
			"id_token_signing_alg_values_supported": []string{"ES256"}, "response_types_supported": []string{"code"},
		})
	case "/jwks":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.jwks)
	case "/authorize":
		q := r.URL.Query()
		code := randomToken(16)
		s.mu.Lock()
		s.codes[code] = q.Get("nonce")
		s.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {base}}.Encode(), http.StatusFound)
	case "/token":
		_ = r.ParseForm()
		code := r.PostForm.Get("code")
		s.mu.Lock()
		nonce, ok := s.codes[code]
		delete(s.codes, code)
		s.mu.Unlock()
		if !ok {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		now := time.Now()
		idt, err := jwt.Signed(s.signer).Claims(map[string]any{
			"iss": base, "aud": stubClientID, "sub": "u-alice", "nonce": nonce,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "email": "alice@example.com", "email_verified": true,
		}).Serialize()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": "at-" + code, "token_type": "Bearer", "expires_in": 3600, "id_token": idt})
	case "/userinfo":
		writeJSON(w, 200, map[string]any{"sub": "u-alice", "email": "alice@example.com", "email_verified": true})
	case stubPathFuyun:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.fuyun)
	default:
		http.NotFound(w, r)
	}
}

// stubConfig is a bridge config pointed at the stub: provider "stub" (OAuth mode) and "stub-jwt" (JWT mode).
// fuyunExtra is added under fuyun: (e.g. "timeout: 200ms").
func stubConfig(t testing.TB, s *upstreamStub, public, fuyunExtra string) *config.Config {
	t.Helper()
	sk := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	yaml := fmt.Sprintf(`
server: {public_url: %q}
session: {keys: ["%s:%s"]}
cookie: {secure: false}
%s`, public, sk, sk, stubCompany(t, s, public, fuyunExtra))
	cfg, err := config.Parse([]byte(yaml), config.ParseOptions{Name: "stub.yaml", LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// stubCompany is the fuyun and providers sections of a company wired to s: providers "stub" (OAuth mode) and
// "stub-jwt" (JWT mode), with a fresh JWT key; the same in a configuration file and in a platform-mode tenant.
func stubCompany(t testing.TB, s *upstreamStub, public, fuyunExtra string) string {
	t.Helper()
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := fuyun.MarshalPrivateKeyPEM(key)
	userinfo, mapping := s.userinfo, s.mapping
	if userinfo == "" {
		userinfo = "always" // these tests exercise the userinfo call; auto would skip it (the ID token has email)
	}
	if mapping == "" {
		mapping = "{field: email, transform: strip_domain, allowed_domains: [example.com]}"
	}
	provider := func(id, mode string) string {
		return fmt.Sprintf(`
  - id: %s
    type: oidc
    issuer: %q
    client_id: %s
    client_secret: idp-secret
    fuyun_mode: %s
    userinfo: %s
    mapping: %s`, id, s.srv.URL, stubClientID, mode, userinfo, mapping)
	}
	return fmt.Sprintf(`fuyun:
  token_url: %q
  client_id: crm
  client_secret: s3cret
  scope: "user_management,hotline"
  redirect_url: %q
  app_name: crmapp
  jwt: {issuer: "https://crm.example.com", private_key: %q}
  %s
providers:%s%s
`, s.srv.URL+stubPathFuyun, public+"/callback", string(pem), fuyunExtra, provider("stub", "oauth"), provider("stub-jwt", "jwt"))
}

// stubBridge serves a bridge wired to s on loopback.
func stubBridge(t testing.TB, s *upstreamStub, fuyunExtra string, bo BuildOptions) (*Server, *httptest.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	public := "http://" + ts.Listener.Addr().String()
	srv, err := NewFromConfig(stubConfig(t, s, public, fuyunExtra), bo)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return srv, ts
}

// stubLogin runs one whole browser login (fresh cookie jar, every redirect followed) and returns the final
// status, the error code shown (if any) and whether AC_TOKEN was set.
func stubLogin(c *http.Client, base, provider string) (status int, code string, token bool, err error) {
	jar, _ := cookiejar.New(nil)
	cl := *c
	cl.Jar = jar
	resp, err := cl.Get(base + "/login/" + provider)
	if err != nil {
		return 0, "", false, err
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	if resp.StatusCode != http.StatusOK {
		_ = json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&body)
	}
	u, _ := url.Parse(base)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "AC_TOKEN" && ck.Value != "" {
			token = true
		}
	}
	return resp.StatusCode, body.Error, token, nil
}

// jsonClient asks for JSON answers, so that failures carry their code in a parseable body.
func jsonClient(tr http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: acceptJSON{tr}}
}

type acceptJSON struct{ base http.RoundTripper }

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.base.RoundTrip(r)
}
