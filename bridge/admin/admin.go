// Package admin is the admin API of platform mode: an http.Handler that lists, creates, reads, replaces,
// deletes and checks the tenants of a store.Store, and asks the running bridge to reload. It speaks JSON only
// and is meant for its own listener, never the public one.
//
// Callers present an admin key (the apikeys format, "fbk_<id>.<secret>") as a bearer token; a key may be
// limited to some tenants. Writes are optimistic: GET gives an ETag ("<version>"), PUT and DELETE must send it
// back in If-Match. Every refusal is a JSON body with a stable code and changes nothing; every change is one
// audit log line that names the key, the tenant, the versions and the fields that changed, never a secret.
//
// The tenant document itself is opaque here: a TenantCodec parses, validates and redacts it.
package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// DefaultMaxBody bounds a request body when Options.MaxBody is zero.
const DefaultMaxBody = 256 << 10

// Verifier checks a presented admin key and returns its id; *apikeys.Set is one.
type Verifier interface {
	Verify(key string) (id string, ok bool)
}

var _ Verifier = (*apikeys.Set)(nil)

// Options are the admin API's dependencies.
type Options struct {
	Store *store.Store
	Keys  Verifier
	// Scopes limits keys to tenants: key id → the tenant ids it may see and change. A key absent from the map,
	// or mapped to an empty list, may act on every tenant and reload the bridge.
	Scopes map[string][]string
	Codec  TenantCodec
	// Check runs the diagnostics of POST /admin/v1/tenants/{id}/check on a stored tenant; its report is
	// returned as JSON. Nil answers 501.
	Check func(ctx context.Context, t store.Tenant) (report any, err error)
	// Reload asks the bridge to re-read its configuration file now (POST /admin/v1/reload). Nil answers 501.
	// A ReloadRefused error (the file has problems; nothing changed) answers 409 config_refused with its
	// message; any other error is internal.
	Reload func() error
	// RequestID returns the id of a request that a middleware already gave one; nil or "" makes one here.
	RequestID func(r *http.Request) string
	Logger    *slog.Logger // default: discard
	MaxBody   int64        // bytes; default DefaultMaxBody
}

// Handler serves the admin API under /admin/v1/.
type Handler struct {
	opts   Options
	log    *slog.Logger
	scopes map[string][]string // sorted, without empty entries
	routes map[string]route
}

// route is one path's methods.
type route map[string]func(*call) error

// call is one authenticated request.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	requestID string
	keyID     string
	scope     []string // sorted tenant ids; nil: every tenant
	id        string   // the {id} of the path, if any
}

// mayAccess reports whether the caller's key may see and change tenant id.
func (c *call) mayAccess(id string) bool {
	if c.scope == nil {
		return true
	}
	_, found := slices.BinarySearch(c.scope, id)
	return found
}

// New returns the admin API handler. Store, Keys and Codec are required.
func New(opts Options) *Handler {
	if opts.Store == nil || opts.Keys == nil || opts.Codec == nil {
		panic("admin: Options.Store, Keys and Codec are required")
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	h := &Handler{opts: opts, log: opts.Logger, scopes: map[string][]string{}}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for keyID, ids := range opts.Scopes {
		if len(ids) > 0 {
			sorted := slices.Clone(ids)
			slices.Sort(sorted)
			h.scopes[keyID] = slices.Compact(sorted)
		}
	}
	h.routes = map[string]route{
		"tenants":            {http.MethodGet: h.list, http.MethodPost: h.create},
		"tenants/{id}":       {http.MethodGet: h.get, http.MethodPut: h.replace, http.MethodDelete: h.remove},
		"tenants/{id}/check": {http.MethodPost: h.check},
		"reload":             {http.MethodPost: h.reload},
		"openapi.json":       {http.MethodGet: h.openAPI},
	}
	return h
}

const prefix = "/admin/v1/"

// ServeHTTP authenticates the caller, then routes. Every answer, refusals included, is JSON.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r}
	if h.opts.RequestID != nil {
		c.requestID = h.opts.RequestID(r)
	}
	if c.requestID == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		c.requestID = hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", c.requestID)
	}
	if err := h.serve(c); err != nil {
		h.answerRefusal(c, asRefusal(err))
	}
}

func (h *Handler) serve(c *call) error {
	pattern, id, ok := match(c.r.URL.Path)
	if pattern == "openapi.json" {
		// The description is public: a client needs it to learn how to authenticate.
		return h.dispatch(c, pattern)
	}
	if err := h.authenticate(c); err != nil {
		return err
	}
	if !ok {
		return refuse(CodeNotFound, "No such admin API path.")
	}
	c.id = id
	return h.dispatch(c, pattern)
}

func (h *Handler) dispatch(c *call, pattern string) error {
	methods := h.routes[pattern]
	fn, ok := methods[c.r.Method]
	if !ok {
		allow := make([]string, 0, len(methods))
		for m := range methods {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		c.w.Header().Set("Allow", strings.Join(allow, ", "))
		return refuse(CodeMethodNotAllowed, c.r.Method+" is not allowed here; see Allow.")
	}
	return fn(c)
}

// match finds the route pattern of path and the tenant id in it.
func match(path string) (pattern, id string, ok bool) {
	rest, found := strings.CutPrefix(path, prefix)
	if !found {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1 && (parts[0] == "tenants" || parts[0] == "reload" || parts[0] == "openapi.json"):
		return parts[0], "", true
	case len(parts) == 2 && parts[0] == "tenants" && parts[1] != "":
		return "tenants/{id}", parts[1], true
	case len(parts) == 3 && parts[0] == "tenants" && parts[1] != "" && parts[2] == "check":
		return "tenants/{id}/check", parts[1], true
	}
	return "", "", false
}

// authenticate checks the bearer key and notes its id and scope.
func (h *Handler) authenticate(c *call) error {
	key, err := apikeys.FromHeader(c.r.Header.Get("Authorization"))
	if err != nil {
		return refuse(CodeInvalidAPIKey, "Send an admin key: Authorization: Bearer fbk_<id>.<secret>.")
	}
	id, ok := h.opts.Keys.Verify(key)
	if !ok {
		return refuse(CodeInvalidAPIKey, "The admin key is not valid.")
	}
	c.keyID, c.scope = id, h.scopes[id]
	return nil
}

// answerRefusal writes the refusal and logs it; the log line carries the cause, the body never does.
func (h *Handler) answerRefusal(c *call, ref *refusal) {
	attrs := []slog.Attr{
		slog.String("request_id", c.requestID), slog.String("key_id", c.keyID),
		slog.String("method", c.r.Method), slog.String("path", truncate(c.r.URL.Path, 256)),
		slog.String("code", string(ref.code)),
	}
	level := slog.LevelInfo
	if ref.cause != nil {
		attrs = append(attrs, slog.String("error", ref.cause.Error()))
		level = slog.LevelError
	}
	h.log.LogAttrs(c.r.Context(), level, "admin_refused", attrs...)
	writeRefusal(c.w, ref, c.requestID)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
