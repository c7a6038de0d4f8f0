// Package bridge is the browser-facing HTTP service: it owns routes, login state, cookies, redirects and
// pages, and wires providers (IdP → Identity), mapping (Identity → agent) and the Fuyun client (agent → token).
// Nothing else in the project talks HTTP to the browser.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/redirects"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
	"github.com/fuyun-bridge/fuyun-bridge/static"
	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// Route is one provider as the bridge serves it: the IdP, how its users map to agents, and the Fuyun
// exchange mode its logins use.
type Route struct {
	Provider providers.Provider
	Mapper   *mapping.Mapper
	Mode     fuyun.Mode
	// Fuyun is this provider's own Fuyun client (providers[].fuyun); nil means Options.Fuyun.
	Fuyun *fuyun.Client

	// fingerprint names the settings a login of this route depends on, in platform mode (see
	// routeFingerprint); a login started under another fingerprint fails with tenant_changed.
	fingerprint string
}

// exchange trades a mapped login for Fuyun's token in the route's mode: JWT mode signs for the mapped
// account; OAuth mode forwards the IdP's access token, and Fuyun's own mapping names the agent. It returns
// the agent Fuyun's token is for.
func (rt *Route) exchange(ctx context.Context, account, idpAccessToken string) (*fuyun.Token, string, error) {
	if rt.Mode == fuyun.ModeJWT {
		tok, err := rt.Fuyun.ExchangeJWT(ctx, account)
		return tok, account, err
	}
	tok, err := rt.Fuyun.ExchangeOAuth(ctx, idpAccessToken)
	if err != nil {
		return nil, account, err
	}
	return tok, oauthAgent(tok, account), nil
}

// oauthAgent is the agent an OAuth-mode token is for: Fuyun's own mapping names it (user_name), else the
// bridge's mapped account.
func oauthAgent(tok *fuyun.Token, mapped string) string {
	if tok != nil {
		if c, err := tok.Claims(); err == nil && c.UserName != "" {
			return c.UserName
		}
	}
	return mapped
}

// mapIdentity maps an identity to the account to sign in. An identity whose organisation the provider could
// not prove (Identity.Unpinned) is refused unless the mapping pins the user by subject: its other claims could
// come from a user of any tenant.
func (rt *Route) mapIdentity(ident *providers.Identity) (*mapping.Result, error) {
	if ident.Unpinned != "" && !rt.Mapper.PinsSubject() {
		le := failf(providers.CodeTenantNotAllowed, fmt.Errorf("%s, so the user's tenant is not proven, and the mapping does not pin users by sub", ident.Unpinned))
		le.detail = ident.Unpinned + ": to admit users here, map on field sub with an accounts_file of allowed subjects and no fallbacks"
		return nil, le
	}
	return rt.Mapper.Map(ident.Claims)
}

