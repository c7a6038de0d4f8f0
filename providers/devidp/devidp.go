// Package devidp is a small, strict OpenID Connect identity provider that runs in memory: the IdP of
// `fuyun-bridge dev` and the OIDC peer of the bridge's end-to-end, browser and load tests.
//
// It implements the authorization-code flow only, with PKCE S256 required, RS256 ID tokens, opaque access
// tokens, a userinfo endpoint, RFC 9207 iss in authorization responses and a user picker page. Everything
// lives in bounded in-memory stores, so one IdP survives a load test of many thousands of logins.
package devidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// User is one account the IdP can sign in; its fields become the standard OIDC claims.
type User struct {
	Username      string // preferred_username; also what login_hint and the picker name
	Subject       string // sub
	Name          string // name
	Email         string // email
	EmailVerified bool   // email_verified
	PhoneNumber   string // phone_number (E.164)
}

// DemoUsers returns the demo agents alice, bob and carol used by `fuyun-bridge dev` and by tests.
func DemoUsers() []User {
	return []User{
		{Username: "alice", Subject: "dev-alice", Name: "Alice Chen", Email: "alice@example.com", EmailVerified: true, PhoneNumber: "+8613800000001"},
		{Username: "bob", Subject: "dev-bob", Name: "Bob Li", Email: "bob@example.com", EmailVerified: true, PhoneNumber: "+8613800000002"},
		{Username: "carol", Subject: "dev-carol", Name: "Carol Wang", Email: "carol@example.com", EmailVerified: true, PhoneNumber: "+8613800000003"},
	}
}

// Client is one registered relying party, authenticated with a client secret.
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string // compared exactly, as RFC 9700 requires
}

// Options configures New.
type Options struct {
	// Issuer is the base URL the IdP is reachable at, e.g. "http://127.0.0.1:8081" (no trailing slash).
	// Its path, if any, prefixes every route.
	Issuer   string
	Clients  []Client
	Users    []User           // nil means DemoUsers()
	Now      func() time.Time // nil means time.Now; tests move it to expire codes and tokens
	TokenTTL time.Duration    // lifetime of access and ID tokens; 0 means 1h
	Logger   *slog.Logger     // nil discards
}

const (
	defaultTokenTTL = time.Hour
	codeTTL         = 60 * time.Second
	// maxCodes and maxTokens bound memory under load: at the cap the oldest entries are evicted.
	// 100,000 tokens is a few tens of MB at most.
	maxCodes  = 100_000
	maxTokens = 100_000
)

// IdP is the identity provider, an http.Handler safe for concurrent use.
type IdP struct {
	issuer       string
	issuerOrigin string // scheme://host of the issuer, for the CSRF Origin check and CSP
	prefix       string // the issuer's path, stripped before routing
	clients      map[string]*Client
	users        []User
	now          func() time.Time
	tokenTTL     time.Duration
	log          *slog.Logger
	discovery    []byte

	keys     atomic.Pointer[keySet]
	rotateMu sync.Mutex // serializes RotateKey so no previous key is lost

	codes    *ttlStore[*authCode]
	redeemed *ttlStore[string] // code → access token it bought, to revoke it on a replay (RFC 6749 §4.1.2)
	tokens   *ttlStore[*accessGrant]
}

// keySet is immutable once published; RotateKey swaps in a new one.
type keySet struct {
	kid    string
	signer jose.Signer
	pub    jose.JSONWebKey
	jwks   []byte // current key first, then the previous one
}

// authCode is what an authorization code stands for until it is redeemed.
type authCode struct {
	clientID      string
	redirectURI   string
	user          *User
	scopes        []string
	nonce         string
	codeChallenge string
	authTime      time.Time
}

// accessGrant is what an access token stands for at the userinfo endpoint.
type accessGrant struct {
	user   *User
	scopes []string
}

