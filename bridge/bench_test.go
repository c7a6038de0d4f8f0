package bridge

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
	"github.com/fuyun-bridge/fuyun-bridge/providers"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// The benchmarks measure the bridge's own in-process cost of a login, with the IdP's and Fuyun's answers
// canned (no network, no signing by a stub inside the timed loop): BenchmarkCallback* is a whole
// /callback, the BenchmarkStage* ones each piece of it, so a regression points at its stage.
//
//	go test -run '^$' -bench . -benchmem ./bridge/

// cannedTransport answers the hot-path upstream calls from memory and sends the rest (discovery and JWKS at
// start-up) to the real stub.
type cannedTransport struct {
	answers map[string][]byte // by URL path
	next    http.RoundTripper
}

func (c *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if body, ok := c.answers[r.URL.Path]; ok {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			_ = r.Body.Close()
		}
		return &http.Response{
			StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: r,
			Header:        http.Header{"Content-Type": {"application/json"}},
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
		}, nil
	}
	return c.next.RoundTrip(r)
}

// benchEnv is a bridge whose hot-path upstream answers are canned, and one started login.
type benchEnv struct {
	h        http.Handler // what serves the requests: srv, or the platform in front of it
	base     string       // the URL srv's paths are under
	srv      *Server
	stub     *upstreamStub
	canned   *cannedTransport
	client   *http.Client
	cookies  map[string]*http.Cookie // the login-state cookie of the started login, by provider
	state    map[string]string
	nonce    string
	idToken  string
	userinfo []byte
}

// benchPublic is the bench bridge's public URL; nothing listens there.
const benchPublic = "http://127.0.0.1:8089"

// newBenchEnv serves stubConfig's company from the configuration file (single-tenant mode).
func newBenchEnv(b *testing.B) *benchEnv {
	return startBenchEnv(b, func(stub *upstreamStub, client *http.Client) (http.Handler, *Server, string) {
		srv, err := NewFromConfig(stubConfig(b, stub, benchPublic, ""), BuildOptions{HTTPClient: client})
		if err != nil {
			b.Fatal(err)
		}
		return srv, srv, benchPublic
	})
}

// startBenchEnv builds the bridge with serve over a fresh stub and the canned client, and starts one login per
// provider.
func startBenchEnv(b *testing.B, serve func(*upstreamStub, *http.Client) (http.Handler, *Server, string)) *benchEnv {
	b.Helper()
	stub := newUpstreamStub(b)
	canned := &cannedTransport{answers: map[string][]byte{}, next: http.DefaultTransport}
	client := &http.Client{Transport: canned}
	h, srv, base := serve(stub, client)
	e := &benchEnv{h: h, base: base, srv: srv, stub: stub, canned: canned, client: client,
		cookies: map[string]*http.Cookie{}, state: map[string]string{}}
	for _, id := range []string{"stub", "stub-jwt"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, base+"/login/"+id+"?return_to=/", nil))
		if rec.Code != http.StatusFound {
			b.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
		loc, _ := url.Parse(rec.Header().Get("Location"))
		e.state[id] = loc.Query().Get("state")
		if e.nonce == "" {
			e.nonce = loc.Query().Get("nonce")
		}
		e.cookies[id] = rec.Result().Cookies()[0]
	}
	// Both logins must share one nonce for one canned ID token: restart the second with the first's nonce.
	e.restartWithNonce(b, "stub-jwt")
	now := time.Now()
	var err error
	e.idToken, err = jwt.Signed(stub.signer).Claims(map[string]any{
		"iss": stub.srv.URL, "aud": stubClientID, "sub": "u-alice", "nonce": e.nonce,
		"iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(),
	}).Serialize()
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := json.Marshal(map[string]any{"access_token": "at-bench", "token_type": "Bearer", "expires_in": 3600, "id_token": e.idToken})
	e.userinfo = []byte(`{"sub":"u-alice","email":"alice@example.com","email_verified":true,"name":"Alice Chen"}`)
	canned.answers["/token"] = tok
	canned.answers["/userinfo"] = e.userinfo
	canned.answers[stubPathFuyun] = stub.fuyun
	return e
}