// Options are everything a Server is built from; NewFromConfig fills them from a validated config.
type Options struct {
	PublicURL   *url.URL // the bridge's external base URL; callback URLs are {PublicURL}/callback/{id}
	Routes      []Route  // in sign-in page order
	Fuyun       *fuyun.Client
	SessionKeys [][]byte // hash/block key pairs for the login-state cookie; the first pair signs
	Cookie      CookieOptions
	Redirects   *redirects.AllowList
	// EmbedOrigins may frame /embed and receive its messages (embed.allowed_origins: exact origins or
	// "https://*.domain" wildcards). Empty turns /embed off.
	EmbedOrigins []string
	// LogoutOrigins are the other origins whose POST /logout is accepted (exact origins; see logout.go).
	LogoutOrigins []string
	// PopupTimeout bounds how long /embed waits for its login popup; default 5 minutes.
	PopupTimeout time.Duration
	Templates    *templates.Set
	Logger       *slog.Logger
	// ShowToken puts the received AC_TOKEN on the success page (the dev demo only).
	ShowToken bool
	// AccessLog logs one line per request (see withAccessLog).
	AccessLog bool
	// LoginTimeout bounds one whole callback (IdP token, userinfo, Fuyun, retries included), so that an
	// agent sees an error page rather than a hang; default DefaultLoginTimeout.
	LoginTimeout time.Duration
	Now          func() time.Time
	// Metrics are observed by the handlers; nil makes a fresh set (see metrics.go).
	Metrics *Metrics
	// PublicMetrics also serves /metrics on this handler, to anyone who reaches it; otherwise /metrics is only
	// on OpsHandler, which serve puts on its own listener (server.metrics_listen).
	PublicMetrics bool
	// TrustedProxies are the peers whose X-Forwarded-For/Proto are believed (see proxy.go).
	TrustedProxies []netip.Prefix
	// FuyunFreshness is how long a contact with Fuyun keeps /readyz ready; default DefaultFuyunFreshness.
	FuyunFreshness time.Duration
	// API configures POST /api/v1/token (see api.go); nil API.Keys leaves it off.
	API APIOptions
	// KeepWarm is the idle time after which KeepWarm re-opens the upstream connections; 0 means
	// DefaultKeepWarm, a negative value turns it off.
	KeepWarm time.Duration
	// Tenant is the platform-mode tenant this server serves ("" for the configuration file's company): its
	// login states and handoffs are bound to it, so that none finishes at another tenant. TenantName is its
	// display name.
	Tenant, TenantName string

	// platform is set on the servers of platform mode: the root's sign-in page offers home-realm discovery,
	// and the root may have no provider of its own.
	platform *Platform
	// sharedBreakers leaves the Fuyun circuit-breaker gauges out: a platform's tenants would add one each.
	sharedBreakers bool
	// sharedAPI, when set, is the backend API (keys and rate limits) every server of a platform shares, so
	// that the per-key and per-IP limits hold across tenants rather than per tenant.
	sharedAPI *api
}

// DefaultLoginTimeout bounds a whole callback when Options leave LoginTimeout 0.
const DefaultLoginTimeout = 15 * time.Second

// Server is the bridge's HTTP handler.
type Server struct {
	opts     Options
	routes   map[string]*Route
	order    []*Route
	states   *stateStore
	embed    *embedding
	handler  http.Handler
	inner    http.Handler // handler without the edge (request id, proxies, access log): what a platform mounts
	log      *slog.Logger
	basePath string

	// Operations (metrics.go, proxy.go, api.go, health.go).
	metrics     *Metrics
	proxies     proxyTrust
	api         *api
	fuyunHealth *fuyunHealth
	readyLog    readyLogger
	activity    activity
}

