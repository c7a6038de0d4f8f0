// Package fuyunsim is a faithful local emulator of Fuyun's token-exchange endpoint, as an http.Handler, so
// integrators and tests can exchange tokens offline. It enforces what Fuyun's integration guide requires
// (Basic auth, form encoding, grant type, scopes, RS256 subject JWTs with seconds-based exp, OAuth-mode user
// lookups) and answers each mistake with the OAuth error code and a description a developer can act on.
package fuyunsim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
)

// Paths served by the emulator.
const (
	TokenPath = "/oauth/token_exchange"  // as on Fuyun's production host
	JWKSPath  = "/.well-known/jwks.json" // the emulator's access-token signing key
)

// Limits of subject-JWT checking.
const (
	Leeway                = 60 * time.Second // clock skew tolerated on exp, nbf and iat
	MaxSubjectLifetime    = 24 * time.Hour   // a subject JWT expiring later than this is refused
	DefaultReplayCapacity = 100_000          // live jti entries remembered when Options leave it 0
)

const (
	maxRequestBytes        = 64 << 10
	maxUserInfoBytes       = 1 << 20
	userEndpointTimeout    = 5 * time.Second
	millisecondsExpFloor   = 1e11 // year 5138 in seconds, 1973 in milliseconds
	formContentType        = "application/x-www-form-urlencoded"
	basicAuthRealmResponse = `Basic realm="fuyun-sim"`
)

// allAlgorithms lets the emulator parse a JWT signed with the wrong algorithm just far enough to name it.
var allAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512,
}

// Options are the emulator's dependencies; every field is optional.
type Options struct {
	HTTPClient     *http.Client     // for user_endpoint calls in OAuth mode; default a plain client
	Now            func() time.Time // clock for exp checks and issued tokens; default time.Now
	Logger         *slog.Logger     // one line per exchange, never a token; default discards
	SigningKey     *rsa.PrivateKey  // signs access tokens; nil generates one
	ReplayCapacity int              // live jti entries remembered; default DefaultReplayCapacity
}

// Server is the emulated Fuyun IDP. It is safe for concurrent use.
type Server struct {
	cfg        Config
	clients    map[string]*registeredClient
	byAccount  map[string]*Agent
	byEmail    map[string]*Agent // lower-cased
	byMobile   map[string]*Agent
	key        *rsa.PrivateKey
	kid        string
	signer     jose.Signer
	jwks       []byte
	httpClient *http.Client
	now        func() time.Time
	log        *slog.Logger
	replay     *replayCache
}

type registeredClient struct {
	Client
	secretHash [sha256.Size]byte
	scopes     map[string]bool
}

