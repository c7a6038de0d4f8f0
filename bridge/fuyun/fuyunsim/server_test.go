package fuyunsim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

func TestRejections(t *testing.T) {
	e := newEnv(t, fuyunsim.Options{})
	valid := func() url.Values { return jwtForm(mint(t, jose.RS256, integratorKey(), claims(nil))) }
	withJWT := func(mod map[string]any) request {
		return formRequest(jwtForm(mint(t, jose.RS256, integratorKey(), claims(mod))))
	}
	edit := func(f func(url.Values)) request {
		form := valid()
		f(form)
		return formRequest(form)
	}
	now := time.Now()
	cases := []struct {
		name   string
		req    request
		status int
		code   string
		desc   string
	}{
		// Transport and client authentication.
		{"GET", request{method: http.MethodGet, auth: basic(clientID, clientSecret)}, 405, "invalid_request", "POST"},
		{"PUT", func() request { r := formRequest(valid()); r.method = http.MethodPut; return r }(), 405, "invalid_request", "POST"},
		{"no Basic auth", func() request { r := formRequest(valid()); r.auth = ""; return r }(), 401, "invalid_client", "Basic base64(client_id:client_secret)"},
		{"Bearer instead of Basic", func() request { r := formRequest(valid()); r.auth = "Bearer abc"; return r }(), 401, "invalid_client", "not valid HTTP Basic"},
		{"Basic without colon", func() request { r := formRequest(valid()); r.auth = "Basic Y3JtLWNsaWVudA=="; return r }(), 401, "invalid_client", "not valid HTTP Basic"},
		{"unknown client", func() request { r := formRequest(valid()); r.auth = basic("nobody", clientSecret); return r }(), 401, "invalid_client", "unknown client_id"},
		{"wrong secret", func() request { r := formRequest(valid()); r.auth = basic(clientID, "guess"); return r }(), 401, "invalid_client", "client_secret does not match"},
		{"secret with a trailing newline", func() request { r := formRequest(valid()); r.auth = basic(clientID, clientSecret+"\n"); return r }(), 401, "invalid_client", "does not match"},
		// Form encoding.
		{"parameters in the query string", func() request {
			r := formRequest(url.Values{})
			r.query = valid().Encode()
			return r
		}(), 400, "invalid_request", "in the body, not the query string"},
		{"JSON body", func() request {
			r := formRequest(nil)
			r.contentType = "application/json"
			b, _ := json.Marshal(map[string]string{"grant_type": fuyun.GrantTypeTokenExchange})
			r.body = string(b)
			return r
		}(), 415, "invalid_request", "form encoding, not JSON"},
		{"JSON body labelled as form", func() request {
			r := formRequest(nil)
			r.body = `{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange"}`
			return r
		}(), 400, "invalid_request", "form encoding, not JSON"},
		{"no Content-Type", func() request { r := formRequest(valid()); r.contentType = ""; return r }(), 415, "invalid_request", "missing Content-Type"},
		{"multipart", func() request { r := formRequest(valid()); r.contentType = "multipart/form-data; boundary=x"; return r }(), 415, "invalid_request", "application/x-www-form-urlencoded"},
		{"broken form encoding", func() request { r := formRequest(nil); r.body = "grant_type=%zz"; return r }(), 400, "invalid_request", "not valid form encoding"},
		{"repeated parameter", func() request { r := formRequest(valid()); r.body += "&scope=hotline"; return r }(), 400, "invalid_request", `"scope" is repeated`},
		{"oversized body", func() request { r := formRequest(valid()); r.body += "&pad=" + strings.Repeat("a", 70<<10); return r }(), 413, "invalid_request", "over"},
		// Parameters.
		{"no grant_type", edit(func(f url.Values) { f.Del("grant_type") }), 400, "invalid_request", "missing grant_type"},
		{"wrong grant_type", edit(func(f url.Values) { f.Set("grant_type", "authorization_code") }), 400, "unsupported_grant_type", "authorization_code"},
		{"no scope", edit(func(f url.Values) { f.Del("scope") }), 400, "invalid_scope", "missing scope"},
		{"blank scope", edit(func(f url.Values) { f.Set("scope", " , ") }), 400, "invalid_scope", "missing scope"},
		{"scope not granted", edit(func(f url.Values) { f.Set("scope", "user_management,admin") }), 400, "invalid_scope", `"admin" is not granted`},
		{"no redirect_url", edit(func(f url.Values) { f.Del("redirect_url") }), 400, "invalid_request", "missing redirect_url"},
		{"relative redirect_url", edit(func(f url.Values) { f.Set("redirect_url", "/callback") }), 400, "invalid_request", "not an absolute URL"},
		{"no subject_token", edit(func(f url.Values) { f.Del("subject_token") }), 400, "invalid_request", "missing subject_token"},
		{"no subject_issuer", edit(func(f url.Values) { f.Del("subject_issuer") }), 400, "invalid_request", "missing subject_issuer"},
		{"unknown subject_issuer", edit(func(f url.Values) { f.Set("subject_issuer", "https://other.example.test") }), 400, "invalid_grant", "subject_issuer \"https://other.example.test\" is unknown"},
		// JWT mode.
		{"subject token is not a JWT", edit(func(f url.Values) { f.Set("subject_token", "not-a-jwt") }), 400, "invalid_grant", "not a compact RS256 JWT"},
		{"alg none", edit(func(f url.Values) { f.Set("subject_token", unsignedJWT(claims(nil))) }), 400, "invalid_grant", "alg none"},
		{"HS256 with the public key as secret", edit(func(f url.Values) {
			f.Set("subject_token", mint(t, jose.HS256, integratorKey().PublicKey.N.Bytes(), claims(nil)))
		}), 400, "invalid_grant", "alg HS256 is not accepted"},
		{"RS512", edit(func(f url.Values) { f.Set("subject_token", mint(t, jose.RS512, integratorKey(), claims(nil))) }), 400, "invalid_grant", "alg RS512 is not accepted"},
		{"PS256", edit(func(f url.Values) { f.Set("subject_token", mint(t, jose.PS256, integratorKey(), claims(nil))) }), 400, "invalid_grant", "alg PS256 is not accepted"},
		{"signed with another key", edit(func(f url.Values) { f.Set("subject_token", mint(t, jose.RS256, strangerKey(), claims(nil))) }), 400, "invalid_grant", "signature does not verify"},
		{"iss differs from subject_issuer", withJWT(map[string]any{"iss": "https://evil.example.test"}), 400, "invalid_grant", "does not match subject_issuer"},
		{"no iss", withJWT(map[string]any{"iss": nil}), 400, "invalid_grant", "no iss"},
		{"no exp", withJWT(map[string]any{"exp": nil}), 400, "invalid_grant", "no exp"},
		{"exp in milliseconds (the guide's Java demo)", withJWT(map[string]any{"exp": now.UnixMilli() + 1622797200}), 400, "invalid_grant",
			"exp looks like milliseconds; JWT NumericDate is seconds"},
		{"exp as a string", withJWT(map[string]any{"exp": "1700000000"}), 400, "invalid_grant", "malformed"},
		{"expired", withJWT(map[string]any{"exp": now.Add(-2 * time.Minute).Unix(), "iat": now.Add(-7 * time.Minute).Unix()}), 400, "invalid_grant", "expired at"},
		{"exp more than a day ahead", withJWT(map[string]any{"exp": now.Add(25 * time.Hour).Unix()}), 400, "invalid_grant", "more than 24h0m0s ahead"},
		{"iat in the future", withJWT(map[string]any{"iat": now.Add(5 * time.Minute).Unix()}), 400, "invalid_grant", "iat is in the future"},
		{"nbf in the future", withJWT(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()}), 400, "invalid_grant", "nbf is in the future"},
		{"no jti", withJWT(map[string]any{"jti": nil}), 400, "invalid_grant", "no jti"},
		{"empty jti", withJWT(map[string]any{"jti": ""}), 400, "invalid_grant", "no jti"},
		{"no user_name", withJWT(map[string]any{"user_name": nil}), 400, "invalid_grant", "no user_name"},
		{"unknown agent", withJWT(map[string]any{"user_name": "mallory"}), 400, "invalid_grant", `unknown agent "mallory"`},
		{"agent names are case-sensitive", withJWT(map[string]any{"user_name": "Alice"}), 400, "invalid_grant", "unknown agent"},
		// OAuth mode.
		{"IdP refuses the subject token", formRequest(oauthForm("t-revoked", appName)), 400, "invalid_grant", "answered HTTP 401"},
		{"user info has no mapping field", formRequest(oauthForm("t-no-email", appName)), 400, "invalid_grant", `"email" is missing`},
		{"mapping field is not a string", formRequest(oauthForm("t-bool", appName)), 400, "invalid_grant", "boolean"},
		{"mapping field is blank", formRequest(oauthForm("t-empty-val", appName)), 400, "invalid_grant", "empty"},
		{"user info is not JSON", formRequest(oauthForm("t-not-json", appName)), 400, "invalid_grant", "not JSON"},
		{"no agent maps", formRequest(oauthForm("t-nobody", appName)), 400, "invalid_grant", `no agent maps to "nobody@corp.example.test"`},
		{"numbers map but match no agent", func() request {
			r := formRequest(oauthForm("t-alice", "app4"))
			r.auth = basic("crm-age", clientSecret)
			return r
		}(), 400, "invalid_grant", `no agent maps to "30"`},
		{"user endpoint unreachable", func() request {
			r := formRequest(oauthForm("t-alice", "app5"))
			r.auth = basic("crm-down", clientSecret)
			return r
		}(), 503, "temporarily_unavailable", "could not be reached"},
		{"App Name of another client", formRequest(oauthForm("t-alice", "app2")), 400, "invalid_grant", "is unknown for client crm-client"},
		// Other paths.
		{"unknown path", request{method: http.MethodGet, path: "/oauth/token"}, 404, "not_found", "POST /oauth/token_exchange"},
		{"JWKS by POST", request{method: http.MethodPost, path: "/.well-known/jwks.json"}, 405, "invalid_request", "GET"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, tc.req)
			var got oauthError
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("HTTP %d, body is not JSON: %q", resp.StatusCode, body)
			}
			if resp.StatusCode != tc.status || got.Error != tc.code || !strings.Contains(got.ErrorDescription, tc.desc) {
				t.Fatalf("got HTTP %d %s %q; want HTTP %d %s containing %q", resp.StatusCode, got.Error, got.ErrorDescription, tc.status, tc.code, tc.desc)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("401 without WWW-Authenticate: Basic (got %q)", resp.Header.Get("WWW-Authenticate"))
			}
			if strings.Contains(string(body), clientSecret) {
				t.Fatal("the error body echoes the client secret")
			}
		})
	}
}

