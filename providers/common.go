package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

const (
	// MaxResponseBytes bounds every discovery, JWKS and userinfo body the providers read themselves.
	MaxResponseBytes = 1 << 20
	// RetryInterval is the least time between two attempts to load a failing discovery document, so that
	// a down IdP is not hammered by every login attempt.
	RetryInterval = 5 * time.Second
	// ClockSkew is the leeway allowed for an ID token's iat in the future.
	ClockSkew = 2 * time.Minute
	// callTimeout bounds each outbound call when the caller's context has a later (or no) deadline.
	callTimeout = 15 * time.Second
)

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	errTooLarge   = fmt.Errorf("body exceeds %d bytes", MaxResponseBytes)
	discardLogger = slog.New(slog.DiscardHandler)
)

// runtime is the normalised Options every provider keeps.
type runtime struct {
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
}

func newRuntime(c Common, opts Options) runtime {
	r := runtime{client: opts.HTTPClient, now: opts.Now, log: opts.Logger}
	if r.client == nil {
		r.client = &http.Client{Timeout: callTimeout}
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = discardLogger
	}
	r.log = r.log.With("provider", c.ID, "provider_type", c.Type)
	return r
}

// base holds what every provider type answers without a network call.
type base struct {
	c  Common
	rt runtime
}

func newBase(c Common, opts Options) base { return base{c: c, rt: newRuntime(c, opts)} }

func (b *base) ID() string   { return b.c.ID }
func (b *base) Type() string { return b.c.Type }

func (b *base) DisplayName() string {
	if b.c.DisplayName != "" {
		return b.c.DisplayName
	}
	return b.c.ID
}

// checkAuthRequest refuses a login whose per-login secrets are missing: a bridge bug must not become a
// flow without CSRF or PKCE protection.
func (b *base) checkAuthRequest(a AuthRequest, needNonce bool) error {
	var err error
	switch {
	case b.c.RedirectURL == "":
		err = errors.New("redirect URL is not set")
	case a.State == "":
		err = errors.New("state is empty")
	case needNonce && a.Nonce == "":
		err = errors.New("nonce is empty")
	case len(a.CodeVerifier) < 43 || len(a.CodeVerifier) > 128:
		err = fmt.Errorf("PKCE code verifier must be 43 to 128 characters (RFC 7636), got %d", len(a.CodeVerifier))
	}
	if err != nil {
		return fmt.Errorf("provider %s: %w", b.c.ID, err)
	}
	return nil
}

// validateCommon checks what every provider has: an id that is a URL segment and, once the bridge set it, an
// absolute redirect URL.
func validateCommon(c Common) error {
	if !idPattern.MatchString(c.ID) {
		return fmt.Errorf("id %q must be 1-64 letters, digits, '-' or '_' (it is a URL segment)", c.ID)
	}
	if c.RedirectURL != "" {
		u, err := url.Parse(c.RedirectURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
			return fmt.Errorf("redirect URL %q must be an absolute http(s) URL without fragment", c.RedirectURL)
		}
	}
	return nil
}