// New validates cfg, loads any keys it names and prepares the emulator. cfg is copied.
func New(cfg Config, opts Options) (*Server, error) {
	cfg = cfg.clone()
	if err := cfg.resolve(); err != nil {
		return nil, fmt.Errorf("fuyunsim: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		clients:    make(map[string]*registeredClient, len(cfg.Clients)),
		byAccount:  make(map[string]*Agent, len(cfg.Agents)),
		byEmail:    make(map[string]*Agent, len(cfg.Agents)),
		byMobile:   make(map[string]*Agent, len(cfg.Agents)),
		key:        opts.SigningKey,
		httpClient: opts.HTTPClient,
		now:        opts.Now,
		log:        opts.Logger,
	}
	for _, c := range cfg.Clients {
		rc := &registeredClient{Client: c, secretHash: sha256.Sum256([]byte(c.ClientSecret)), scopes: map[string]bool{}}
		for _, sc := range c.Scopes {
			rc.scopes[sc] = true
		}
		s.clients[c.ClientID] = rc
	}
	for i := range cfg.Agents {
		a := &cfg.Agents[i]
		s.byAccount[a.AccountName] = a
		if a.Email != "" {
			s.byEmail[strings.ToLower(a.Email)] = a
		}
		if a.Mobile != "" {
			s.byMobile[a.Mobile] = a
		}
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	capacity := opts.ReplayCapacity
	if capacity <= 0 {
		capacity = DefaultReplayCapacity
	}
	s.replay = newReplayCache(capacity)
	if s.key == nil {
		key, err := fuyun.GenerateKey()
		if err != nil {
			return nil, fmt.Errorf("fuyunsim: %w", err)
		}
		s.key = key
	}
	if err := s.prepareSigning(); err != nil {
		return nil, fmt.Errorf("fuyunsim: %w", err)
	}
	return s, nil
}

// clone copies the parts of cfg that resolve fills in, so New never writes to the caller's values.
func (cfg Config) clone() Config {
	cfg.Clients = append([]Client(nil), cfg.Clients...)
	for i := range cfg.Clients {
		c := &cfg.Clients[i]
		c.Scopes = append([]string(nil), c.Scopes...)
		if c.JWT != nil {
			j := *c.JWT
			c.JWT = &j
		}
		if c.OAuth != nil {
			o := *c.OAuth
			c.OAuth = &o
		}
	}
	cfg.Agents = append([]Agent(nil), cfg.Agents...)
	return cfg
}

func (s *Server) prepareSigning() error {
	pub := jose.JSONWebKey{Key: &s.key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	s.kid = base64.RawURLEncoding.EncodeToString(thumb)
	pub.KeyID = s.kid
	s.jwks, err = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	s.signer, err = jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: s.key, KeyID: s.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	return nil
}

// TokenPath is the path of the token-exchange endpoint, as on Fuyun's production host.
func (s *Server) TokenPath() string { return TokenPath }

// Issuer is the iss of the access tokens the emulator issues.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// ServeHTTP serves POST /oauth/token_exchange and GET /.well-known/jwks.json.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case TokenPath:
		s.serveToken(w, r)
	case JWKSPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, reject(http.StatusMethodNotAllowed, "invalid_request", "use GET for the JWKS"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(s.jwks)
	default:
		writeError(w, reject(http.StatusNotFound, "not_found",
			fmt.Sprintf("no such endpoint; the token exchange is POST %s", TokenPath)))
	}
}

// rejection is an OAuth error answer.
type rejection struct {
	status int
	code   string
	desc   string
}

func reject(status int, code, desc string) *rejection {
	return &rejection{status: status, code: code, desc: desc}
}

func invalidGrant(format string, args ...any) *rejection {
	return reject(http.StatusBadRequest, "invalid_grant", fmt.Sprintf(format, args...))
}

func invalidRequest(format string, args ...any) *rejection {
	return reject(http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...))
}

func writeError(w http.ResponseWriter, rej *rejection) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	if rej.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", basicAuthRealmResponse)
	}
	w.WriteHeader(rej.status)
	_ = json.NewEncoder(w).Encode(struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}{rej.code, rej.desc})
}

// exchange is what one token request established, for the log line.
type exchange struct {
	clientID string
	mode     fuyun.Mode
	userName string
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var x exchange
	tok, rej := s.handleToken(r, &x)
	attrs := []slog.Attr{
		slog.String("client_id", x.clientID),
		slog.String("mode", string(x.mode)),
		slog.String("user_name", x.userName),
		slog.Duration("latency", time.Since(start)),
	}
	if rej != nil {
		writeError(w, rej)
		attrs = append(attrs, slog.Int("status", rej.status), slog.String("error", rej.code), slog.String("error_description", rej.desc))
		if isReadinessPing(r) {
			// The bridge's /readyz checks that the token URL answers at all; the 405 is the expected answer.
			s.log.LogAttrs(r.Context(), slog.LevelDebug, "token endpoint pinged", attrs...)
			return
		}
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "token exchange refused", attrs...)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(tok)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "token exchange", append(attrs, slog.Int("status", http.StatusOK))...)
}

// isReadinessPing reports whether r is a reachability check (fuyun.Client.Ping): a GET or HEAD with no
// credentials and no query. A GET that carries credentials is a client doing the exchange wrong, and stays a
// warning.
func isReadinessPing(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		r.Header.Get("Authorization") == "" && r.URL.RawQuery == ""
}

