package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/admin"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platform"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// platformServing is serve in platform mode: the store opened (and migrated), the platform over it, and the
// admin API. reload re-reads the configuration file (SIGHUP, POST /admin/v1/reload): a file with problems is
// refused and logged, and the running configuration keeps serving.
type platformServing struct {
	cfg      atomic.Pointer[config.Config]
	load     func() (*config.Config, error)
	log      *slog.Logger
	store    *store.Store
	platform *bridge.Platform
	admin    atomic.Pointer[http.Handler] // nil handler: the admin API is off (no admin.keys_file)
}

// openPlatform opens the store and builds the platform and the admin API from cfg.
func openPlatform(ctx context.Context, cfg *config.Config, load func() (*config.Config, error), logger *slog.Logger) (*platformServing, error) {
	p, st, err := platform.Open(ctx, cfg, bridge.BuildOptions{Logger: logger})
	if err != nil {
		return nil, err
	}
	ps := &platformServing{load: load, log: logger, store: st, platform: p}
	ps.cfg.Store(cfg)
	if err := ps.buildAdmin(cfg); err != nil {
		st.Close()
		return nil, err
	}
	return ps, nil
}

// buildAdmin builds the admin API of cfg (its keys, scopes and the tenant codec) and swaps it in.
func (ps *platformServing) buildAdmin(cfg *config.Config) error {
	if cfg.Admin.KeysFile == "" {
		var none http.Handler
		ps.admin.Store(&none)
		return nil
	}
	adm, err := platform.NewAdmin(cfg, ps.store, admin.Options{
		Check:  func(ctx context.Context, t store.Tenant) (any, error) { return platform.Check(ctx, ps.cfg.Load(), t) },
		Reload: ps.reload,
		Logger: ps.log.With("component", "admin"),
	})
	if err != nil {
		return err
	}
	var h http.Handler = adm
	ps.admin.Store(&h)
	return nil
}

// adminHandler serves the admin listener with the current admin API.
func (ps *platformServing) adminHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := *ps.admin.Load(); h != nil {
			h.ServeHTTP(w, r)
			return
		}
		http.Error(w, `{"error":"not_configured","error_description":"The admin API is off: set admin.keys_file."}`, http.StatusNotFound)
	})
}

// reload re-reads the configuration file and applies it: the root company, process-wide settings, API and
// admin keys. Settings bound at start-up (listeners, TLS, the store) need a restart; a change to one is logged
// and left as it is.
func (ps *platformServing) reload() error {
	next, err := ps.load()
	if err != nil {
		ps.log.Error("reload refused: the configuration has problems; the running one keeps serving", "error", err)
		return admin.ReloadRefused{Err: fmt.Errorf("the configuration has problems:\n%w", err)}
	}
	cur := ps.cfg.Load()
	if fixed := restartOnly(cur, next); len(fixed) > 0 {
		ps.log.Warn("reload: these settings apply only after a restart", "keys", strings.Join(fixed, ", "))
	}
	if err := ps.platform.Reload(next, bridge.BuildOptions{Logger: ps.log}); err != nil {
		ps.log.Error("reload refused; the running configuration keeps serving", "error", err)
		return admin.ReloadRefused{Err: err}
	}
	if err := ps.buildAdmin(next); err != nil {
		ps.log.Error("reload: the admin API keeps its old keys", "error", err)
	}
	ps.cfg.Store(next)
	for _, w := range next.Warnings {
		ps.log.Warn("configuration weakens a protection", "path", w.Path, "line", w.Line, "problem", w.Msg)
	}
	ps.log.Info("configuration reloaded", "providers", len(next.Providers))
	return nil
}

// restartOnly lists the settings that differ between a and b and are bound when serve starts.
func restartOnly(a, b *config.Config) []string {
	var keys []string
	for _, c := range []struct {
		key  string
		a, b any
	}{
		{"server.listen", a.Server.Listen, b.Server.Listen},
		{"server.public_url", a.Server.PublicURL, b.Server.PublicURL},
		{"server.tls", a.Server.TLS, b.Server.TLS},
		{"server.metrics_listen", a.Server.MetricsListen, b.Server.MetricsListen},
		{"admin.listen", a.Admin.Listen, b.Admin.Listen},
		{"store", platform.StoreOptions(a, nil), platform.StoreOptions(b, nil)},
	} {
		if !reflect.DeepEqual(c.a, c.b) {
			keys = append(keys, c.key)
		}
	}
	return keys
}

// errAdminOff is a start-up note, not an error.
var errAdminOff = errors.New("admin API off: set admin.keys_file (from `fuyun-bridge admin apikey --id NAME`) to manage tenants at run time")
