package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// Platform serves platform mode: one deployment, many customer companies. The configuration file's own
// company (if it has providers) keeps the root paths; each tenant of the store is served under /t/{id}/, or at
// the root paths of its own hosts; /discover and the root sign-in page's email box find a tenant by email
// domain.
//
// Every replica keeps an immutable snapshot of the store's tenants (a tenantTable) and swaps it whole when a
// tenant changes, so a request sees one version of its tenant from start to end. A tenant's server (its
// providers, mappers and Fuyun client) is built on its first request, not at start-up: 10,000 tenants cost
// their records, not 10,000 servers. A login started on one version finishes on a later one only if the
// provider's settings it depends on did not change (Route.fingerprint); otherwise it fails with
// tenant_changed, never half on each.
type Platform struct {
	store *store.Store
	log   *slog.Logger
	poll  time.Duration
	now   func() time.Time

	mu      sync.Mutex // serialises writers of table and build (the watcher and Reload)
	build   atomic.Pointer[builder]
	root    atomic.Pointer[Server]
	table   atomic.Pointer[tenantTable]
	handler atomic.Pointer[http.Handler]

	health storeHealth
	// discoverLimit bounds /discover per client address: it says which email domains are customers, so a
	// scanner may not ask at will.
	discoverLimit *limiterSet

	warmCtx    context.Context    // KeepWarm's context; nil until KeepWarm runs
	warmCancel context.CancelFunc // ends the current root's keep-warm loop (Reload starts the new root's)
}

// tenantTable is one snapshot of the store's tenants, indexed for O(1) lookups by id, host and email domain.
// It is never modified once published.
type tenantTable struct {
	byID     map[string]*tenantEntry
	byHost   map[string]*tenantEntry
	byDomain map[string]*tenantEntry
}

// tenantEntry is one tenant at one version; its server is built on first use and dropped after
// DefaultTenantIdle without one (dropIdle), to be built again when next needed.
type tenantEntry struct {
	rec   tenantRecord
	build *builder

	srv  atomic.Pointer[Server]
	used atomic.Int64 // Unix nanoseconds of the last request
	mu   sync.Mutex   // held while building
	err  error        // a build failure, kept: building makes no network call, so it would fail again
}

// tenantRecord is what a replica keeps of a stored tenant until a request needs its server: few pointers
// (the secrets as one JSON blob, the time as a number), so that the collector's work for 10,000 tenants stays
// a small part of a login's CPU.
type tenantRecord struct {
	ID, DisplayName string
	Domains, Hosts  []string
	Config          []byte
	Secrets         []byte // store.Tenant.Secrets as JSON
	Version         int64
	Updated         int64 // store.Tenant.UpdatedAt, Unix nanoseconds
}

func newRecord(t store.Tenant) tenantRecord {
	secrets, _ := json.Marshal(t.Secrets) // a map of strings always marshals
	return tenantRecord{ID: t.ID, DisplayName: t.DisplayName, Domains: t.Domains, Hosts: t.Hosts,
		Config: t.Config, Secrets: secrets, Version: t.Version, Updated: t.UpdatedAt.UnixNano()}
}

// sameVersion reports whether t is the version r holds.
func (r tenantRecord) sameVersion(t store.Tenant) bool {
	return r.Version == t.Version && r.Updated == t.UpdatedAt.UnixNano()
}

// DefaultTenantIdle is how long a tenant's server is kept without a request.
const DefaultTenantIdle = 30 * time.Minute