// restartWithNonce rewrites the login state of id to carry e.nonce (the state cookie is ours to make).
func (e *benchEnv) restartWithNonce(b *testing.B, id string) {
	ls := &loginState{State: randomToken(32), Nonce: e.nonce, CodeVerifier: oauth2.GenerateVerifier(),
		Provider: id, ReturnTo: "/", Mode: modeRedirect, StartedUnix: time.Now().Unix(),
		Tenant: e.srv.opts.Tenant, Fingerprint: e.srv.routes[id].fingerprint}
	rec := httptest.NewRecorder()
	if err := e.srv.states.save(rec, httptest.NewRequest(http.MethodGet, "/", nil), ls); err != nil {
		b.Fatal(err)
	}
	e.state[id], e.cookies[id] = ls.State, rec.Result().Cookies()[0]
}

func (e *benchEnv) callback(b *testing.B, id string) {
	req := httptest.NewRequest(http.MethodGet, e.base+"/callback/"+id+"?code=c&iss="+url.QueryEscape(e.stub.srv.URL)+"&state="+e.state[id], nil)
	req.AddCookie(e.cookies[id])
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
}

// newPlatformBenchEnv serves the same company as tenant "stub-co" of platform mode, on a SQLite store: each
// request goes through the platform's dispatch to the tenant's server.
func newPlatformBenchEnv(b *testing.B) *benchEnv {
	return startBenchEnv(b, func(stub *upstreamStub, client *http.Client) (http.Handler, *Server, string) {
		key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'k'}, 32))
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {public_url: %q}
session: {keys: ["%s:%s"]}
cookie: {secure: false}
store: {driver: sqlite, path: %q, encryption_keys: [%q]}
`, benchPublic, key, key, filepath.Join(b.TempDir(), "tenants.db"), key)), config.ParseOptions{Name: "platform.yaml"})
		if err != nil {
			b.Fatal(err)
		}
		st, err := store.Open(b.Context(), store.Options{Driver: "sqlite", Path: cfg.Store.Path, EncryptionKeys: cfg.Store.Keys})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		doc := "id: stub-co\ndisplay_name: Stub Co\ndomains: [example.com]\n" + stubCompany(b, stub, benchPublic+"/t/stub-co", "")
		t, err := config.ParseTenant([]byte(doc), config.TenantOptions{PublicURL: benchPublic})
		if err != nil {
			b.Fatal(err)
		}
		cfgDoc, secrets, err := t.Split()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Create(b.Context(), store.Tenant{ID: t.ID, Domains: t.Domains, Config: cfgDoc, Secrets: secrets}); err != nil {
			b.Fatal(err)
		}
		p, err := NewPlatform(cfg, st, BuildOptions{HTTPClient: client})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.loadAll(b.Context()); err != nil {
			b.Fatal(err)
		}
		srv, err := p.table.Load().byID["stub-co"].server(p)
		if err != nil {
			b.Fatal(err)
		}
		return p, srv, benchPublic + "/t/stub-co"
	})
}

// benchCallback times whole callbacks of provider id, after one outside the timed loop (discovery and keys
// load then). Beside ns/op it reports cpu-ns/op, the process's CPU time (user and system, every thread,
// garbage collection included) per callback, which other processes on a shared machine do not inflate as
// they do wall time.
func benchCallback(b *testing.B, e *benchEnv, id string) {
	e.callback(b, id)
	b.ReportAllocs()
	start := processCPU(b)
	for b.Loop() {
		e.callback(b, id)
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time the process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCallbackOAuth is a whole OAuth-mode /callback: state cookie, code redemption and token parse,
// ID-token verification, userinfo, mapping, the Fuyun exchange, AC_TOKEN and the 303.
func BenchmarkCallbackOAuth(b *testing.B) { benchCallback(b, newBenchEnv(b), "stub") }

// BenchmarkCallbackJWT is a whole JWT-mode /callback, which also signs the subject JWT (RSA-2048).
func BenchmarkCallbackJWT(b *testing.B) { benchCallback(b, newBenchEnv(b), "stub-jwt") }

// BenchmarkCallbackPlatformOAuth is BenchmarkCallbackOAuth with the same providers served as a platform-mode
// tenant: what finding the tenant and its server adds to a login.
func BenchmarkCallbackPlatformOAuth(b *testing.B) { benchCallback(b, newPlatformBenchEnv(b), "stub") }

// BenchmarkCallbackPlatformJWT is BenchmarkCallbackJWT as a platform-mode tenant.
func BenchmarkCallbackPlatformJWT(b *testing.B) { benchCallback(b, newPlatformBenchEnv(b), "stub-jwt") }

// BenchmarkLogin is /login/{provider}: fresh state, nonce and verifier, the state cookie, the redirect.
func BenchmarkLogin(b *testing.B) {
	e := newBenchEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, e.base+"/login/stub?return_to=/", nil))
		if rec.Code != http.StatusFound {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkStageStateSave is encoding and encrypting one login-state cookie.
func BenchmarkStageStateSave(b *testing.B) {
	e := newBenchEnv(b)
	ls := &loginState{State: randomToken(32), Nonce: randomToken(32), CodeVerifier: oauth2.GenerateVerifier(),
		Provider: "stub", ReturnTo: "/", Mode: modeRedirect, StartedUnix: time.Now().Unix()}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.srv.states.save(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), ls); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageStateTake is authenticating, decrypting and decoding the login-state cookie.
func BenchmarkStageStateTake(b *testing.B) {
	e := newBenchEnv(b)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(e.cookies["stub"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.srv.states.take(httptest.NewRecorder(), r, e.state["stub"]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageTokenRedeem is the code → token request and the parse of its answer (golang.org/x/oauth2).
func BenchmarkStageTokenRedeem(b *testing.B) {
	e := newBenchEnv(b)
	conf := &oauth2.Config{ClientID: stubClientID, ClientSecret: "idp-secret", Endpoint: oauth2.Endpoint{TokenURL: e.stub.srv.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.client)
	verifier := oauth2.GenerateVerifier()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conf.Exchange(ctx, "c", oauth2.VerifierOption(verifier)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageIDTokenVerify is go-oidc's signature, iss and exp check of the ES256 ID token with the key
// already in memory, plus decoding its claims.
func BenchmarkStageIDTokenVerify(b *testing.B) {
	e := newBenchEnv(b)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(e.stub.jwks, &set); err != nil {
		b.Fatal(err)
	}
	v := oidc.NewVerifier(e.stub.srv.URL, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{set.Keys[0].Key}}, &oidc.Config{ClientID: stubClientID, SupportedSigningAlgs: signingAlgsForBench})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		idt, err := v.Verify(ctx, e.idToken)
		if err != nil {
			b.Fatal(err)
		}
		var claims map[string]any
		if err := idt.Claims(&claims); err != nil {
			b.Fatal(err)
		}
	}
}

var signingAlgsForBench = []string{oidc.RS256, oidc.ES256}

// BenchmarkStageUserinfo is the userinfo GET and the decode of its JSON, through the provider.
func BenchmarkStageUserinfo(b *testing.B) {
	e := newBenchEnv(b)
	p := e.srv.routes["stub"].Provider
	ctx := context.Background()
	if err := p.(providers.Readier).Ready(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.(providers.UserInfoer).UserInfo(ctx, "at-bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageMapping is Identity → agent: field, transform, domain allow-list.
func BenchmarkStageMapping(b *testing.B) {
	e := newBenchEnv(b)
	m := e.srv.routes["stub"].Mapper
	var claims map[string]any
	_ = json.Unmarshal(e.userinfo, &claims)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(claims); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageFuyunOAuth is the OAuth-mode exchange request and the parse of Fuyun's answer.
func BenchmarkStageFuyunOAuth(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.srv.opts.Fuyun.ExchangeOAuth(ctx, "at-bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageFuyunJWT is the JWT-mode exchange: minting the RS256 subject JWT dominates.
func BenchmarkStageFuyunJWT(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.srv.opts.Fuyun.ExchangeJWT(ctx, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageFuyunClaims is reading user_name from Fuyun's access token (OAuth mode).
func BenchmarkStageFuyunClaims(b *testing.B) {
	e := newBenchEnv(b)
	tok, err := e.srv.opts.Fuyun.ExchangeOAuth(context.Background(), "at-bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tok.Claims(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStageCookie is building and writing the AC_TOKEN cookie.
func BenchmarkStageCookie(b *testing.B) {
	e := newBenchEnv(b)
	tok := strings.Repeat("x", 900)
	b.ReportAllocs()
	for b.Loop() {
		c, err := e.srv.opts.Cookie.tokenCookie(tok, 2591999)
		if err != nil {
			b.Fatal(err)
		}
		http.SetCookie(httptest.NewRecorder(), c)
	}
}
