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
	b, err := newBuilder(cfg, bo, nil)
	if err != nil {
		return nil, err
	}
	return b.root(nil)
}

// builder builds servers over the process's shared pieces — one HTTP transport, one metrics registry, one
// template set and the process-wide options — for the configuration file's company (root) and, in platform
// mode, for each tenant (tenant).
type builder struct {
	cfg       *config.Config
	bo        BuildOptions
	metrics   *Metrics
	fuyunHTTP *http.Client
	idpHTTP   *http.Client
	base      Options // the process-wide options; each server adds its company's
}

// newBuilder builds over cfg; with prev (a platform's reload) it keeps prev's metrics registry and upstream
// clients, which live as long as the process.
func newBuilder(cfg *config.Config, bo BuildOptions, prev *builder) (*builder, error) {
	if bo.Logger == nil {
		bo.Logger = slog.New(slog.DiscardHandler)
	}
	b := &builder{cfg: cfg, bo: bo}
	if prev != nil {
		b.metrics, b.fuyunHTTP, b.idpHTTP = prev.metrics, prev.fuyunHTTP, prev.idpHTTP
	} else {
		if b.bo.HTTPClient == nil {
			b.bo.HTTPClient = UpstreamClient()
		}
		// Every upstream call is timed per stage (metrics.go); the transport and its pool stay shared.
		b.metrics = NewMetrics()
		b.fuyunHTTP = b.metrics.InstrumentClient(b.bo.HTTPClient, StageFuyunExchange)
		b.idpHTTP = b.metrics.InstrumentClient(b.bo.HTTPClient, StageIdPOther)
	}
	metrics := b.metrics
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
	b.base = Options{
		PublicURL:   cfg.Server.PublicBase,
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
		Templates:    tpl,
		Logger:       bo.Logger,
		ShowToken:    bo.ShowToken,
		AccessLog:    cfg.Log.Access,
		LoginTimeout: bo.LoginTimeout,
		Now:          bo.Now,

		Metrics:        metrics,
		PublicMetrics:  cfg.Server.MetricsPublic,
		TrustedProxies: proxies,
		API:            apiOpts,
		KeepWarm:       keepWarm(cfg.Server.KeepWarm.Std()),
		sharedAPI:      newAPI(apiOpts),
	}
	return b, nil
}

// company builds the Fuyun client and the routes of one company's fuyun section and providers; none when it
// has no provider (platform mode's root may have none).
func (b *builder) company(f config.Fuyun, provs []config.Provider, logger *slog.Logger) (*fuyun.Client, []Route, error) {
	if len(provs) == 0 {
		return nil, nil, nil
	}
	signer, err := newSigner(f)
	if err != nil {
		return nil, nil, err
	}
	fc, err := newFuyunClient(f, config.ProviderFuyun{}, signer, b.fuyunHTTP)
	if err != nil {
		return nil, nil, err
	}
	var routes []Route
	for _, pc := range provs {
		p, err := providers.Build(pc.Type, pc.Common(), pc.Preset, providers.Options{HTTPClient: b.idpHTTP, Now: b.bo.Now, Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		m, err := mapping.New(pc.Mapping, mapping.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("provider %q: mapping: %w", pc.ID, err)
		}
		mode, err := fuyun.ParseMode(pc.Mode())
		if err != nil {
			return nil, nil, fmt.Errorf("provider %q: %w", pc.ID, err)
		}
		rt := Route{Provider: p, Mapper: m, Mode: mode}
		if pc.Fuyun.Set() {
			if rt.Fuyun, err = newFuyunClient(f, pc.Fuyun, signer, b.fuyunHTTP); err != nil {
				return nil, nil, fmt.Errorf("provider %q: %w", pc.ID, err)
			}
		}
		routes = append(routes, rt)
	}
	return fc, routes, nil
}

// root builds the server of the configuration file's company, at the root paths; platform is set in platform
// mode.
func (b *builder) root(platform *Platform) (*Server, error) {
	cfg := b.cfg
	fc, routes, err := b.company(cfg.Fuyun, cfg.Providers, b.bo.Logger)
	if err != nil {
		return nil, err
	}
	allow, err := redirects.New(cfg.Redirects.Allowed, cfg.Server.PublicBase)
	if err != nil {
		return nil, fmt.Errorf("redirects.allowed: %w", err)
	}
	opts := b.base
	opts.Routes, opts.Fuyun, opts.Redirects = routes, fc, allow
	opts.EmbedOrigins = cfg.Embed.AllowedOrigins
	opts.LogoutOrigins = exactOrigins(cfg.Redirects.Allowed, cfg.Embed.AllowedOrigins)
	opts.platform = platform
	return New(opts)
}

// tenant builds the server of a platform-mode tenant, served at config.TenantURL. Its login states and
// handoffs are bound to its id, and each route carries its fingerprint (see config.Tenant.Fingerprints).
func (b *builder) tenant(t *config.Tenant, platform *Platform) (*Server, error) {
	f := t.Fuyun
	// fuyun.timeout is process-wide: it bounds the process's calls, whoever they are for. Every log line of the
	// tenant's logins names it.
	f.Timeout = b.cfg.Fuyun.Timeout
	logger := b.bo.Logger.With("tenant", t.ID)
	fc, routes, err := b.company(f, t.Providers, logger)
	if err != nil {
		return nil, err
	}
	prints, err := t.Fingerprints()
	if err != nil {
		return nil, err
	}
	for i := range routes {
		routes[i].fingerprint = prints[routes[i].Provider.ID()]
	}
	public := config.TenantURL(b.cfg.Server.PublicBase, t.ID, t.Hosts)
	allow, err := redirects.New(t.Redirects.Allowed, public)
	if err != nil {
		return nil, fmt.Errorf("redirects.allowed: %w", err)
	}
	opts := b.base
	opts.PublicURL, opts.Routes, opts.Fuyun, opts.Redirects = public, routes, fc, allow
	opts.Cookie.Domain = t.Cookie.Domain
	opts.EmbedOrigins = t.Embed.AllowedOrigins
	opts.LogoutOrigins = exactOrigins(t.Redirects.Allowed, t.Embed.AllowedOrigins)
	opts.Tenant, opts.TenantName, opts.platform, opts.sharedBreakers = t.ID, t.DisplayName, platform, true
	opts.Logger = logger
	return New(opts)
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