// Client is the OAuth 2.0 client registration at the IdP that most presets share; their configuration types
// embed it inline, so its keys sit at the top of the provider entry.
type Client struct {
	ClientID string `yaml:"client_id"`
	// ClientSecret is a secret; the config package reads client_secret_file into it.
	ClientSecret     string   `yaml:"client_secret"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	Scopes           []string `yaml:"scopes"`
}

// defaults sets the preset's scopes when the configuration names none.
func (c *Client) defaults(scopes []string) {
	if len(c.Scopes) == 0 {
		c.Scopes = slices.Clone(scopes)
	}
}

// validate checks client_id and scopes; OpenID Connect presets need the openid scope, or the IdP answers
// without an ID token.
func (c *Client) validate(needOpenID bool) []FieldError {
	var errs []FieldError
	if strings.TrimSpace(c.ClientID) == "" {
		errs = append(errs, FieldError{"client_id", "required"})
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			errs = append(errs, FieldError{fmt.Sprintf("scopes[%d]", i), fmt.Sprintf("scope %q must be one non-empty token without spaces or quotes", s)})
		}
	}
	if needOpenID && !slices.Contains(c.Scopes, "openid") {
		errs = append(errs, FieldError{"scopes", fmt.Sprintf("scopes %v must include openid", c.Scopes)})
	}
	return errs
}

// endpointErrors checks optional endpoint URLs of a configuration (CheckEndpointURL), keyed by their keys.
func endpointErrors(urls ...[2]string) []FieldError {
	var errs []FieldError
	for _, u := range urls {
		if u[1] == "" {
			continue
		}
		if err := CheckEndpointURL(u[0], u[1], false); err != nil {
			errs = append(errs, FieldError{u[0], err.Error()})
		}
	}
	return errs
}

// AuthorizationResponse reads an RFC 6749 §4.1.2 authorization response for a Provider.Callback: the IdP's error (its code is safe to
// show; the description goes to the log only), or the code from the first of codeParams present.
func AuthorizationResponse(q url.Values, codeParams ...string) (string, error) {
	if e := q.Get("error"); e != "" {
		return "", &Error{
			Code:   CodeIdPError,
			Err:    fmt.Errorf("identity provider answered error=%q: %q", clip(e, 64), clip(q.Get("error_description"), 200)),
			Detail: clip(e, 64),
		}
	}
	for _, p := range codeParams {
		if c := q.Get(p); c != "" {
			return c, nil
		}
	}
	return "", Errorf(CodeInvalidRequest, "the callback has neither %s nor error", strings.Join(codeParams, " nor "))
}

// clip shortens s for a log message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// IsLoopbackHost reports whether host (without port) is localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	// The length check keeps the comparison ASCII: EqualFold alone would accept "localhoſt" (U+017F).
	if len(host) == len("localhost") && strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}

// IsInternalHost reports whether host (without port) names this machine or a private network: a loopback
// host, a name under localhost, a private (RFC 1918, ULA), link-local, multicast or unspecified IP literal,
// or a numeric host that is no IP literal ("2130706433", "0x7f.1"), which some resolvers read as one.
func IsInternalHost(host string) bool {
	if IsLoopbackHost(host) {
		return true
	}
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		ip = ip.Unmap()
		return ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
			ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified()
	}
	name := strings.TrimSuffix(host, ".")
	if tld := name[strings.LastIndexByte(name, '.')+1:]; tld == "" || strings.Trim(tld, "0123456789") == "" ||
		len(tld) > 1 && tld[0] == '0' && (tld[1] == 'x' || tld[1] == 'X') {
		return true
	}
	return IsLoopbackHost(name) || len(name) > len(".localhost") &&
		strings.EqualFold(name[len(name)-len(".localhost"):], ".localhost")
}

// CheckEndpointURL validates an IdP URL: absolute, https unless the host is loopback (tests, dev),
// no user info, query-free when noQuery (issuers), and no fragment.
func CheckEndpointURL(field, raw string, noQuery bool) error {
	if raw == "" {
		return fmt.Errorf("%s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole input, which may hold a password: say only what is wrong.
		return fmt.Errorf("%s is not a valid URL", field)
	}
	shown := u.Redacted() // never repeat a password written into the URL
	switch {
	case u.Host == "" || !u.IsAbs():
		return fmt.Errorf("%s %q must be an absolute URL", field, shown)
	case u.Scheme != "https" && !(u.Scheme == "http" && IsLoopbackHost(u.Hostname())):
		return fmt.Errorf("%s %q must use https (plain http only for loopback hosts)", field, shown)
	case u.User != nil:
		return fmt.Errorf("%s %q must not carry user info", field, shown)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("%s %q must not have a fragment", field, shown)
	case noQuery && u.RawQuery != "":
		return fmt.Errorf("%s %q must not have a query", field, shown)
	}
	return nil
}

// checkDiscoveredURL checks a URL that a discovery document names, beyond CheckEndpointURL: it must use the
// issuer's scheme and, unless the issuer itself is on loopback (tests, dev), must not point at this machine
// or a private network (IsInternalHost). Otherwise a tampered document could send the code, the PKCE
// verifier, the client secret or a user's access token to an internal service.
func checkDiscoveredURL(field, raw string, issuer *url.URL) error {
	if err := CheckEndpointURL(field, raw, false); err != nil {
		return err
	}
	u, _ := url.Parse(raw) // CheckEndpointURL parsed it
	if u.Scheme != issuer.Scheme {
		return fmt.Errorf("%s %q does not use the issuer's scheme %s", field, u.Redacted(), issuer.Scheme)
	}
	if !IsLoopbackHost(issuer.Hostname()) && IsInternalHost(u.Hostname()) {
		return fmt.Errorf("%s %q points at a loopback, private or link-local address, but the issuer %s does not", field, u.Redacted(), issuer.Host)
	}
	return nil
}

// withTimeout bounds one outbound call and routes golang.org/x/oauth2 and go-oidc through client.
func withTimeout(ctx context.Context, client *http.Client) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	return context.WithValue(ctx, oauth2.HTTPClient, client), cancel
}

// httpResult is a bounded response body.
type httpResult struct {
	status int
	ctype  string
	body   []byte
}

// get performs one GET with an optional bearer token and reads at most MaxResponseBytes.
func get(ctx context.Context, client *http.Client, rawURL, bearer string) (*httpResult, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rawURL, err)
	}
	if len(body) > MaxResponseBytes {
		return nil, fmt.Errorf("%s: %w", rawURL, errTooLarge)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return &httpResult{status: resp.StatusCode, ctype: ct, body: body}, nil
}

// Retries of idempotent GETs (userinfo): one retry after a short pause, only for a transport error or a
// 5xx, and only if the caller's deadline leaves room. Token redemption is never retried: a code is single-use.
const (
	getAttempts = 2
	getBackoff  = 100 * time.Millisecond
)

// getRetrying is get with the bounded retry above.
func getRetrying(ctx context.Context, client *http.Client, rawURL, bearer string) (*httpResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := get(ctx, client, rawURL, bearer)
		failed := (err != nil && !errors.Is(err, errTooLarge)) || (err == nil && res.status >= 500)
		if !failed || attempt >= getAttempts || ctx.Err() != nil {
			return res, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*getBackoff {
			return res, err
		}
		t := time.NewTimer(getBackoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, err
		case <-t.C:
		}
	}
}

// decodeClaims parses a JSON object of claims. Numbers stay json.Number, their exact text: through float64,
// user_id 9007199254740993 would map like 9007199254740992 and two 19-digit ids would become one.
func decodeClaims(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, errors.New("body is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("body holds more than one JSON value")
	}
	return claims, nil
}

// fetchUserinfo reads a userinfo endpoint with an access token. A 401 is CodeInvalidToken so that the
// backend API can tell a refused token from a broken IdP; the caller decides whether that matters.
func fetchUserinfo(ctx context.Context, client *http.Client, endpoint, accessToken string) (map[string]any, error) {
	res, err := getRetrying(WithStage(ctx, StageUserinfo), client, endpoint, accessToken)
	if err != nil {
		return nil, Errorf(CodeUserinfoFailed, "userinfo request: %w", err)
	}
	switch {
	case res.status == http.StatusUnauthorized:
		return nil, Errorf(CodeInvalidToken, "userinfo endpoint refused the access token (401)")
	case res.status != http.StatusOK:
		return nil, Errorf(CodeUserinfoFailed, "userinfo endpoint answered %d", res.status)
	case res.ctype == "application/jwt":
		return nil, Errorf(CodeUserinfoFailed, "userinfo endpoint answered a signed JWT (application/jwt); only JSON userinfo is supported")
	}
	claims, err := decodeClaims(res.body)
	if err != nil {
		return nil, Errorf(CodeUserinfoFailed, "userinfo: %w", err)
	}
	return claims, nil
}

// RefreshInterval is the age at which loaded discovery (and with it the JWKS) is reloaded in the
// background; logins keep using the loaded value meanwhile, and keep it if the reload fails.
const RefreshInterval = time.Hour

// lazy loads a value on first use, caches it once loaded and retries a failed load at most once per
// RetryInterval, returning the last error in between. A value older than RefreshInterval is reloaded by
// one background goroutine while callers go on using it: the hot path never waits for the IdP's metadata.
type lazy[T any] struct {
	load func(ctx context.Context) (*T, error)
	now  func() time.Time

	mu         sync.Mutex
	val        *T
	err        error
	lastTry    time.Time
	loadedAt   time.Time
	refreshing bool
}

func (l *lazy[T]) get(ctx context.Context) (*T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.val != nil {
		if now := l.now(); !l.refreshing && (now.Sub(l.loadedAt) >= RefreshInterval || now.Before(l.loadedAt)) {
			l.refreshing = true
			go l.refresh()
		}
		return l.val, nil
	}
	now := l.now()
	if l.err != nil && now.Sub(l.lastTry) < RetryInterval && !now.Before(l.lastTry) {
		return nil, l.err
	}
	l.lastTry = now
	v, err := l.load(ctx)
	if err != nil {
		l.err = err
		return nil, err
	}
	l.val, l.err, l.loadedAt = v, nil, l.now()
	return v, nil
}

// refresh reloads a loaded value; on failure the old one stays and the next try is RetryInterval later.
func (l *lazy[T]) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	v, err := l.load(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refreshing = false
	if err != nil {
		l.loadedAt = l.now().Add(RetryInterval - RefreshInterval)
		return
	}
	l.val, l.loadedAt = v, l.now()
}

// Warmer is a provider that can open its connections ahead of a login: the bridge warms every provider at
// start-up and again when it has been idle, so that the first login of the morning does not pay DNS, TCP and
// TLS to each upstream host.
type Warmer interface {
	Warm(ctx context.Context) error
}

// warmOrigins makes one cheap request (HEAD) to each distinct origin of urls, so that the client's pool holds
// a live connection to it. Any HTTP answer counts: only a transport failure is an error.
func warmOrigins(ctx context.Context, client *http.Client, urls ...string) error {
	seen := map[string]bool{}
	var errs []error
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			continue
		}
		origin := u.Scheme + "://" + u.Host
		if seen[origin] {
			continue
		}
		seen[origin] = true
		rctx, cancel := context.WithTimeout(WithStage(ctx, StageWarm), callTimeout)
		req, err := http.NewRequestWithContext(rctx, http.MethodHead, origin+"/", nil)
		if err == nil {
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				_ = resp.Body.Close()
			}
		}
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("warming %s: %w", origin, unwrapURLError(err)))
		}
	}
	return errors.Join(errs...)
}
