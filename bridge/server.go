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
}

// Options are everything a Server is built from; NewFromConfig fills them from a validated config.
type Options struct {
	PublicURL   *url.URL // the bridge's external base URL; callback URLs are {PublicURL}/callback/{id}
	Routes      []Route  // in sign-in page order
	Fuyun       *fuyun.Client
	SessionKeys [][]byte // hash/block key pairs for the login-state cookie; the first pair signs
	Cookie      CookieOptions
	Redirects   *redirects.AllowList
	Templates   *templates.Set
	Logger      *slog.Logger
	// ShowToken puts the received AC_TOKEN on the success page (the dev demo only).
	ShowToken bool
	// LoginTimeout bounds one whole callback (IdP token, userinfo, Fuyun); default 20 s.
	LoginTimeout time.Duration
	Now          func() time.Time
}

// Server is the bridge's HTTP handler.
type Server struct {
	opts     Options
	routes   map[string]*Route
	order    []*Route
	states   *stateStore
	handler  http.Handler
	log      *slog.Logger
	basePath string
}

// New checks opts and builds the handler. It makes no network call.
func New(opts Options) (*Server, error) {
	if opts.PublicURL == nil || opts.PublicURL.Host == "" {
		return nil, errors.New("bridge: public URL is required")
	}
	if len(opts.Routes) == 0 {
		return nil, errors.New("bridge: at least one provider is required")
	}
	if opts.Fuyun == nil || opts.Redirects == nil || opts.Templates == nil {
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
		opts.LoginTimeout = 20 * time.Second
	}
	s := &Server{opts: opts, routes: map[string]*Route{}, log: opts.Logger}
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
		if rt.Mode != fuyun.ModeJWT && rt.Mode != fuyun.ModeOAuth {
			return nil, fmt.Errorf("bridge: provider %q: unknown Fuyun mode %q", id, rt.Mode)
		}
		s.routes[id] = rt
		s.order = append(s.order, rt)
	}
	states, err := newStateStore(opts.SessionKeys, s.basePath+"/callback/", opts.PublicURL.Scheme == "https", opts.Now)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	s.states = states
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
	r.HandleFunc("/healthz", s.handleHealthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.handleReadyz).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/static/").Handler(http.StripPrefix("/static/", staticHandler(http.FileServerFS(static.FS))))
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, failf(CodeNotFound, fmt.Errorf("no route for %s", r.URL.Path)))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
	return s.withRequestID(securityHeaders(r))
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// handleReadyz reports ready when every provider's discovery and keys are loaded.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var problems []string
	for _, rt := range s.order {
		if err := rt.Provider.Ready(ctx); err != nil {
			problems = append(problems, fmt.Sprintf("provider %s: %v", rt.Provider.ID(), err))
		}
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n" + strings.Join(problems, "\n") + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
