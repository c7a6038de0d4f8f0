// Package idpstub is an in-process OpenID Connect identity provider for the providers tests. It serves
// discovery, JWKS, authorize, token and userinfo on 127.0.0.1 in the shape of one real IdP (generic
// OIDC, Microsoft Entra ID, Salesforce, Google), checks PKCE S256 and client authentication, signs ID
// tokens with its RSA key, and lets each test reshape any response. NewDingTalk, NewFeishu and NewWeCom
// start stubs of the Chinese enterprise IdPs, which are not OpenID Connect and speak their own formats.
package idpstub

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// Flavor selects which IdP's documented paths and payloads the stub reproduces.
type Flavor int

// Flavors of the stub.
const (
	Generic Flavor = iota
	Microsoft
	Salesforce
	Google
)

// Options configure a stub.
type Options struct {
	Flavor       Flavor
	ClientID     string
	ClientSecret string
	// Tenant is the Microsoft tenant segment served (organizations, common or a GUID).
	Tenant string
	// HomeTenant is the Microsoft user's tenant id (tid); defaults to TenantA.
	HomeTenant string
}

// Well-known tenant ids for Microsoft tests.
const (
	TenantA = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	TenantB = "0b6f2d9e-3c1a-4d5e-9f70-8a1b2c3d4e5f"
)

// Shape holds per-test changes to the stub's responses; nil hooks leave the documented defaults.
type Shape struct {
	Down          bool                                         // discovery and JWKS answer 503
	Discovery     func(doc map[string]any)                     // edit the discovery document
	IDToken       func(claims map[string]any)                  // edit ID token claims before signing
	Sign          func(claims map[string]any) string           // replace signing entirely (attacks)
	TokenResponse func(resp map[string]any)                    // edit the token endpoint's JSON
	Userinfo      func(claims map[string]any)                  // edit userinfo claims
	UserinfoHTTP  func(w http.ResponseWriter, r *http.Request) // replace the userinfo endpoint
	IssParam      string                                       // iss added to the authorization response
}

type grant struct {
	challenge, nonce, redirect string
}

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// Stub is a running fake IdP.
type Stub struct {
	// URL is the server's base URL (http://127.0.0.1:port).
	URL  string
	opts Options
	srv  *httptest.Server

	mu     sync.Mutex
	shape  Shape
	key    signingKey
	codes  map[string]grant
	tokens map[string]bool
	hits   map[string]int
}

// New starts a stub that is closed when the test ends.
func New(t testing.TB, o Options) *Stub {
	t.Helper()
	if o.ClientID == "" {
		o.ClientID = "client-123"
	}
	if o.HomeTenant == "" {
		o.HomeTenant = TenantA
	}
	s := &Stub{opts: o, codes: map[string]grant{}, tokens: map[string]bool{}, hits: map[string]int{}}
	s.key = newKey(t, "key-1")
	mux := http.NewServeMux()
	p := s.paths()
	mux.HandleFunc("GET "+p.discovery, s.serveDiscovery)
	mux.HandleFunc("GET "+p.jwks, s.serveJWKS)
	mux.HandleFunc("GET "+p.authorize, s.serveAuthorize)
	mux.HandleFunc("POST "+p.token, s.serveToken)
	mux.HandleFunc("GET "+p.userinfo, s.serveUserinfo)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

func newKey(t testing.TB, kid string) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, key: k}
}

type paths struct{ discovery, jwks, authorize, token, userinfo string }

func (s *Stub) paths() paths {
	switch s.opts.Flavor {
	case Microsoft:
		t := s.opts.Tenant
		return paths{"/" + t + "/v2.0/.well-known/openid-configuration", "/" + t + "/discovery/v2.0/keys",
			"/" + t + "/oauth2/v2.0/authorize", "/" + t + "/oauth2/v2.0/token", "/oidc/userinfo"}
	case Salesforce:
		return paths{"/.well-known/openid-configuration", "/id/keys", "/services/oauth2/authorize",
			"/services/oauth2/token", "/services/oauth2/userinfo"}
	case Google:
		return paths{"/.well-known/openid-configuration", "/oauth2/v3/certs", "/o/oauth2/v2/auth", "/token", "/v1/userinfo"}
	}
	return paths{"/.well-known/openid-configuration", "/jwks", "/authorize", "/token", "/userinfo"}
}

// Shape changes the stub's behaviour for the rest of the test.
func (s *Stub) Shape(f func(*Shape)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.shape)
}