func (s *Server) handleToken(r *http.Request, x *exchange) (*fuyun.Token, *rejection) {
	if r.Method != http.MethodPost {
		return nil, reject(http.StatusMethodNotAllowed, "invalid_request",
			fmt.Sprintf("method %s not allowed: the token exchange is a POST with a form-encoded body", r.Method))
	}
	client, rej := s.authenticate(r)
	if rej != nil {
		return nil, rej
	}
	x.clientID = client.ClientID
	form, rej := readForm(r)
	if rej != nil {
		return nil, rej
	}
	switch gt := form.Get("grant_type"); gt {
	case fuyun.GrantTypeTokenExchange:
	case "":
		return nil, invalidRequest("missing grant_type: send grant_type=%s", fuyun.GrantTypeTokenExchange)
	default:
		return nil, reject(http.StatusBadRequest, "unsupported_grant_type",
			fmt.Sprintf("grant_type %q is not supported: use %s", gt, fuyun.GrantTypeTokenExchange))
	}
	scopes, rej := client.checkScope(form.Get("scope"))
	if rej != nil {
		return nil, rej
	}
	redirectURL := form.Get("redirect_url")
	if redirectURL == "" {
		return nil, invalidRequest("missing redirect_url: send the callback URL registered with the client")
	}
	if u, err := url.Parse(redirectURL); err != nil || !u.IsAbs() || u.Host == "" {
		return nil, invalidRequest("redirect_url %q is not an absolute URL", redirectURL)
	}
	subjectToken, subjectIssuer := form.Get("subject_token"), form.Get("subject_issuer")
	switch {
	case subjectToken == "":
		return nil, invalidRequest("missing subject_token: the signed JWT (jwt mode) or the third-party access token (oauth mode)")
	case subjectIssuer == "":
		return nil, invalidRequest("missing subject_issuer: the JWT issuer (jwt mode) or the App Name (oauth mode)")
	}
	var agent *Agent
	switch {
	case client.JWT != nil && subjectIssuer == client.JWT.Issuer:
		x.mode = fuyun.ModeJWT
		agent, rej = s.verifySubjectJWT(client, subjectToken, x)
	case client.OAuth != nil && subjectIssuer == client.OAuth.AppName:
		x.mode = fuyun.ModeOAuth
		agent, rej = s.resolveOAuthSubject(r.Context(), client.OAuth, subjectToken)
	default:
		return nil, invalidGrant("subject_issuer %q is unknown for client %s: %s", subjectIssuer, client.ClientID, client.issuers())
	}
	if rej != nil {
		return nil, rej
	}
	x.userName = agent.AccountName
	return s.issue(client, agent, scopes)
}

// authenticate checks HTTP Basic credentials as Fuyun documents them: base64(client_id:client_secret), raw.
func (s *Server) authenticate(r *http.Request) (*registeredClient, *rejection) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		hint := "missing HTTP Basic authentication: send Authorization: Basic base64(client_id:client_secret)"
		if r.Header.Get("Authorization") != "" {
			hint = "the Authorization header is not valid HTTP Basic: send Basic base64(client_id:client_secret)"
		}
		return nil, reject(http.StatusUnauthorized, "invalid_client", hint)
	}
	client, known := s.clients[id]
	if !known {
		return nil, reject(http.StatusUnauthorized, "invalid_client", fmt.Sprintf("unknown client_id %q", id))
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], client.secretHash[:]) != 1 {
		return nil, reject(http.StatusUnauthorized, "invalid_client", "client_secret does not match the client registration")
	}
	return client, nil
}

// readForm enforces Fuyun's transport rules: a form-encoded body, nothing in the query string.
func readForm(r *http.Request) (url.Values, *rejection) {
	if r.URL.RawQuery != "" {
		return nil, invalidRequest("parameters must be sent in the body, not the query string: POST them form-encoded (%s)", formContentType)
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil && r.Header.Get("Content-Type") == "":
		return nil, reject(http.StatusUnsupportedMediaType, "invalid_request", "missing Content-Type: send the parameters as "+formContentType)
	case err != nil:
		return nil, reject(http.StatusUnsupportedMediaType, "invalid_request", "unreadable Content-Type: send the parameters as "+formContentType)
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		return nil, reject(http.StatusUnsupportedMediaType, "invalid_request", jsonRefusal)
	case mediaType != formContentType:
		return nil, reject(http.StatusUnsupportedMediaType, "invalid_request",
			fmt.Sprintf("Content-Type %s is not accepted: send the parameters as %s", mediaType, formContentType))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	switch {
	case err != nil:
		return nil, invalidRequest("could not read the request body")
	case len(body) > maxRequestBytes:
		return nil, reject(http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("request body over %d bytes", maxRequestBytes))
	}
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return nil, invalidRequest("%s (the Content-Type says form but the body is JSON)", jsonRefusal)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("the body is not valid form encoding (%s)", formContentType)
	}
	for name, values := range form {
		if len(values) > 1 {
			return nil, invalidRequest("parameter %q is repeated; send each parameter once", name)
		}
	}
	return form, nil
}

const jsonRefusal = "the token endpoint takes form encoding, not JSON: send Content-Type: " + formContentType