// NewPlatform builds platform mode over st from a validated configuration whose store section is set. It makes
// no network call; Run loads the tenants and follows the store's changes.
func NewPlatform(cfg *config.Config, st *store.Store, bo BuildOptions) (*Platform, error) {
	if !cfg.Store.Enabled() || st == nil {
		return nil, errors.New("bridge: platform mode needs store.driver and an open store")
	}
	p := &Platform{store: st, log: bo.Logger, poll: cfg.Store.PollInterval.Std(), now: bo.Now}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.poll <= 0 {
		p.poll = time.Second
	}
	p.health.now, p.health.loadedCh = p.now, make(chan struct{})
	p.discoverLimit = newLimiterSet(DiscoverRateLimit, defaultLimiterSlots)
	p.table.Store(&tenantTable{byID: map[string]*tenantEntry{}, byHost: map[string]*tenantEntry{}, byDomain: map[string]*tenantEntry{}})
	if err := p.Reload(cfg, bo); err != nil {
		return nil, err
	}
	p.watchMetrics()
	return p, nil
}

// Reload replaces the configuration file's part — process-wide settings and the root company — with cfg's
// (SIGHUP, POST /admin/v1/reload). Tenants are rebuilt on their next request with the new settings. A cfg that
// cannot be built is refused and the old one keeps serving. The listeners and the store stay as they are:
// changing them needs a restart.
func (p *Platform) Reload(cfg *config.Config, bo BuildOptions) error {
	if bo.Logger == nil {
		bo.Logger = p.log
	}
	b, err := newBuilder(cfg, bo, p.build.Load()) // one registry and one pool for the life of the process
	if err != nil {
		return err
	}
	root, err := b.root(p)
	if err != nil {
		return err
	}
	var h http.Handler = http.HandlerFunc(p.dispatch)
	if cfg.Log.Access {
		h = root.withAccessLog(h)
	}
	h = root.withRequestID(root.withEdge(h))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.build.Store(b)
	p.root.Store(root)
	p.handler.Store(&h)
	if p.warmCtx != nil {
		p.warmCancel()
		p.startWarm(root)
	}
	// Every tenant is rebuilt lazily with the new builder.
	old := p.table.Load()
	next := newTable(len(old.byID))
	for _, e := range old.byID {
		next.add(&tenantEntry{rec: e.rec, build: b})
	}
	p.table.Store(next)
	return nil
}

// KeepWarm keeps the upstream connections of the configuration file's company warm (Server.KeepWarm) until
// ctx ends, following Reload to the new root. Tenants are not warmed: most are idle, and a tenant's first
// login opens its connections.
func (p *Platform) KeepWarm(ctx context.Context) {
	p.mu.Lock()
	p.warmCtx = ctx
	p.startWarm(p.root.Load())
	p.mu.Unlock()
}

// startWarm runs root's keep-warm loop under a child of warmCtx; p.mu is held.
func (p *Platform) startWarm(root *Server) {
	var ctx context.Context
	ctx, p.warmCancel = context.WithCancel(p.warmCtx)
	go root.KeepWarm(ctx)
}

// Root is the server of the configuration file's company (the root paths).
func (p *Platform) Root() *Server { return p.root.Load() }

// Metrics are the process's metrics, shared by every tenant.
func (p *Platform) Metrics() *Metrics { return p.build.Load().metrics }

// Tenants is the number of tenants in the current snapshot.
func (p *Platform) Tenants() int { return len(p.table.Load().byID) }

// TenantVersion is the version of tenant id in the current snapshot; 0 when it has none.
func (p *Platform) TenantVersion(id string) int64 {
	if e, ok := p.table.Load().byID[id]; ok {
		return e.rec.Version
	}
	return 0
}

// ServeHTTP serves the public listener.
func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*p.handler.Load()).ServeHTTP(w, r)
}

// tenantPrefix starts a tenant's paths: /t/{id}/….
const tenantPrefix = "/t/"