// Hits reports how many requests a path ("discovery", "jwks", "token", "userinfo") has served.
func (s *Stub) Hits(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[name]
}

func (s *Stub) snapshot(hit string) Shape {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[hit]++
	return s.shape
}

// Key returns the current signing key and its kid (for tests that forge tokens).
func (s *Stub) Key() (*rsa.PrivateKey, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key.key, s.key.kid
}

// RotateKey replaces the signing key with a new one under a new kid; the old key leaves the JWKS.
func (s *Stub) RotateKey(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = newKey(t, s.key.kid+"-next")
}

// Issuer is the issuer the discovery document names ({tenantid} template for Microsoft multi-tenant).
func (s *Stub) Issuer() string {
	if s.opts.Flavor == Microsoft {
		switch s.opts.Tenant {
		case "organizations", "common":
			return s.URL + "/{tenantid}/v2.0"
		}
		return s.URL + "/" + s.opts.HomeTenant + "/v2.0"
	}
	return s.URL
}

// TokenIssuer is the iss of the ID tokens the stub signs.
func (s *Stub) TokenIssuer() string {
	if s.opts.Flavor == Microsoft {
		return s.URL + "/" + s.opts.HomeTenant + "/v2.0"
	}
	return s.URL
}

func (s *Stub) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	sh := s.snapshot("discovery")
	if sh.Down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	p := s.paths()
	doc := map[string]any{
		"issuer":                                s.Issuer(),
		"authorization_endpoint":                s.URL + p.authorize,
		"token_endpoint":                        s.URL + p.token,
		"userinfo_endpoint":                     s.URL + p.userinfo,
		"jwks_uri":                              s.URL + p.jwks,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
	}
	switch s.opts.Flavor {
	case Microsoft: // as served by login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}
		doc["subject_types_supported"] = []string{"pairwise"}
		doc["response_modes_supported"] = []string{"query", "fragment", "form_post"}
		doc["response_types_supported"] = []string{"code", "id_token", "code id_token", "id_token token"}
		doc["scopes_supported"] = []string{"openid", "profile", "email", "offline_access"}
		doc["claims_supported"] = []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"}
		doc["request_uri_parameter_supported"] = false
		doc["tenant_region_scope"] = nil
		doc["cloud_instance_name"] = "microsoftonline.com"
		doc["msgraph_host"] = "graph.microsoft.com"
		delete(doc, "code_challenge_methods_supported")
	case Salesforce: // as documented for https://login.salesforce.com/.well-known/openid-configuration
		doc["revocation_endpoint"] = s.URL + "/services/oauth2/revoke"
		doc["introspection_endpoint"] = s.URL + "/services/oauth2/introspect"
		doc["scopes_supported"] = []string{"id", "api", "web", "full", "chatter_api", "visualforce", "refresh_token", "openid", "profile", "email", "address", "phone", "offline_access", "custom_permissions", "wave_api", "eclair_api"}
		doc["response_types_supported"] = []string{"code", "token", "token id_token"}
		doc["display_values_supported"] = []string{"page", "popup", "touch"}
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post", "client_secret_basic", "private_key_jwt"}
		doc["claims_supported"] = []string{"active", "address", "email", "email_verified", "family_name", "given_name", "is_app_installed", "language", "locale", "name", "nickname", "organization_id", "phone_number", "phone_number_verified", "photos", "picture", "preferred_username", "profile", "sub", "updated_at", "urls", "user_id", "user_type", "zoneinfo"}
	case Google:
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post", "client_secret_basic"}
		doc["claims_supported"] = []string{"aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "picture", "sub"}
		doc["code_challenge_methods_supported"] = []string{"plain", "S256"}
	}
	if sh.Discovery != nil {
		sh.Discovery(doc)
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Stub) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	sh := s.snapshot("jwks")
	if sh.Down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	k, kid := s.Key()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}}
	writeJSON(w, http.StatusOK, set)
}

