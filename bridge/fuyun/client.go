// Package fuyun exchanges an agent's identity for a Fuyun contact-center access token, as Fuyun's platform
// integration guide describes: JWT mode (the integrator signs an RS256 JWT naming the agent) and OAuth mode
// (a third-party IdP access token that Fuyun resolves itself). It also loads and generates the RSA keys of
// JWT mode. It has no dependency on the rest of fuyun-bridge and can be used on its own.
package fuyun

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GrantTypeTokenExchange is the grant_type of Fuyun's token exchange (RFC 8693).
const GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// DefaultTokenURL is Fuyun's production token-exchange endpoint.
const DefaultTokenURL = "https://signin.rhinokeen.com/oauth/token_exchange"

// Defaults applied by NewClient to zero Config fields.
const (
	DefaultTimeout     = 10 * time.Second // per attempt
	DefaultMaxAttempts = 3                // one try and two retries
	MaxResponseBytes   = 1 << 20          // a larger answer is an error and is not read further
)

// Retry backoff: small, because a login is waiting; capped, because the caller's deadline is what matters.
const (
	backoffBase = 100 * time.Millisecond
	backoffCap  = 2 * time.Second
	maxAttempts = 10
)

// Mode is how the bridge proves the agent's identity to Fuyun.
type Mode string

// The two exchange modes of Fuyun's guide.
const (
	ModeJWT   Mode = "jwt"   // subject_token is an RS256 JWT signed by the integrator
	ModeOAuth Mode = "oauth" // subject_token is a third-party IdP access token
)

// ParseMode reads "jwt" or "oauth" (case-insensitive).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeJWT, ModeOAuth:
		return m, nil
	}
	return "", fmt.Errorf("fuyun: unknown mode %q: want %q or %q", s, ModeJWT, ModeOAuth)
}

// Config describes one Fuyun client registration (developer portal → 身份管理配置).
type Config struct {
	TokenURL     string // default DefaultTokenURL
	ClientID     string
	ClientSecret string
	Scope        string           // comma-separated, e.g. "user_management,hotline"
	RedirectURL  string           // the 回调地址 registered with the client
	AppName      string           // subject_issuer in OAuth mode
	Signer       *Signer          // required for ExchangeJWT
	HTTPClient   *http.Client     // nil: a client of its own with a keep-alive transport, no redirects followed
	Timeout      time.Duration    // per attempt; default DefaultTimeout
	MaxAttempts  int              // including the first; default DefaultMaxAttempts
	Now          func() time.Time // clock for JWT iat/exp; default time.Now
	// BreakerThreshold is how many failed attempts in a row open the circuit breaker (see breaker.go);
	// 0 means DefaultBreakerThreshold, a negative value turns the breaker off.
	BreakerThreshold int
	// BreakerCooldown is how long the open breaker refuses exchanges; 0 means DefaultBreakerCooldown.
	BreakerCooldown time.Duration
	// AllowInsecureHTTP permits a plain-http TokenURL on a non-loopback host (an emulator in a private
	// network); otherwise the client secret only travels over https or to loopback.
	AllowInsecureHTTP bool
}

// Client performs token exchanges against one Fuyun client registration. It is safe for concurrent use.
type Client struct {
	cfg      Config
	tokenURL string
	http     *http.Client
	secrets  []string // never to appear in an error: the client secret and the Basic credentials
	breaker  *breaker // nil when turned off
}

// Token is Fuyun's successful token-exchange answer.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Issuer      string `json:"iss"`
	JTI         string `json:"jti"`
}