// checkScope accepts Fuyun's comma-separated scope list (spaces tolerated) and refuses anything not granted.
func (c *registeredClient) checkScope(raw string) ([]string, *rejection) {
	requested := strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if len(requested) == 0 {
		return nil, reject(http.StatusBadRequest, "invalid_scope",
			fmt.Sprintf("missing scope: this client may request %s", strings.Join(c.Scopes, ",")))
	}
	seen := map[string]bool{}
	scopes := requested[:0]
	for _, sc := range requested {
		if !c.scopes[sc] {
			return nil, reject(http.StatusBadRequest, "invalid_scope",
				fmt.Sprintf("scope %q is not granted to client %s; it may request %s", sc, c.ClientID, strings.Join(c.Scopes, ",")))
		}
		if !seen[sc] {
			seen[sc] = true
			scopes = append(scopes, sc)
		}
	}
	return scopes, nil
}

func (c *registeredClient) issuers() string {
	var want []string
	if c.JWT != nil {
		want = append(want, fmt.Sprintf("the JWT issuer %q", c.JWT.Issuer))
	}
	if c.OAuth != nil {
		want = append(want, fmt.Sprintf("the App Name %q", c.OAuth.AppName))
	}
	return "expected " + strings.Join(want, " or ")
}

// subjectExtra holds the Fuyun-specific claim of a subject JWT.
type subjectExtra struct {
	UserName string `json:"user_name"`
}

func (s *Server) verifySubjectJWT(c *registeredClient, token string, x *exchange) (*Agent, *rejection) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		if other, err2 := jwt.ParseSigned(token, allAlgorithms); err2 == nil && len(other.Headers) > 0 {
			return nil, invalidGrant("subject_token alg %s is not accepted: sign it with RS256 and the registered key pair", other.Headers[0].Algorithm)
		}
		return nil, invalidGrant("subject_token is not a compact RS256 JWT (alg none and unsigned tokens are never accepted): %v", err)
	}
	var std jwt.Claims
	var extra subjectExtra
	if err := tok.Claims(c.JWT.Key, &std, &extra); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, invalidGrant("subject_token signature does not verify with the public key registered for client %s", c.ClientID)
		}
		return nil, invalidGrant("subject_token claims are malformed: %v", err)
	}
	x.userName = extra.UserName
	now := s.now()
	switch {
	case std.Issuer == "":
		return nil, invalidGrant("subject_token has no iss: set it to %q", c.JWT.Issuer)
	case std.Issuer != c.JWT.Issuer:
		return nil, invalidGrant("subject_token iss %q does not match subject_issuer %q", std.Issuer, c.JWT.Issuer)
	case std.Expiry == nil:
		return nil, invalidGrant("subject_token has no exp: set a NumericDate (seconds since the epoch) a few minutes ahead")
	case float64(*std.Expiry) > millisecondsExpFloor:
		return nil, invalidGrant("subject_token exp looks like milliseconds; JWT NumericDate is seconds (got %d)", int64(*std.Expiry))
	case std.Expiry.Time().After(now.Add(MaxSubjectLifetime)):
		return nil, invalidGrant("subject_token exp %s is more than %s ahead: mint short-lived tokens (minutes)",
			std.Expiry.Time().UTC().Format(time.RFC3339), MaxSubjectLifetime)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Time: now}, Leeway); err != nil {
		switch {
		case errors.Is(err, jwt.ErrExpired):
			return nil, invalidGrant("subject_token expired at %s (now %s): mint a fresh one for each exchange",
				std.Expiry.Time().UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		case errors.Is(err, jwt.ErrIssuedInTheFuture):
			return nil, invalidGrant("subject_token iat is in the future: check the signing host's clock")
		case errors.Is(err, jwt.ErrNotValidYet):
			return nil, invalidGrant("subject_token nbf is in the future: check the signing host's clock")
		}
		return nil, invalidGrant("subject_token claims are invalid: %v", err)
	}
	switch {
	case std.ID == "":
		return nil, invalidGrant("subject_token has no jti: set a random UUID per token")
	case extra.UserName == "":
		return nil, invalidGrant("subject_token has no user_name: set the agent's AccountName")
	}
	fresh, full := s.replay.add(c.ClientID+"\x00"+std.ID, std.Expiry.Time().Add(Leeway), now)
	switch {
	case full:
		return nil, reject(http.StatusServiceUnavailable, "temporarily_unavailable", "the replay cache is full; retry later")
	case !fresh:
		return nil, invalidGrant("subject_token jti %q was already used: mint a new JWT (new jti) for every request, retries included", std.ID)
	}
	agent := s.byAccount[extra.UserName]
	if agent == nil {
		return nil, invalidGrant("unknown agent %q: no agent has this AccountName", extra.UserName)
	}
	return agent, nil
}