// dispatch picks who serves a request: a tenant by host, a tenant by path, discovery, or the root.
func (p *Platform) dispatch(w http.ResponseWriter, r *http.Request) {
	table, root := p.table.Load(), p.root.Load()
	if e, ok := table.byHost[strings.ToLower(r.Host)]; ok {
		p.serveTenant(w, r, e, "")
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, tenantPrefix); ok {
		id, _, _ := strings.Cut(rest, "/")
		e, ok := table.byID[id]
		if !ok {
			root.writeError(w, r, failf(CodeTenantNotFound, fmt.Errorf("no tenant %q", truncate(id, 64))))
			return
		}
		if len(e.rec.Hosts) > 0 {
			p.toTenantHost(w, r, e, tenantPrefix+id)
			return
		}
		p.serveTenant(w, r, e, tenantPrefix+id)
		return
	}
	if r.URL.Path == "/discover" {
		p.handleDiscover(w, r)
		return
	}
	root.inner.ServeHTTP(w, r)
}

// serveTenant serves r with tenant e's server, the path without prefix.
func (p *Platform) serveTenant(w http.ResponseWriter, r *http.Request, e *tenantEntry, prefix string) {
	srv, err := e.server(p)
	if err != nil {
		p.log.Error("tenant cannot be served", "request_id", requestID(r.Context()), "tenant", e.rec.ID,
			"version", e.rec.Version, "error", err)
		p.root.Load().writeError(w, r, failf(CodeTenantUnavailable, fmt.Errorf("tenant %q: %w", e.rec.ID, err)))
		return
	}
	if prefix != "" {
		if r.URL.Path == prefix {
			http.Redirect(w, r, srv.basePath+"/", http.StatusMovedPermanently)
			return
		}
		http.StripPrefix(prefix, srv.inner).ServeHTTP(w, r)
		return
	}
	srv.inner.ServeHTTP(w, r)
}

// toTenantHost sends a /t/{id}/ request of a tenant that has hosts to its first host: its logins must start
// where they finish (see config.TenantURL). Only GET and HEAD are redirected; anything else is refused.
func (p *Platform) toTenantHost(w http.ResponseWriter, r *http.Request, e *tenantEntry, prefix string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		p.root.Load().writeError(w, r, failf(CodeTenantNotFound, fmt.Errorf("tenant %q is served on its own host %s", e.rec.ID, e.rec.Hosts[0])))
		return
	}
	base := config.TenantURL(p.build.Load().cfg.Server.PublicBase, e.rec.ID, e.rec.Hosts)
	target := base.String() + strings.TrimPrefix(r.URL.Path, prefix)
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// server builds the tenant's server on first use; a tenant that cannot be built (a stored document this
// version refuses, a key that does not parse) is an error for every request until it changes.
func (e *tenantEntry) server(p *Platform) (*Server, error) {
	e.used.Store(p.now().UnixNano())
	if s := e.srv.Load(); s != nil {
		return s, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.srv.Load(); s != nil || e.err != nil {
		return s, e.err
	}
	var secrets map[string]string
	if err := json.Unmarshal(e.rec.Secrets, &secrets); err != nil {
		e.err = err
		return nil, err
	}
	t, err := config.JoinTenant(e.rec.Config, secrets, config.TenantOptions{
		Name: "tenant " + e.rec.ID, PublicURL: e.build.cfg.Server.PublicURL})
	if err != nil {
		e.err = err
		return nil, err
	}
	s, err := e.build.tenant(t, p)
	if err != nil {
		e.err = err
		return nil, err
	}
	e.srv.Store(s)
	return s, nil
}

// dropIdle drops the servers of tenants without a request for idle; they are built again on their next
// request. A login in flight does not notice: its state is bound to the tenant and its settings, not to a
// server. It returns how many servers were dropped and how many remain built.
func (p *Platform) dropIdle(idle time.Duration) (dropped, built int) {
	cutoff := p.now().Add(-idle).UnixNano()
	for _, e := range p.table.Load().byID {
		s := e.srv.Load()
		switch {
		case s == nil:
		case e.used.Load() < cutoff && e.srv.CompareAndSwap(s, nil):
			dropped++
		default:
			built++
		}
	}
	return dropped, built
}

func newTable(n int) *tenantTable {
	return &tenantTable{byID: make(map[string]*tenantEntry, n), byHost: map[string]*tenantEntry{},
		byDomain: make(map[string]*tenantEntry, n)}
}

// add indexes e.
func (t *tenantTable) add(e *tenantEntry) {
	t.byID[e.rec.ID] = e
	for _, h := range e.rec.Hosts {
		t.byHost[h] = e
	}
	for _, d := range e.rec.Domains {
		t.byDomain[d] = e
	}
}

// watchMetrics adds platform mode's gauges: the tenants in the snapshot and how stale it may be.
func (p *Platform) watchMetrics() {
	p.Metrics().Registry().MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "fuyun_bridge_tenants",
			Help: "Platform mode: tenants in this replica's snapshot of the store.",
		}, func() float64 { return float64(p.Tenants()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "fuyun_bridge_store_lag_seconds",
			Help: "Platform mode: how long this replica has not reached the tenant store (0 while it answers); the snapshot may miss changes made meanwhile.",
		}, func() float64 { return p.health.lag().Seconds() }),
	)
}