// New validates opts and returns an IdP with a fresh RSA-2048 signing key.
func New(opts Options) (*IdP, error) {
	iss, err := url.Parse(opts.Issuer)
	switch {
	case opts.Issuer == "":
		return nil, errors.New("devidp: issuer is required")
	case err != nil:
		return nil, fmt.Errorf("devidp: issuer %q: %w", opts.Issuer, err)
	case iss.Scheme != "http" && iss.Scheme != "https", iss.Host == "":
		return nil, fmt.Errorf("devidp: issuer %q must be an absolute http(s) URL", opts.Issuer)
	case strings.HasSuffix(opts.Issuer, "/"):
		return nil, fmt.Errorf("devidp: issuer %q must not end with a slash", opts.Issuer)
	case iss.RawQuery != "" || iss.Fragment != "" || iss.User != nil:
		return nil, fmt.Errorf("devidp: issuer %q must not have a query, fragment or user info", opts.Issuer)
	}
	if opts.TokenTTL < 0 {
		return nil, fmt.Errorf("devidp: token TTL %v is negative", opts.TokenTTL)
	}
	p := &IdP{
		issuer:       opts.Issuer,
		issuerOrigin: iss.Scheme + "://" + iss.Host,
		prefix:       iss.Path,
		clients:      make(map[string]*Client, len(opts.Clients)),
		now:          opts.Now,
		tokenTTL:     opts.TokenTTL,
		log:          opts.Logger,
		codes:        newTTLStore[*authCode](maxCodes),
		redeemed:     newTTLStore[string](maxCodes),
		tokens:       newTTLStore[*accessGrant](maxTokens),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.tokenTTL == 0 {
		p.tokenTTL = defaultTokenTTL
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if len(opts.Clients) == 0 {
		return nil, errors.New("devidp: at least one client is required")
	}
	for i, c := range opts.Clients {
		if err := checkClient(c); err != nil {
			return nil, fmt.Errorf("devidp: client %d: %w", i, err)
		}
		if _, dup := p.clients[c.ID]; dup {
			return nil, fmt.Errorf("devidp: client %q is registered twice", c.ID)
		}
		c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
		p.clients[c.ID] = &c
	}
	users := opts.Users
	if users == nil {
		users = DemoUsers()
	}
	if err := checkUsers(users); err != nil {
		return nil, err
	}
	p.users = append([]User(nil), users...)
	if p.discovery, err = json.Marshal(p.discoveryDocument()); err != nil {
		return nil, fmt.Errorf("devidp: discovery document: %w", err)
	}
	ks, err := newKeySet(nil)
	if err != nil {
		return nil, err
	}
	p.keys.Store(ks)
	return p, nil
}

func checkClient(c Client) error {
	if c.ID == "" {
		return errors.New("client id is empty")
	}
	if c.Secret == "" {
		return fmt.Errorf("client %q has no secret (public clients are not supported)", c.ID)
	}
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("client %q has no redirect URI", c.ID)
	}
	for _, ru := range c.RedirectURIs {
		u, err := url.Parse(ru)
		if err != nil {
			return fmt.Errorf("client %q redirect URI %q: %w", c.ID, ru, err)
		}
		// RFC 6749 §3.1.2: absolute, without a fragment.
		if !u.IsAbs() || u.Fragment != "" || strings.Contains(ru, "#") {
			return fmt.Errorf("client %q redirect URI %q must be absolute and have no fragment", c.ID, ru)
		}
	}
	return nil
}

func checkUsers(users []User) error {
	if len(users) == 0 {
		return errors.New("devidp: no users (pass nil for the demo users)")
	}
	names, subs := map[string]bool{}, map[string]bool{}
	for i, u := range users {
		switch {
		case u.Username == "" || u.Subject == "":
			return fmt.Errorf("devidp: user %d needs a username and a subject", i)
		case names[strings.ToLower(u.Username)]:
			return fmt.Errorf("devidp: username %q is used twice", u.Username)
		case subs[u.Subject]:
			return fmt.Errorf("devidp: subject %q is used twice", u.Subject)
		}
		names[strings.ToLower(u.Username)], subs[u.Subject] = true, true
	}
	return nil
}

// newKeySet generates a signing key and publishes it alongside prev's key, if any.
func newKeySet(prev *keySet) (*keySet, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devidp: generating signing key: %w", err)
	}
	pub := jose.JSONWebKey{Key: &priv.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devidp: key thumbprint: %w", err)
	}
	// An RFC 7638 thumbprint is a kid that cannot collide with the previous key's.
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("devidp: signer: %w", err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}}
	if prev != nil {
		set.Keys = append(set.Keys, prev.pub)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("devidp: JWKS: %w", err)
	}
	return &keySet{kid: pub.KeyID, signer: signer, pub: pub, jwks: jwks}, nil
}