// tokenResponse decodes a success body, failing the test on anything else.
func tokenResponse(t *testing.T, resp *http.Response, body []byte) fuyun.Token {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("headers %v", resp.Header)
	}
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"access_token", "token_type", "expires_in", "scope", "iss", "jti"} {
		if _, ok := fields[k]; !ok {
			t.Fatalf("response lacks %q: %s", k, body)
		}
	}
	var tok fuyun.Token
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSuccess(t *testing.T) {
	e := newEnv(t, fuyunsim.Options{})
	asClient := func(id string, form url.Values) request {
		r := formRequest(form)
		r.auth = basic(id, clientSecret)
		return r
	}
	now := time.Now()
	cases := []struct {
		name      string
		req       request
		wantUser  string
		wantScope string
	}{
		{"jwt mode", formRequest(jwtForm(mint(t, jose.RS256, integratorKey(), claims(nil)))), "alice", "user_management,hotline"},
		{"jwt mode for bob, one scope", formRequest(func() url.Values {
			f := jwtForm(mint(t, jose.RS256, integratorKey(), claims(map[string]any{"user_name": "bob"})))
			f.Set("scope", "hotline")
			return f
		}()), "bob", "hotline"},
		{"jwt mode within the exp leeway", formRequest(jwtForm(mint(t, jose.RS256, integratorKey(),
			claims(map[string]any{"exp": now.Add(-30 * time.Second).Unix(), "iat": now.Add(-5 * time.Minute).Unix()})))), "alice", "user_management,hotline"},
		{"jwt mode without iat", formRequest(jwtForm(mint(t, jose.RS256, integratorKey(), claims(map[string]any{"iat": nil})))), "alice", "user_management,hotline"},
		{"scope with spaces and repeats", formRequest(func() url.Values {
			f := jwtForm(mint(t, jose.RS256, integratorKey(), claims(nil)))
			f.Set("scope", " user_management , hotline,hotline ")
			return f
		}()), "alice", "user_management,hotline"},
		{"oauth mode by email, case-insensitive", formRequest(oauthForm("t-alice", appName)), "alice", "user_management,hotline"},
		{"oauth mode by nested mobile", asClient("crm-phone", oauthForm("t-alice", "app2")), "alice", "user_management,hotline"},
		{"oauth mode by account name", asClient("crm-username", oauthForm("t-alice", "app3")), "bob", "user_management,hotline"},
		{"form Content-Type with charset", func() request {
			r := formRequest(jwtForm(mint(t, jose.RS256, integratorKey(), claims(nil))))
			r.contentType = "application/x-www-form-urlencoded; charset=UTF-8"
			return r
		}(), "alice", "user_management,hotline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, tc.req)
			tok := tokenResponse(t, resp, body)
			if tok.TokenType != "bearer" || tok.ExpiresIn != 2591999 || tok.Scope != tc.wantScope || tok.Issuer != e.sim.Issuer() {
				t.Fatalf("response %+v", tok)
			}
			c, err := e.sim.VerifyAccessToken(tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if c.UserName != tc.wantUser || c.JTI != tok.JTI || c.Issuer != e.sim.Issuer() ||
				strings.Join(c.Scope, ",") != tc.wantScope || c.ClientID == "" {
				t.Fatalf("claims %+v", c)
			}
			if d := c.Expiry - time.Now().Unix(); d < 2591990 || d > 2592001 {
				t.Fatalf("access token exp is %ds away; want the 720h TTL", d)
			}
		})
	}
}