// New checks opts and builds the handler. It makes no network call.
func New(opts Options) (*Server, error) {
	if opts.PublicURL == nil || opts.PublicURL.Host == "" {
		return nil, errors.New("bridge: public URL is required")
	}
	if len(opts.Routes) == 0 && opts.platform == nil {
		return nil, errors.New("bridge: at least one provider is required")
	}
	if (opts.Fuyun == nil && len(opts.Routes) > 0) || opts.Redirects == nil || opts.Templates == nil {
		return nil, errors.New("bridge: Fuyun client, redirect allow-list and templates are required")
	}
	if opts.Cookie.Name == "" {
		return nil, errors.New("bridge: cookie name is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LoginTimeout == 0 {
		opts.LoginTimeout = DefaultLoginTimeout
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.FuyunFreshness == 0 {
		opts.FuyunFreshness = DefaultFuyunFreshness
	}
	if opts.KeepWarm == 0 {
		opts.KeepWarm = DefaultKeepWarm
	}
	s := &Server{opts: opts, routes: map[string]*Route{}, log: opts.Logger}
	s.metrics, s.proxies, s.api = opts.Metrics, proxyTrust{prefixes: opts.TrustedProxies}, opts.sharedAPI
	if s.api == nil {
		s.api = newAPI(opts.API)
	}
	s.fuyunHealth = &fuyunHealth{client: opts.Fuyun, freshness: opts.FuyunFreshness, now: opts.Now, metrics: opts.Metrics}
	s.basePath = strings.TrimSuffix(opts.PublicURL.Path, "/")
	for i := range opts.Routes {
		rt := &opts.Routes[i]
		if rt.Provider == nil || rt.Mapper == nil {
			return nil, fmt.Errorf("bridge: route %d: provider and mapper are required", i)
		}
		id := rt.Provider.ID()
		if _, dup := s.routes[id]; dup {
			return nil, fmt.Errorf("bridge: provider id %q is used twice", id)
		}
		if rt.Fuyun == nil {
			rt.Fuyun = opts.Fuyun
		}
		if rt.Mode != fuyun.ModeJWT && rt.Mode != fuyun.ModeOAuth {
			return nil, fmt.Errorf("bridge: provider %q: unknown Fuyun mode %q", id, rt.Mode)
		}
		if !opts.sharedBreakers {
			if err := s.metrics.watchBreaker(rt.Fuyun); err != nil {
				return nil, fmt.Errorf("bridge: metrics: %w", err)
			}
		}
		s.routes[id] = rt
		s.order = append(s.order, rt)
	}
	states, err := newStateStore(opts.SessionKeys, opts.PublicURL.Scheme == "https", opts.Now)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	s.states = states
	if s.embed, err = newEmbedding(opts, http.HandlerFunc(s.crossOriginDenied)); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	s.handler = s.router()
	return s, nil
}

// ServeHTTP serves the bridge.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) router() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc("/", s.handleSignIn).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login/{provider}", s.handleLogin).Methods(http.MethodGet)
	r.HandleFunc("/callback/{provider}", s.handleCallback).Methods(http.MethodGet)
	r.HandleFunc("/embed", s.handleEmbed).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/embed/handoff", s.embed.sameOrigin.Handler(http.HandlerFunc(s.handleHandoff))).Methods(http.MethodPost)
	r.Handle("/logout", s.embed.logoutOrigins.Handler(http.HandlerFunc(s.handleLogout))).Methods(http.MethodPost)
	r.HandleFunc("/healthz", s.handleHealthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.handleReadyz).Methods(http.MethodGet, http.MethodHead)
	if s.opts.PublicMetrics {
		r.Handle("/metrics", s.metrics.Handler()).Methods(http.MethodGet)
	}
	if s.api != nil {
		r.HandleFunc("/api/v1/token", s.handleAPIToken).Methods(http.MethodPost)
	}
	if s.opts.platform != nil && s.opts.Tenant != "" {
		r.HandleFunc("/discover", s.handleDiscover).Methods(http.MethodGet, http.MethodHead)
	}
	r.HandleFunc("/icons/{type}.svg", s.handleIcon).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/static/").Handler(http.StripPrefix("/static/", staticHandler(http.FileServerFS(static.FS))))
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, failf(CodeNotFound, fmt.Errorf("no route for %s", r.URL.Path)))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
	h := securityHeaders(r)
	s.inner = h
	if s.opts.AccessLog {
		h = s.withAccessLog(h) // inside withEdge and withRequestID: it logs their client address and id
	}
	return s.withRequestID(s.withEdge(h))
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// absolute is the URL of path (which starts with /) on this server's public URL.
func (s *Server) absolute(path string) string {
	return strings.TrimSuffix(s.opts.PublicURL.String(), "/") + path
}

// iconURL is where a route's sign-in button image is served: its provider type's own icon.
func (s *Server) iconURL(rt *Route) string {
	return s.basePath + "/icons/" + rt.Provider.Type() + ".svg"
}

// handleIcon serves a provider type's icon (each preset carries its own image).
func (s *Server) handleIcon(w http.ResponseWriter, r *http.Request) {
	preset, ok := providers.Lookup(mux.Vars(r)["type"])
	if !ok || len(preset.Icon) == 0 {
		s.writeError(w, r, failf(CodeNotFound, fmt.Errorf("no icon for provider type %q", truncate(mux.Vars(r)["type"], 32))))
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(preset.Icon)
}
