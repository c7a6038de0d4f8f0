package fuyunsim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

// Keys are generated once per test binary: RSA generation is the slow part of this suite.
var (
	integratorKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() }) // registered for jwtIssuer
	strangerKey   = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() }) // registered nowhere
	simKey        = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() }) // the emulator's signing key
)

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

const (
	clientID     = "crm-client"
	clientSecret = "s3cr3t-Client-Secret"
	jwtIssuer    = "https://crm.example.test"
	appName      = "crmapp"
	redirectURL  = "https://bridge.example.test/callback"
)

// userInfos are what the stub IdP user endpoint knows, by access token.
var userInfos = map[string]string{
	"t-alice":     `{"sub":"1","email":"ALICE@Corp.Example.test","profile":{"phone":"+8613800000001","age":30},"preferred_username":"bob"}`,
	"t-nobody":    `{"sub":"2","email":"nobody@corp.example.test"}`,
	"t-no-email":  `{"sub":"3","name":"No Email"}`,
	"t-bool":      `{"sub":"4","email":true}`,
	"t-not-json":  `<html>hello</html>`,
	"t-empty-val": `{"sub":"5","email":"  "}`,
}

type env struct {
	sim      *fuyunsim.Server
	url      string // token endpoint
	base     string
	userinfo *httptest.Server
}

// testConfig registers one client in both modes plus OAuth-only clients with other mapping fields.
func testConfig(userEndpoint string) fuyunsim.Config {
	oauthOnly := func(id, app, endpoint, field string) fuyunsim.Client {
		return fuyunsim.Client{ClientID: id, ClientSecret: clientSecret, Scopes: []string{"user_management", "hotline"},
			OAuth: &fuyunsim.OAuthClient{AppName: app, UserEndpoint: endpoint, MappingField: field}}
	}
	return fuyunsim.Config{
		Issuer: "http://developer.rhinokeen.test",
		Clients: []fuyunsim.Client{
			{
				ClientID: clientID, ClientSecret: clientSecret, Scopes: []string{"user_management", "hotline"},
				JWT:   &fuyunsim.JWTClient{Issuer: jwtIssuer, Key: &integratorKey().PublicKey},
				OAuth: &fuyunsim.OAuthClient{AppName: appName, UserEndpoint: userEndpoint, MappingField: "email"},
			},
			oauthOnly("crm-phone", "app2", userEndpoint, "profile.phone"),
			oauthOnly("crm-username", "app3", userEndpoint, "preferred_username"),
			oauthOnly("crm-age", "app4", userEndpoint, "profile.age"),
			oauthOnly("crm-down", "app5", "http://127.0.0.1:1/userinfo", "email"),
		},
		Agents: []fuyunsim.Agent{
			{AccountName: "alice", Email: "alice@corp.example.test", Mobile: "+8613800000001"},
			{AccountName: "bob", Email: "bob@corp.example.test"},
		},
	}
}

func newEnv(t testing.TB, opts fuyunsim.Options) *env {
	t.Helper()
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch token {
		case "t-slow": // answers only when the emulator gives up
			<-r.Context().Done()
			return
		case "t-huge":
			_, _ = io.WriteString(w, `{"email":"`+strings.Repeat("x", 2<<20)+`"}`)
			return
		}
		body, known := userInfos[token]
		if !ok || !known {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(ui.Close)
	if opts.SigningKey == nil {
		opts.SigningKey = simKey()
	}
	sim, err := fuyunsim.New(testConfig(ui.URL+"/userinfo"), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{sim: sim, url: srv.URL + sim.TokenPath(), base: srv.URL, userinfo: ui}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// claims are the subject-JWT claims of a valid request; mod edits them (nil values are deleted).
func claims(mod map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": jwtIssuer, "user_name": "alice", "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
		"jti": uuid.NewString(),
	}
	for k, v := range mod {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// mint signs claims with go-jose: the emulator must see exactly what a real integrator would send.
func mint(t testing.TB, alg jose.SignatureAlgorithm, key any, c map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsignedJWT is the alg "none" attack token; go-jose refuses to build one, so it is spelled out.
func unsignedJWT(c map[string]any) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(c)
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "."
}

func jwtForm(subject string) url.Values {
	return url.Values{
		"grant_type":     {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"scope":          {"user_management,hotline"},
		"redirect_url":   {redirectURL},
		"subject_token":  {subject},
		"subject_issuer": {jwtIssuer},
	}
}

func oauthForm(subject, app string) url.Values {
	f := jwtForm(subject)
	f.Set("subject_issuer", app)
	return f
}

// request is one raw HTTP request to the emulator.
type request struct {
	method      string
	path        string // default: the token path
	query       string
	contentType string
	auth        string
	body        string
}

// formRequest is a well-formed POST for clientID carrying form.
func formRequest(form url.Values) request {
	return request{method: http.MethodPost, contentType: "application/x-www-form-urlencoded",
		auth: basic(clientID, clientSecret), body: form.Encode()}
}

// oauthError is the emulator's error body.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func (e *env) do(t testing.TB, rq request) (*http.Response, []byte) {
	t.Helper()
	target := e.url
	if rq.path != "" {
		target = e.base + rq.path
	}
	if rq.query != "" {
		target += "?" + rq.query
	}
	req, err := http.NewRequest(rq.method, target, strings.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	if rq.auth != "" {
		req.Header.Set("Authorization", rq.auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