// serveAuthorize approves at once: it checks the request and redirects with a code bound to the PKCE
// challenge, nonce and redirect URI.
func (s *Stub) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	sh := s.snapshot("authorize")
	q := r.URL.Query()
	switch {
	case q.Get("response_type") != "code", q.Get("client_id") != s.opts.ClientID, q.Get("redirect_uri") == "",
		q.Get("code_challenge_method") != "S256", q.Get("code_challenge") == "", q.Get("state") == "":
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := random()
	s.mu.Lock()
	s.codes[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
	s.mu.Unlock()
	v := url.Values{"code": {code}, "state": {q.Get("state")}}
	if sh.IssParam != "" {
		v.Set("iss", sh.IssParam)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+v.Encode(), http.StatusFound)
}

// Authorize follows authURL to the stub's authorize endpoint and returns the code and iss that the
// redirect carries.
func (s *Stub) Authorize(t testing.TB, authURL string) (code, iss string) {
	t.Helper()
	resp, err := noFollow().Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query().Get("code"), loc.Query().Get("iss")
}

func (s *Stub) serveToken(w http.ResponseWriter, r *http.Request) {
	sh := s.snapshot("token")
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.opts.ClientID || secret != s.opts.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	code := r.PostForm.Get("code")
	s.mu.Lock()
	g, ok := s.codes[code]
	delete(s.codes, code)
	s.mu.Unlock()
	switch {
	case !ok:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
		return
	case r.PostForm.Get("redirect_uri") != g.redirect:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
		return
	case oauth2.S256ChallengeFromVerifier(r.PostForm.Get("code_verifier")) != g.challenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	access := random()
	s.mu.Lock()
	s.tokens[access] = true
	s.mu.Unlock()

	now := time.Now()
	claims := s.idTokenClaims(now, g.nonce, access)
	if sh.IDToken != nil {
		sh.IDToken(claims)
	}
	var idToken string
	if sh.Sign != nil {
		idToken = sh.Sign(claims)
	} else {
		idToken = s.Sign(claims)
	}
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "id_token": idToken}
	switch s.opts.Flavor {
	case Salesforce: // Salesforce's token response: no expires_in, plus signature, instance_url, id, issued_at
		resp["signature"] = base64.StdEncoding.EncodeToString([]byte(random()))
		resp["scope"] = "openid profile email"
		resp["instance_url"] = "https://yourInstance.my.salesforce.com"
		resp["id"] = s.URL + "/id/00Dxx0000001gPLEAY/005xx000001Sv6AAAS"
		resp["issued_at"] = fmt.Sprint(now.UnixMilli())
	case Microsoft:
		resp["scope"] = "openid profile email https://graph.microsoft.com/User.Read"
		resp["expires_in"] = 3599
		resp["ext_expires_in"] = 3599
	default:
		resp["scope"] = "openid email profile"
		resp["expires_in"] = 3599
	}
	if sh.TokenResponse != nil {
		sh.TokenResponse(resp)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// idTokenClaims are the documented ID token claims of each flavor.
func (s *Stub) idTokenClaims(now time.Time, nonce, access string) map[string]any {
	c := map[string]any{
		"iss": s.TokenIssuer(), "aud": s.opts.ClientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"nonce": nonce, "at_hash": AtHash(access),
	}
	switch s.opts.Flavor {
	case Microsoft: // Entra ID v2.0 ID token (email only with the email scope; xms_edov only if configured)
		c["sub"] = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"
		c["nbf"] = now.Unix()
		c["oid"] = "00000000-0000-0000-66f3-3332eca7ea81"
		c["tid"] = s.opts.HomeTenant
		c["name"] = "Abe Lincoln"
		c["preferred_username"] = "AbeLi@microsoft.com"
		c["email"] = "AbeLi@microsoft.com"
		c["ver"] = "2.0"
		c["aio"] = "Df2UVXL1ix!lMCWMSOJBcFatzcGfvFGhjKv8q5g0x732dR5MB5BisvGQO7YWByjd8iQDLq!eGbIDakyp5mnOrcdqHeYSnltepQmRp6AIZ8jY"
		c["rh"] = "I"
		c["uti"] = "AbCdEfGhIjKlMnOp-1234"
	case Salesforce: // Salesforce ID token: sub is the identity URL
		c["sub"] = s.URL + "/id/00Dxx0000001gPLEAY/005xx000001Sv6AAAS"
		c["email"] = "agent@example.com"
		c["email_verified"] = true
		c["name"] = "Agent Smith"
		c["preferred_username"] = "agent@example.com.crm"
		c["given_name"] = "Agent"
		c["family_name"] = "Smith"
	case Google:
		c["sub"] = "110169484474386276334"
		c["azp"] = s.opts.ClientID
		c["email"] = "agent@corp.example.com"
		c["email_verified"] = true
		c["hd"] = "corp.example.com"
		c["name"] = "Agent Smith"
		c["given_name"] = "Agent"
		c["family_name"] = "Smith"
		c["picture"] = "https://lh3.googleusercontent.com/a/photo"
	default:
		c["sub"] = "user-1"
		c["email"] = "alice@example.com"
		c["email_verified"] = true
		c["name"] = "Alice Example"
	}
	return c
}

// userinfoClaims are the documented userinfo responses of each flavor.
func (s *Stub) userinfoClaims() map[string]any {
	switch s.opts.Flavor {
	case Microsoft: // graph.microsoft.com/oidc/userinfo
		return map[string]any{"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "name": "Abe Lincoln", "family_name": "Lincoln",
			"given_name": "Abe", "picture": "https://graph.microsoft.com/v1.0/me/photo/$value", "email": "AbeLi@microsoft.com"}
	case Salesforce: // {domain}/services/oauth2/userinfo
		org, user := "00Dxx0000001gPLEAY", "005xx000001Sv6AAAS"
		inst := "https://yourInstance.my.salesforce.com"
		return map[string]any{
			"sub": s.URL + "/id/" + org + "/" + user, "user_id": user, "organization_id": org,
			"preferred_username": "agent@example.com.crm", "nickname": "agent", "name": "Agent Smith",
			"email": "agent@example.com", "email_verified": true, "given_name": "Agent", "family_name": "Smith",
			"zoneinfo": "America/Los_Angeles",
			"photos":   map[string]any{"picture": inst + "/profilephoto/005/F", "thumbnail": inst + "/profilephoto/005/T"},
			"profile":  inst + "/" + user, "picture": inst + "/profilephoto/005/F",
			"address": map[string]any{"country": "US"}, "mobile_phone": nil, "mobile_phone_verified": false,
			"is_lightning_login_user": false, "is_salesforce_integration_user": false, "is_app_installed": true,
			"active": true, "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": -28800000,
			"updated_at": "2024-01-01T00:00:00Z",
			"urls": map[string]any{
				"enterprise": inst + "/services/Soap/c/{version}/" + org, "metadata": inst + "/services/Soap/m/{version}/" + org,
				"partner": inst + "/services/Soap/u/{version}/" + org, "rest": inst + "/services/data/v{version}/",
				"sobjects": inst + "/services/data/v{version}/sobjects/", "search": inst + "/services/data/v{version}/search/",
				"query": inst + "/services/data/v{version}/query/", "recent": inst + "/services/data/v{version}/recent/",
				"profile": inst + "/" + user, "feeds": inst + "/services/data/v{version}/chatter/feeds",
				"groups": inst + "/services/data/v{version}/chatter/groups", "users": inst + "/services/data/v{version}/chatter/users",
				"feed_items": inst + "/services/data/v{version}/chatter/feed-items", "custom_domain": inst,
			},
		}
	case Google:
		return map[string]any{"sub": "110169484474386276334", "name": "Agent Smith", "given_name": "Agent", "family_name": "Smith",
			"picture": "https://lh3.googleusercontent.com/a/photo", "email": "agent@corp.example.com", "email_verified": true, "hd": "corp.example.com"}
	}
	return map[string]any{"sub": "user-1", "email": "alice@example.com", "email_verified": true, "name": "Alice Example",
		"preferred_username": "alice"}
}

func (s *Stub) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	sh := s.snapshot("userinfo")
	if sh.UserinfoHTTP != nil {
		sh.UserinfoHTTP(w, r)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	known := ok && s.tokens[tok]
	s.mu.Unlock()
	if !known {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "Bad_OAuth_Token", http.StatusUnauthorized)
		return
	}
	c := s.userinfoClaims()
	if sh.Userinfo != nil {
		sh.Userinfo(c)
	}
	writeJSON(w, http.StatusOK, c)
}

// IssueAccessToken registers an access token that userinfo accepts (the backend API path).
func (s *Stub) IssueAccessToken() string {
	t := random()
	s.mu.Lock()
	s.tokens[t] = true
	s.mu.Unlock()
	return t
}

// Sign signs claims as an RS256 JWT with the stub's current key.
func (s *Stub) Sign(claims map[string]any) string {
	k, kid := s.Key()
	return SignWith(jose.RS256, k, kid, claims)
}

// SignWith signs claims with any go-jose algorithm and key (RSA, or []byte for HMAC attacks).
func SignWith(alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		panic(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return out
}

// Unsigned builds an `alg: none` JWT, which no verifier may accept.
func Unsigned(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// AtHash is the OIDC at_hash of an access token for RS256 (left half of SHA-256, base64url).
func AtHash(access string) string {
	sum := sha256.Sum256([]byte(access))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