// resolveOAuthSubject does what Fuyun does in OAuth mode: ask the IdP's user endpoint who holds the token,
// then map the configured field to an agent.
func (s *Server) resolveOAuthSubject(ctx context.Context, o *OAuthClient, subjectToken string) (*Agent, *rejection) {
	ctx, cancel := context.WithTimeout(ctx, userEndpointTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.UserEndpoint, nil)
	if err != nil {
		return nil, reject(http.StatusInternalServerError, "server_error", "user_endpoint is not a usable URL")
	}
	req.Header.Set("Authorization", "Bearer "+subjectToken)
	req.Header.Set("Accept", "application/json")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return nil, reject(http.StatusServiceUnavailable, "temporarily_unavailable",
			fmt.Sprintf("user_endpoint %s could not be reached: %v", o.UserEndpoint, errors.Unwrap(err)))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, invalidGrant("user_endpoint %s answered HTTP %d: the third-party IdP does not accept this subject_token", o.UserEndpoint, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserInfoBytes+1))
	switch {
	case err != nil:
		return nil, reject(http.StatusServiceUnavailable, "temporarily_unavailable", "reading the user_endpoint response failed")
	case len(body) > maxUserInfoBytes:
		return nil, invalidGrant("user_endpoint response is over %d bytes", maxUserInfoBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var info any
	if err := dec.Decode(&info); err != nil {
		return nil, invalidGrant("user_endpoint response is not JSON")
	}
	value, err := lookupField(info, o.MappingField)
	if err != nil {
		return nil, invalidGrant("mapping_field %s: %v", o.MappingField, err)
	}
	if a := s.byAccount[value]; a != nil {
		return a, nil
	}
	if a := s.byEmail[strings.ToLower(value)]; a != nil {
		return a, nil
	}
	if a := s.byMobile[value]; a != nil {
		return a, nil
	}
	return nil, invalidGrant("no agent maps to %q (mapping_field %s): no agent has this email, mobile or account_name", value, o.MappingField)
}

// lookupField reads a dotted path such as "profile.email" from decoded JSON.
func lookupField(v any, path string) (string, error) {
	for _, seg := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("%q is not inside an object in the user info", seg)
		}
		if v, ok = obj[seg]; !ok {
			return "", fmt.Errorf("%q is missing from the user info", seg)
		}
	}
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = v.String()
	default:
		return "", fmt.Errorf("the value is a %s, not a string", jsonKind(v))
	}
	if strings.TrimSpace(s) == "" {
		return "", errors.New("the value is empty")
	}
	return s, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// issue signs the access token and builds the response body, as Fuyun shapes both.
func (s *Server) issue(c *registeredClient, agent *Agent, scopes []string) (*fuyun.Token, *rejection) {
	now := s.now()
	jti, err := uuid.NewRandom()
	if err != nil {
		return nil, reject(http.StatusInternalServerError, "server_error", "could not generate a jti")
	}
	claims := fuyun.AccessClaims{
		Issuer:   s.cfg.Issuer,
		UserName: agent.AccountName,
		JTI:      jti.String(),
		ClientID: c.ClientID,
		Expiry:   now.Add(s.cfg.TokenTTL).Unix(),
		Scope:    scopes,
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, reject(http.StatusInternalServerError, "server_error", "could not encode the access token")
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return nil, reject(http.StatusInternalServerError, "server_error", "could not sign the access token")
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return nil, reject(http.StatusInternalServerError, "server_error", "could not serialize the access token")
	}
	return &fuyun.Token{
		AccessToken: token,
		TokenType:   "bearer",
		ExpiresIn:   int64(s.cfg.TokenTTL/time.Second) - 1,
		Scope:       strings.Join(scopes, ","),
		Issuer:      s.cfg.Issuer,
		JTI:         claims.JTI,
	}, nil
}

// VerifyAccessToken checks that token was issued by this emulator (signature, kid, iss, exp) and returns its
// claims, so tests can prove a token came from here.
func (s *Server) VerifyAccessToken(token string) (*fuyun.AccessClaims, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("fuyunsim: access token: %w", err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID != s.kid {
		return nil, errors.New("fuyunsim: access token: kid is not the emulator's")
	}
	var std jwt.Claims
	var claims fuyun.AccessClaims
	if err := tok.Claims(&s.key.PublicKey, &std, &claims); err != nil {
		return nil, fmt.Errorf("fuyunsim: access token: %w", err)
	}
	if std.Expiry == nil {
		return nil, errors.New("fuyunsim: access token: no exp")
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: s.cfg.Issuer, Time: s.now()}, 0); err != nil {
		return nil, fmt.Errorf("fuyunsim: access token: %w", err)
	}
	return &claims, nil
}