// storeHealth is how current this replica's snapshot is: when the store last answered, and since when it has
// not.
type storeHealth struct {
	now      func() time.Time
	mu       sync.Mutex
	loadedCh chan struct{} // closed when the first full load is done
	lastOK   time.Time     // the store last answered
	failing  time.Time     // the first failure since lastOK; zero when answering
	lastErr  error
}

func (h *storeHealth) ok() {
	h.mu.Lock()
	h.lastOK, h.failing, h.lastErr = h.now(), time.Time{}, nil
	h.mu.Unlock()
}

func (h *storeHealth) fail(err error) {
	h.mu.Lock()
	if h.failing.IsZero() {
		h.failing = h.now()
	}
	h.lastErr = err
	h.mu.Unlock()
}

// lag is how long the snapshot may have missed changes: 0 while the store answers.
func (h *storeHealth) lag() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing.IsZero() {
		return 0
	}
	return h.now().Sub(h.lastOK)
}

// Loaded reports whether the tenants were loaded once: before that the replica knows none of them.
func (p *Platform) Loaded() bool {
	select {
	case <-p.health.loadedCh:
		return true
	default:
		return false
	}
}

// WaitLoaded waits until Run has loaded the tenants once (Loaded), or returns ctx's error.
func (p *Platform) WaitLoaded(ctx context.Context) error {
	select {
	case <-p.health.loadedCh:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bridge: the tenants were not loaded: %w", context.Cause(ctx))
	}
}

// storeStatus is /readyz's line about the store: "store: current", "store: stale 12s" (serving the last good
// snapshot), or "store: not loaded". detail adds the error, for the operations listener.
func (p *Platform) storeStatus(detail bool) string {
	h := &p.health
	h.mu.Lock()
	failing, lastOK, lastErr := h.failing, h.lastOK, h.lastErr
	h.mu.Unlock()
	loaded := p.Loaded()
	var s string
	switch {
	case !loaded:
		s = "store: not loaded"
	case failing.IsZero():
		return fmt.Sprintf("store: current, %d tenants", p.Tenants())
	default:
		s = fmt.Sprintf("store: stale %s, serving the last good snapshot of %d tenants", p.now().Sub(lastOK).Round(time.Second), p.Tenants())
	}
	if detail && lastErr != nil {
		s += ": " + lastErr.Error()
	}
	return s
}