func TestReplayIsRefused(t *testing.T) {
	e := newEnv(t, fuyunsim.Options{})
	req := formRequest(jwtForm(mint(t, jose.RS256, integratorKey(), claims(nil))))
	resp, body := e.do(t, req)
	tokenResponse(t, resp, body)
	resp, body = e.do(t, req)
	var got oauthError
	_ = json.Unmarshal(body, &got)
	if resp.StatusCode != 400 || got.Error != "invalid_grant" || !strings.Contains(got.ErrorDescription, "already used") {
		t.Fatalf("replay: HTTP %d %s", resp.StatusCode, body)
	}
}

func TestReplayCacheFull(t *testing.T) {
	e := newEnv(t, fuyunsim.Options{ReplayCapacity: 2})
	for i, want := range []int{200, 200, 503} {
		resp, body := e.do(t, formRequest(jwtForm(mint(t, jose.RS256, integratorKey(), claims(nil)))))
		if resp.StatusCode != want {
			t.Fatalf("request %d: HTTP %d %s; want %d", i, resp.StatusCode, body, want)
		}
	}
}

func TestJWKSVerifiesIssuedTokens(t *testing.T) {
	e := newEnv(t, fuyunsim.Options{})
	resp, body := e.do(t, formRequest(jwtForm(mint(t, jose.RS256, integratorKey(), claims(nil)))))
	tok := tokenResponse(t, resp, body)

	resp, body = e.do(t, request{method: http.MethodGet, path: fuyunsim.JWKSPath})
	if resp.StatusCode != 200 {
		t.Fatalf("JWKS: HTTP %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 || keys[0].IsPublic() != true || keys[0].Algorithm != "RS256" {
		t.Fatalf("kid %q not in the JWKS %s", parsed.Headers[0].KeyID, body)
	}
	var c fuyun.AccessClaims
	if err := parsed.Claims(keys[0].Key, &c); err != nil {
		t.Fatalf("the JWKS key does not verify the token: %v", err)
	}
	if strings.Contains(string(body), `"d"`) {
		t.Fatal("the JWKS publishes private key material")
	}
}

func TestVerifyAccessTokenRefusals(t *testing.T) {
	e := newEnv(t, fuyunsim.Options{})
	resp, body := e.do(t, formRequest(jwtForm(mint(t, jose.RS256, integratorKey(), claims(nil)))))
	good := tokenResponse(t, resp, body).AccessToken

	// Another emulator, another key: its tokens are not ours.
	other := newEnv(t, fuyunsim.Options{SigningKey: strangerKey()})
	resp, body = other.do(t, formRequest(jwtForm(mint(t, jose.RS256, integratorKey(), claims(nil)))))
	foreign := tokenResponse(t, resp, body).AccessToken

	// The same emulator a month and a day later.
	later, err := fuyunsim.New(testConfig("http://127.0.0.1:1/"), fuyunsim.Options{
		SigningKey: simKey(), Now: func() time.Time { return time.Now().Add(721 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	// Our header and signature around a payload we did not sign.
	parts, foreignParts := strings.Split(good, "."), strings.Split(foreign, ".")
	tampered := parts[0] + "." + foreignParts[1] + "." + parts[2]
	cases := []struct {
		name  string
		sim   *fuyunsim.Server
		token string
	}{
		{"foreign emulator", e.sim, foreign},
		{"tampered payload", e.sim, tampered},
		{"expired", later, good},
		{"garbage", e.sim, "garbage"},
	}
	if _, err := e.sim.VerifyAccessToken(good); err != nil {
		t.Fatalf("own token refused: %v", err)
	}
	for _, tc := range cases {
		if _, err := tc.sim.VerifyAccessToken(tc.token); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestNewDoesNotMutateCallerConfig(t *testing.T) {
	pub, err := fuyun.PublicKeyBase64(&integratorKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fuyunsim.Config{Clients: []fuyunsim.Client{{ClientID: "c", ClientSecret: "s", Scopes: []string{"hotline"},
		JWT: &fuyunsim.JWTClient{Issuer: jwtIssuer, PublicKey: pub}}}}
	sim, err := fuyunsim.New(cfg, fuyunsim.Options{SigningKey: simKey()})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Clients[0].JWT.Key != nil || cfg.Issuer != "" || cfg.TokenTTL != 0 {
		t.Fatal("New wrote to the caller's Config")
	}
	if sim.Issuer() != fuyunsim.DefaultIssuer {
		t.Fatalf("default issuer %q", sim.Issuer())
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	key := &integratorKey().PublicKey
	jwtClient := func() fuyunsim.Client {
		return fuyunsim.Client{ClientID: "c", ClientSecret: "s", Scopes: []string{"hotline"}, JWT: &fuyunsim.JWTClient{Issuer: jwtIssuer, Key: key}}
	}
	cases := []struct {
		name string
		mod  func(*fuyunsim.Config)
		hint string
	}{
		{"no clients", func(c *fuyunsim.Config) { c.Clients = nil }, "at least one client"},
		{"empty client id", func(c *fuyunsim.Config) { c.Clients[0].ClientID = "" }, "client_id is empty"},
		{"colon in client id", func(c *fuyunsim.Config) { c.Clients[0].ClientID = "a:b" }, "':'"},
		{"empty secret", func(c *fuyunsim.Config) { c.Clients[0].ClientSecret = "" }, "client_secret is empty"},
		{"no scopes", func(c *fuyunsim.Config) { c.Clients[0].Scopes = nil }, "scopes"},
		{"comma inside a scope", func(c *fuyunsim.Config) { c.Clients[0].Scopes = []string{"a,b"} }, "single scope"},
		{"no mode", func(c *fuyunsim.Config) { c.Clients[0].JWT = nil }, "jwt, oauth or both"},
		{"jwt without issuer", func(c *fuyunsim.Config) { c.Clients[0].JWT.Issuer = "" }, "issuer is empty"},
		{"jwt without key", func(c *fuyunsim.Config) { c.Clients[0].JWT.Key = nil }, "no public key"},
		{"jwt with a private key pasted", func(c *fuyunsim.Config) {
			pemKey, _ := fuyun.MarshalPrivateKeyPEM(integratorKey())
			c.Clients[0].JWT.Key = nil
			c.Clients[0].JWT.PublicKey = string(pemKey)
		}, "private key"},
		{"jwt key inline and file", func(c *fuyunsim.Config) {
			c.Clients[0].JWT.Key = nil
			c.Clients[0].JWT.PublicKey, c.Clients[0].JWT.PublicKeyFile = "x", "y"
		}, "not both"},
		{"oauth without app name", func(c *fuyunsim.Config) {
			c.Clients[0].OAuth = &fuyunsim.OAuthClient{UserEndpoint: "https://idp.example.test/userinfo", MappingField: "email"}
		}, "app_name is empty"},
		{"oauth with relative endpoint", func(c *fuyunsim.Config) {
			c.Clients[0].OAuth = &fuyunsim.OAuthClient{AppName: "a", UserEndpoint: "/userinfo", MappingField: "email"}
		}, "not an absolute http(s) URL"},
		{"oauth with bad mapping path", func(c *fuyunsim.Config) {
			c.Clients[0].OAuth = &fuyunsim.OAuthClient{AppName: "a", UserEndpoint: "https://idp.example.test/u", MappingField: "profile..email"}
		}, "dotted path"},
		{"issuer equals app name", func(c *fuyunsim.Config) {
			c.Clients[0].OAuth = &fuyunsim.OAuthClient{AppName: jwtIssuer, UserEndpoint: "https://idp.example.test/u", MappingField: "email"}
		}, "could not tell the modes apart"},
		{"duplicate client", func(c *fuyunsim.Config) { c.Clients = append(c.Clients, jwtClient()) }, "listed twice"},
		{"agent without name", func(c *fuyunsim.Config) { c.Agents = []fuyunsim.Agent{{Email: "a@b"}} }, "account_name is empty"},
		{"duplicate agent", func(c *fuyunsim.Config) { c.Agents = []fuyunsim.Agent{{AccountName: "a"}, {AccountName: "a"}} }, "listed twice"},
		{"tiny ttl", func(c *fuyunsim.Config) { c.TokenTTL = time.Second }, "too short"},
		{"negative ttl", func(c *fuyunsim.Config) { c.TokenTTL = -time.Hour }, "too short"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fuyunsim.Config{Clients: []fuyunsim.Client{jwtClient()}}
			tc.mod(&cfg)
			_, err := fuyunsim.New(cfg, fuyunsim.Options{SigningKey: simKey()})
			if err == nil || !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("error %v; want one mentioning %q", err, tc.hint)
			}
		})
	}
}

func TestUserEndpointLimits(t *testing.T) {
	e := newEnv(t, fuyunsim.Options{HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
	cases := []struct {
		name   string
		token  string
		status int
		code   string
		desc   string
	}{
		{"oversized user info", "t-huge", 400, "invalid_grant", "over 1048576 bytes"},
		{"user endpoint too slow", "t-slow", 503, "temporarily_unavailable", "could not be reached"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			resp, body := e.do(t, formRequest(oauthForm(tc.token, appName)))
			var got oauthError
			_ = json.Unmarshal(body, &got)
			if resp.StatusCode != tc.status || got.Error != tc.code || !strings.Contains(got.ErrorDescription, tc.desc) {
				t.Fatalf("HTTP %d %s", resp.StatusCode, body)
			}
			if strings.Contains(got.ErrorDescription, tc.token) {
				t.Fatal("the description echoes the subject token")
			}
			if time.Since(start) > 3*time.Second {
				t.Fatalf("took %s", time.Since(start))
			}
		})
	}
}
