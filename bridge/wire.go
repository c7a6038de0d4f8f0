package bridge

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/redirects"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// BuildOptions are the run-time dependencies that a config file does not say.
type BuildOptions struct {
	Logger *slog.Logger
	// HTTPClient makes every outbound call; nil builds one with timeouts and keep-alive pools (UpstreamClient).
	HTTPClient *http.Client
	ShowToken  bool
	Now        func() time.Time
	// LoginTimeout bounds one whole callback; 0 means DefaultLoginTimeout.
	LoginTimeout time.Duration
}

// UpstreamClient is the shared HTTP client for IdPs and Fuyun: bounded connect, TLS and header waits, and a
// keep-alive pool large enough for a shift change's burst of logins.
func UpstreamClient() *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
		},
		// An IdP or Fuyun endpoint answers; it never needs to send us elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// NewFromConfig builds a Server from a validated configuration: providers, mappers, the Fuyun client, the
// redirect allow-list and the templates. It makes no network call; a bad key or table fails here, at start-up.
func NewFromConfig(cfg *config.Config, bo BuildOptions) (*Server, error) {
	if bo.Logger == nil {
		bo.Logger = slog.New(slog.DiscardHandler)
	}
	if bo.HTTPClient == nil {
		bo.HTTPClient = UpstreamClient()
	}
	// Every upstream call is timed per stage (metrics.go); the transport and its pool stay shared.
	metrics := NewMetrics()
	fuyunHTTP := metrics.InstrumentClient(bo.HTTPClient, StageFuyunExchange)
	signer, err := newSigner(cfg.Fuyun)
	if err != nil {
		return nil, err
	}
	fc, err := newFuyunClient(cfg.Fuyun, config.ProviderFuyun{}, signer, fuyunHTTP)
	if err != nil {
		return nil, err
	}
	idpClient := metrics.InstrumentClient(bo.HTTPClient, StageIdPOther)
	var routes []Route
	for _, pc := range cfg.Providers {
		p, err := providers.Build(pc.Type, pc.Common(), pc.Preset, providers.Options{HTTPClient: idpClient, Now: bo.Now, Logger: bo.Logger})
		if err != nil {
			return nil, err
		}
		m, err := mapping.New(pc.Mapping, mapping.Options{})
		if err != nil {
			return nil, fmt.Errorf("provider %q: mapping: %w", pc.ID, err)
		}
		mode, err := fuyun.ParseMode(pc.Mode())
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", pc.ID, err)
		}
		rt := Route{Provider: p, Mapper: m, Mode: mode}
		if pc.Fuyun.Set() {
			if rt.Fuyun, err = newFuyunClient(cfg.Fuyun, pc.Fuyun, signer, fuyunHTTP); err != nil {
				return nil, fmt.Errorf("provider %q: %w", pc.ID, err)
			}
		}
		routes = append(routes, rt)
	}
	allow, err := redirects.New(cfg.Redirects.Allowed, cfg.Server.PublicBase)
	if err != nil {
		return nil, fmt.Errorf("redirects.allowed: %w", err)
	}
	tpl, err := templates.New()
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	proxies, err := ParseTrustedProxies(cfg.Server.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server.trusted_proxies: %w", err)
	}
	apiOpts, err := apiOptions(cfg.API)
	if err != nil {
		return nil, err
	}
	var keys [][]byte
	for _, kp := range cfg.Session.KeyPairs {
		keys = append(keys, kp.Hash, kp.Block)
	}
	return New(Options{
		PublicURL:   cfg.Server.PublicBase,
		Routes:      routes,
		Fuyun:       fc,
		SessionKeys: keys,
		Cookie: CookieOptions{
			Name:        cfg.Cookie.Name,
			Domain:      cfg.Cookie.Domain,
			Secure:      cfg.Cookie.SecureValue,
			HTTPOnly:    cfg.Cookie.HTTPOnly,
			SameSite:    cfg.Cookie.SameSiteMode,
			Partitioned: cfg.Cookie.Partitioned,
			MaxAge:      cfg.Cookie.MaxAge.Std(),
		},
		Redirects:     allow,
		EmbedOrigins:  cfg.Embed.AllowedOrigins,
		LogoutOrigins: exactOrigins(cfg.Redirects.Allowed, cfg.Embed.AllowedOrigins),
		Templates:     tpl,
		Logger:        bo.Logger,
		ShowToken:     bo.ShowToken,
		AccessLog:     cfg.Log.Access,
		LoginTimeout:  bo.LoginTimeout,
		Now:           bo.Now,

		Metrics:        metrics,
		PublicMetrics:  cfg.Server.MetricsPublic,
		TrustedProxies: proxies,
		API:            apiOpts,
		KeepWarm:       keepWarm(cfg.Server.KeepWarm.Std()),
	})
}

// NewFuyunClient builds the token-exchange client of cfg.fuyun; the JWT signer only when a key is configured.
func NewFuyunClient(cfg *config.Config, hc *http.Client) (*fuyun.Client, error) {
	signer, err := newSigner(cfg.Fuyun)
	if err != nil {
		return nil, err
	}
	return newFuyunClient(cfg.Fuyun, config.ProviderFuyun{}, signer, hc)
}

// newSigner parses the JWT-mode key once; every client of the bridge shares the signer.
func newSigner(f config.Fuyun) (*fuyun.Signer, error) {
	if f.JWT.PrivateKey == "" && f.JWT.PrivateKeyFile == "" {
		return nil, nil
	}
	var key *rsa.PrivateKey
	var err error
	if f.JWT.PrivateKey != "" {
		key, err = fuyun.ParsePrivateKey([]byte(f.JWT.PrivateKey))
	} else {
		key, err = fuyun.LoadPrivateKeyFile(f.JWT.PrivateKeyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("fuyun.jwt private key: %w", err)
	}
	signer, err := fuyun.NewSigner(key, f.JWT.Issuer, f.JWT.TTL.Std(), f.JWT.KeyID)
	if err != nil {
		return nil, fmt.Errorf("fuyun.jwt: %w", err)
	}
	return signer, nil
}

// newFuyunClient builds a client of the fuyun: block, with a provider's own registration (own) in place of
// client_id, client_secret and app_name when it has one.
func newFuyunClient(f config.Fuyun, own config.ProviderFuyun, signer *fuyun.Signer, hc *http.Client) (*fuyun.Client, error) {
	id, secret, app := f.ClientID, f.ClientSecret, f.AppName
	if own.Set() {
		id, secret = own.ClientID, own.ClientSecret
		if own.AppName != "" {
			app = own.AppName
		}
	}
	c, err := fuyun.NewClient(fuyun.Config{
		TokenURL:     f.TokenURL,
		ClientID:     id,
		ClientSecret: secret,
		Scope:        f.Scope,
		RedirectURL:  f.RedirectURL,
		AppName:      app,
		Signer:       signer,
		HTTPClient:   hc,
		Timeout:      f.Timeout.Std(),
	})
	if err != nil {
		return nil, fmt.Errorf("fuyun: %w", err)
	}
	return c, nil
}

// exactOrigins is every listed origin without a wildcard, once: the trusted origins of POST /logout
// (net/http.CrossOriginProtection matches exact origins only).
func exactOrigins(lists ...[]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, o := range l {
			if !strings.Contains(o, "*") && !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	return out
}

// keepWarm turns server.keep_warm into Options.KeepWarm: 0s in the file means off.
func keepWarm(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