// NewClient checks cfg and builds a Client; every problem it reports is a configuration mistake.
func NewClient(cfg Config) (*Client, error) {
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	if err := checkTokenURL(cfg.TokenURL, cfg.AllowInsecureHTTP); err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "":
		return nil, errors.New("fuyun: client_id is empty")
	case strings.Contains(cfg.ClientID, ":"):
		// Fuyun takes base64(client_id:client_secret) raw, so a colon in the id would be ambiguous.
		return nil, errors.New("fuyun: client_id must not contain ':'")
	case cfg.ClientSecret == "":
		return nil, errors.New("fuyun: client_secret is empty")
	case hasControl(cfg.ClientID) || hasControl(cfg.ClientSecret):
		return nil, errors.New("fuyun: client_id or client_secret contains control characters (a stray newline from a secret file?)")
	case strings.TrimSpace(cfg.Scope) == "":
		return nil, errors.New("fuyun: scope is empty; use the scopes of the client registration, e.g. user_management,hotline")
	case cfg.RedirectURL == "":
		return nil, errors.New("fuyun: redirect_url is empty; use the callback URL registered with the client")
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("fuyun: redirect_url %q is not an absolute URL", cfg.RedirectURL)
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("fuyun: timeout %s is negative", cfg.Timeout)
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxAttempts < 0 || cfg.MaxAttempts > maxAttempts:
		return nil, fmt.Errorf("fuyun: max attempts %d out of range 1..%d", cfg.MaxAttempts, maxAttempts)
	case cfg.MaxAttempts == 0:
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.BreakerThreshold == 0:
		cfg.BreakerThreshold = DefaultBreakerThreshold
	case cfg.BreakerCooldown < 0:
		return nil, fmt.Errorf("fuyun: breaker cooldown %s is negative", cfg.BreakerCooldown)
	}
	if cfg.BreakerCooldown == 0 {
		cfg.BreakerCooldown = DefaultBreakerCooldown
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = newHTTPClient()
	}
	basic := base64.StdEncoding.EncodeToString([]byte(cfg.ClientID + ":" + cfg.ClientSecret))
	return &Client{cfg: cfg, tokenURL: cfg.TokenURL, http: hc, secrets: []string{cfg.ClientSecret, basic},
		breaker: newBreaker(cfg.BreakerThreshold, cfg.BreakerCooldown, time.Now)}, nil
}

func checkTokenURL(raw string, allowHTTP bool) error {
	// Checked before the URL is ever quoted: a password written into it must not reach a log.
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("fuyun: token_url is not a valid URL")
	case u.User != nil:
		return errors.New("fuyun: token_url must not carry credentials; set client_id and client_secret")
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return fmt.Errorf("fuyun: token_url %q is not an absolute http(s) URL", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("fuyun: token_url %q must not have a query or fragment: parameters go in the form body", raw)
	case u.Scheme == "http" && !allowHTTP && !isLoopback(u.Hostname()):
		return fmt.Errorf("fuyun: token_url %q is plain http to a non-loopback host: the client secret would travel in clear (use https)", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// newHTTPClient is the default transport: keep-alive with room for a burst of logins to one host.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 32
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ExpectContinueTimeout = time.Second
	return &http.Client{
		Transport: t,
		// A redirect would turn the POST into a GET without the body; report it instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ExchangeJWT exchanges a freshly minted subject JWT for userName (the agent's Fuyun AccountName). Each
// attempt signs a new JWT with a new jti, since Fuyun may have seen (and burned) the previous one.
func (c *Client) ExchangeJWT(ctx context.Context, userName string) (*Token, error) {
	signer := c.cfg.Signer
	if signer == nil {
		return nil, errors.New("fuyun: JWT mode needs a signer (fuyun.jwt.private_key_file)")
	}
	if strings.TrimSpace(userName) == "" {
		return nil, errors.New("fuyun: user name is empty")
	}
	return c.exchange(ctx, func() (url.Values, []string, error) {
		subject, err := signer.Sign(userName, c.cfg.Now())
		if err != nil {
			return nil, nil, err
		}
		return c.form(subject, signer.Issuer()), []string{subject}, nil
	})
}

// ExchangeOAuth exchanges a third-party IdP access token, which Fuyun checks against the user endpoint
// configured for the App Name; subject_issuer is Config.AppName.
func (c *Client) ExchangeOAuth(ctx context.Context, subjectToken string) (*Token, error) {
	if c.cfg.AppName == "" {
		return nil, errors.New("fuyun: OAuth mode needs the App Name (fuyun.app_name)")
	}
	if subjectToken == "" {
		return nil, errors.New("fuyun: subject token is empty")
	}
	form := c.form(subjectToken, c.cfg.AppName)
	return c.exchange(ctx, func() (url.Values, []string, error) { return form, []string{subjectToken}, nil })
}

func (c *Client) form(subjectToken, subjectIssuer string) url.Values {
	return url.Values{
		"grant_type":     {GrantTypeTokenExchange},
		"scope":          {c.cfg.Scope},
		"redirect_url":   {c.cfg.RedirectURL},
		"subject_token":  {subjectToken},
		"subject_issuer": {subjectIssuer},
	}
}

// exchange runs the bounded retry loop; build returns the form for one attempt and the secrets it holds.
func (c *Client) exchange(ctx context.Context, build func() (url.Values, []string, error)) (*Token, error) {
	for attempt := 1; ; attempt++ {
		if !c.breaker.allow() {
			return nil, &Error{Attempts: attempt - 1, Err: ErrCircuitOpen}
		}
		form, secrets, err := build()
		if err != nil {
			c.breaker.done(false, false)
			return nil, err
		}
		tok, xerr := c.attempt(ctx, form, secrets)
		// A caller that gave up says nothing about Fuyun; anything else that is not Temporary is an answer.
		c.breaker.done(xerr == nil || !xerr.Temporary(), !errors.Is(ctx.Err(), context.Canceled))
		if xerr == nil {
			return tok, nil
		}
		xerr.Attempts = attempt
		if !xerr.Temporary() || attempt >= c.cfg.MaxAttempts {
			return nil, xerr
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			if !errors.Is(xerr.Err, err) {
				xerr.Err = errors.Join(xerr.Err, err)
			}
			return nil, xerr
		}
	}
}

// backoff is exponential with equal jitter: half the step fixed, half random, so retries spread out.
func backoff(attempt int) time.Duration {
	d := backoffBase << (attempt - 1)
	if d > backoffCap || d <= 0 {
		d = backoffCap
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		// No point waiting for an attempt that has no time left to run.
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) attempt(ctx context.Context, form url.Values, secrets []string) (*Token, *Error) {
	// context.WithTimeout keeps the earlier of the two deadlines: min(Timeout, ctx deadline).
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &Error{Err: err}
	}
	req.SetBasicAuth(c.cfg.ClientID, c.cfg.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &Error{Err: err}
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, MaxResponseBytes)
	if err != nil {
		return nil, &Error{StatusCode: resp.StatusCode, Err: err}
	}
	secrets = append(secrets, c.secrets...)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, errorFromBody(resp, body, secrets)
	}
	var tok Token
	if err := json.Unmarshal(body, &tok); err != nil {
		return nil, &Error{
			StatusCode:  resp.StatusCode,
			Description: "success status but the body is not a JSON token response: " + summarize(resp, body, secrets),
			Err:         ErrMalformedReply,
		}
	}
	if tok.AccessToken == "" {
		return nil, &Error{StatusCode: resp.StatusCode, Description: "success status but no access_token in the response", Err: ErrMalformedReply}
	}
	return &tok, nil
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, limit)
	}
	return body, nil
}

// oauthError is the RFC 6749 §5.2 error body that Fuyun usually sends.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	// Spring-style bodies some gateways send instead.
	Message string `json:"message"`
}