// Run loads every tenant and follows the store's change feed until ctx ends. Until the first load succeeds
// /readyz answers 503 (store: not loaded); afterwards a store that cannot be reached leaves the last good
// snapshot serving, and /readyz and the fuyun_bridge_store_lag_seconds metric say how stale it is.
func (p *Platform) Run(ctx context.Context) {
	changes := p.store.Watch(ctx)
	for backoff := p.poll; ctx.Err() == nil; backoff = min(2*backoff, 30*time.Second) {
		if err := p.loadAll(ctx); err == nil {
			break
		} else {
			p.health.fail(err)
			p.log.Warn("store: loading the tenants failed; retrying", "error", err, "retry_in", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
	ping := time.NewTicker(p.poll)
	defer ping.Stop()
	sweep := time.NewTicker(DefaultTenantIdle / 6)
	defer sweep.Stop()
	pending := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-changes:
			if !ok {
				return
			}
			pending[c.ID] = true
			// A burst of changes (an import of many tenants) is applied as one snapshot, not one copy each.
			for more := true; more && len(pending) < maxBatch; {
				select {
				case c, ok := <-changes:
					if ok {
						pending[c.ID] = true
					}
					more = ok
				default:
					more = false
				}
			}
		case <-ping.C:
			if _, err := p.store.Revision(ctx); err != nil {
				p.health.fail(err)
			} else {
				p.health.ok()
			}
		case <-sweep.C:
			if dropped, built := p.dropIdle(DefaultTenantIdle); dropped > 0 {
				p.log.Debug("idle tenants' servers dropped", "dropped", dropped, "built", built)
			}
		}
		if err := p.refresh(ctx, pending); err != nil {
			p.health.fail(err) // what is left pending is retried at the next tick or change
		}
	}
}

// maxBatch bounds the changes applied as one snapshot.
const maxBatch = 1000

// loadAll reads every tenant into a fresh snapshot.
func (p *Platform) loadAll(ctx context.Context) error {
	var all []store.Tenant
	for cursor := ""; ; {
		page, next, err := p.store.List(ctx, cursor, 1000)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	p.mu.Lock()
	b := p.build.Load()
	next := newTable(len(all))
	for _, t := range all {
		next.add(&tenantEntry{rec: newRecord(t), build: b})
	}
	p.table.Store(next)
	p.mu.Unlock()
	p.health.ok()
	if !p.Loaded() { // loadAll runs once per Run; the check keeps a second call harmless
		close(p.health.loadedCh)
	}
	p.log.Info("store: tenants loaded", "tenants", len(all))
	return nil
}

// refresh re-reads the pending tenants and publishes one snapshot with their new versions, without those
// deleted; each tenant read is removed from pending. A store that fails stops the reading, and the tenants read
// so far are published: the rest stay pending.
func (p *Platform) refresh(ctx context.Context, pending map[string]bool) error {
	read := map[string]*store.Tenant{} // nil: deleted
	var failed error
	for id := range pending {
		t, err := p.store.Get(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			failed = err
			break
		}
		if err == nil {
			read[id] = &t
		} else {
			read[id] = nil
		}
		delete(pending, id)
	}
	if len(read) > 0 {
		p.health.ok()
		p.apply(read)
	}
	return failed
}

// apply publishes a snapshot with the tenants read: each changed one at its new version, each deleted one
// gone. Tenants already current are left as they are (their built servers with them).
func (p *Platform) apply(read map[string]*store.Tenant) {
	p.mu.Lock()
	defer p.mu.Unlock()
	table, b := p.table.Load(), p.build.Load()
	changed := map[string]*tenantEntry{}
	for id, t := range read {
		cur := table.byID[id]
		switch {
		case t == nil && cur == nil:
		case t == nil:
			changed[id] = nil
			p.log.Info("store: tenant deleted", "tenant", id)
		case cur != nil && cur.rec.sameVersion(*t):
		default:
			changed[id] = &tenantEntry{rec: newRecord(*t), build: b}
			p.log.Info("store: tenant changed", "tenant", id, "version", t.Version)
		}
	}
	if len(changed) == 0 {
		return
	}
	next := newTable(len(table.byID) + len(changed))
	for id, e := range table.byID {
		if _, ok := changed[id]; !ok {
			next.add(e)
		}
	}
	for _, e := range changed {
		if e != nil {
			next.add(e)
		}
	}
	p.table.Store(next)
}