// Issuer returns the issuer URL, as in the discovery document and the ID tokens' iss.
func (p *IdP) Issuer() string { return p.issuer }

// RotateKey replaces the signing key; the JWKS then publishes the new key and the previous one, so tokens
// signed just before the rotation still verify.
func (p *IdP) RotateKey() error {
	p.rotateMu.Lock()
	defer p.rotateMu.Unlock()
	ks, err := newKeySet(p.keys.Load())
	if err != nil {
		return err
	}
	p.keys.Store(ks)
	p.log.Info("devidp: signing key rotated", "kid", ks.kid)
	return nil
}

// ServeHTTP routes the IdP's endpoints. Paths are accepted both with the issuer's path prefix and without it,
// so the IdP works mounted as is or behind http.StripPrefix.
func (p *IdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if p.prefix != "" {
		if rest, ok := strings.CutPrefix(path, p.prefix); ok && strings.HasPrefix(rest, "/") {
			path = rest
		}
	}
	switch path {
	case "/.well-known/openid-configuration":
		p.serveStatic(w, r, p.discovery)
	case "/jwks":
		p.serveStatic(w, r, p.keys.Load().jwks)
	case "/authorize":
		p.authorize(w, r)
	case "/token":
		p.token(w, r)
	case "/userinfo":
		p.userinfo(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (p *IdP) serveStatic(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// no-cache, so a relying party that honours HTTP caching still sees a rotated key at once.
	w.Header().Set("Cache-Control", "no-cache")
	// Browser-based clients may read discovery and keys (they carry nothing secret).
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(body)
}

// Scopes this IdP understands; others are dropped from the grant (RFC 6749 §3.3 lets the server narrow it).
var supportedScopes = []string{"openid", "profile", "email", "phone"}

func (p *IdP) discoveryDocument() map[string]any {
	return map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                p.issuer + "/authorize",
		"token_endpoint":                        p.issuer + "/token",
		"userinfo_endpoint":                     p.issuer + "/userinfo",
		"jwks_uri":                              p.issuer + "/jwks",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      supportedScopes,
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code"},
		"claims_supported": []string{
			"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash",
			"name", "preferred_username", "email", "email_verified", "phone_number", "phone_number_verified",
		},
		"authorization_response_iss_parameter_supported": true,
	}
}

// userClaims returns the claims of u that scopes release, for both the ID token and userinfo.
func userClaims(u *User, scopes []string) map[string]any {
	c := map[string]any{"sub": u.Subject}
	for _, s := range scopes {
		switch s {
		case "profile":
			c["preferred_username"] = u.Username
			if u.Name != "" {
				c["name"] = u.Name
			}
		case "email":
			if u.Email != "" {
				c["email"] = u.Email
				c["email_verified"] = u.EmailVerified
			}
		case "phone":
			if u.PhoneNumber != "" {
				c["phone_number"] = u.PhoneNumber
				c["phone_number_verified"] = true
			}
		}
	}
	return c
}

// findUser resolves a login_hint or picker choice: a username or an email, case-insensitively.
func (p *IdP) findUser(hint string) *User {
	if hint == "" {
		return nil
	}
	for i := range p.users {
		u := &p.users[i]
		if strings.EqualFold(u.Username, hint) || (u.Email != "" && strings.EqualFold(u.Email, hint)) {
			return u
		}
	}
	return nil
}