func errorFromBody(resp *http.Response, body []byte, secrets []string) *Error {
	e := &Error{StatusCode: resp.StatusCode}
	var oe oauthError
	if json.Unmarshal(body, &oe) == nil && (oe.Error != "" || oe.ErrorDescription != "" || oe.Message != "") {
		e.Code = sanitize(oe.Error, secrets...)
		e.Description = sanitize(oe.ErrorDescription, secrets...)
		if e.Description == "" {
			e.Description = sanitize(oe.Message, secrets...)
		}
		return e
	}
	e.Description = summarize(resp, body, secrets)
	return e
}

// summarize describes a body that is not the expected JSON, for an operator reading the log.
func summarize(resp *http.Response, body []byte, secrets []string) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return "empty body"
	}
	kind := "body"
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		kind = mt + " body"
	}
	return fmt.Sprintf("%s: %q", kind, sanitize(string(body), secrets...))
}

// ClientID is the client_id this client authenticates as (not a secret), for logs and metric labels.
func (c *Client) ClientID() string { return c.cfg.ClientID }

// CircuitOpen reports whether the circuit breaker currently refuses exchanges because Fuyun kept failing.
func (c *Client) CircuitOpen() bool { return c.breaker.open() }

// Ping checks that the token URL answers HTTP at all. Any status, even 4xx, counts as reachable; only
// network errors and timeouts fail. It sends no credentials.
func (c *Client) Ping(ctx context.Context) error {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, c.tokenURL, nil)
	if err != nil {
		return &Error{Attempts: 1, Err: err}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Attempts: 1, Err: err}
	}
	// Drain a little so the connection can be reused, but never a large body.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return nil
}
