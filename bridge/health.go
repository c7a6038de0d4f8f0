package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// Readiness defaults.
const (
	// DefaultFuyunFreshness is how long a successful contact with Fuyun (a ping or an exchange) keeps the
	// bridge ready without pinging again.
	DefaultFuyunFreshness = 30 * time.Second
	// readyPingTimeout bounds the ping /readyz may make; probes usually time out after a few seconds.
	readyPingTimeout = 3 * time.Second
)

// PingBackoffMin and PingBackoffMax bound the backoff of failed Fuyun pings: a failure is remembered and answered from memory until the next attempt is
// due, so unauthenticated /readyz requests cannot turn into a stream of requests to Fuyun while it is down.
const (
	PingBackoffMin = 5 * time.Second
	PingBackoffMax = time.Minute
)

// fuyunHealth remembers when Fuyun was last reached, so that /readyz pings at most once per freshness
// window however often it is probed, and a busy bridge (whose exchanges prove Fuyun reachable) never pings.
// A failed ping is cached too, with a backoff that doubles up to PingBackoffMax.
type fuyunHealth struct {
	client    *fuyun.Client
	freshness time.Duration
	now       func() time.Time
	metrics   *Metrics

	mu      sync.Mutex // held across a ping so that concurrent probes share it
	lastOK  time.Time
	lastErr error
	retryAt time.Time     // no ping before this while lastErr is set
	backoff time.Duration // the wait after the next failure
}

// reached records a successful contact with Fuyun.
func (h *fuyunHealth) reached() {
	h.mu.Lock()
	h.lastOK, h.lastErr, h.backoff = h.now(), nil, 0
	h.mu.Unlock()
	h.metrics.setFuyunReachable(true)
}

// check answers nil when Fuyun was reached within the freshness window, pinging it if needed; a failure is
// answered from memory until its backoff has passed. The error holds upstream detail for the log only.
func (h *fuyunHealth) check(ctx context.Context) error {
	if h.client == nil {
		return nil // platform mode without a company of its own at the root: its tenants' Fuyuns are theirs
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if !h.lastOK.IsZero() && now.Sub(h.lastOK) < h.freshness && h.lastErr == nil {
		return nil
	}
	if h.lastErr != nil && now.Before(h.retryAt) {
		return h.lastErr
	}
	pctx, cancel := context.WithTimeout(providers.WithStage(ctx, StageFuyunPing), readyPingTimeout)
	defer cancel()
	if err := h.client.Ping(pctx); err != nil {
		h.backoff = min(max(2*h.backoff, PingBackoffMin), PingBackoffMax)
		h.retryAt = h.now().Add(h.backoff)
		h.metrics.setFuyunReachable(false)
		if h.lastOK.IsZero() {
			h.lastErr = fmt.Errorf("Fuyun token endpoint not reached (next try in %s): %w", h.backoff, err)
		} else {
			h.lastErr = fmt.Errorf("Fuyun token endpoint not reached since %s (next try in %s): %w", h.lastOK.UTC().Format(time.RFC3339), h.backoff, err)
		}
		return h.lastErr
	}
	h.lastOK, h.lastErr, h.backoff = h.now(), nil, 0
	h.metrics.setFuyunReachable(true)
	return nil
}

// handleHealthz is liveness: the process serves HTTP. It checks nothing upstream, so that an IdP outage
// never makes an orchestrator restart healthy bridges.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// readinessProblem is one component that is not ready: what the public answer may say (the component and a
// stable code) and the detail (upstream URLs, statuses, errors) for the log and the operations listener.
type readinessProblem struct {
	component string // "provider corp", "fuyun"
	code      string
	detail    string
}

// readiness checks every provider's discovery and keys, and that Fuyun was reached within the freshness
// window. A problem whose detail changed since the last check is logged once.
func (s *Server) readiness(ctx context.Context) []readinessProblem {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var problems []readinessProblem
	for _, rt := range s.order {
		r, ok := rt.Provider.(providers.Readier)
		if !ok {
			continue // nothing to load before a login
		}
		if err := r.Ready(ctx); err != nil {
			code := providers.ErrorCode(err)
			if code == "" {
				code = providers.CodeIdPUnavailable
			}
			problems = append(problems, readinessProblem{"provider " + rt.Provider.ID(), code, err.Error()})
		}
	}
	if err := s.fuyunHealth.check(ctx); err != nil {
		problems = append(problems, readinessProblem{"fuyun", CodeFuyunUnavailable, err.Error()})
	}
	if s.opts.platform != nil && s.opts.Tenant == "" && !s.opts.platform.Loaded() {
		problems = append(problems, readinessProblem{"store", "store_not_loaded", s.opts.platform.storeStatus(true)})
	}
	s.readyLog.note(s.log, problems)
	return problems
}

// readyLogger logs a readiness problem when its detail changes, not at every probe.
type readyLogger struct {
	mu   sync.Mutex
	last map[string]string // component → detail last logged
}

func (l *readyLogger) note(log *slog.Logger, problems []readinessProblem) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]string{}
	for _, p := range problems {
		seen[p.component] = p.detail
		if l.last[p.component] != p.detail {
			log.Warn("not ready", "component", p.component, "error_code", p.code, "error", p.detail)
		}
	}
	for c := range l.last {
		if _, still := seen[c]; !still {
			log.Info("ready again", "component", c)
		}
	}
	l.last = seen
}

// handleReadyz is public readiness: 200 "ready", or 503 with one line per component that is down and a
// stable code — never an upstream URL, status or error text (those go to the log and to the operations
// listener, see OpsHandler).
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	s.writeReadiness(w, s.readiness(r.Context()), false)
}

// writeReadiness answers /readyz. In platform mode a line about the tenant store follows (see
// Platform.storeStatus): a stale store keeps the replica ready, serving its last good snapshot.
func (s *Server) writeReadiness(w http.ResponseWriter, problems []readinessProblem, detail bool) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	note := ""
	if s.opts.platform != nil {
		note = s.opts.platform.storeStatus(detail) + "\n"
	}
	if len(problems) == 0 {
		_, _ = w.Write([]byte("ready\n" + note))
		return
	}
	var b strings.Builder
	b.WriteString("not ready\n")
	for _, p := range problems {
		b.WriteString(p.component + ": " + p.code)
		if detail {
			b.WriteString(": " + p.detail)
		}
		b.WriteByte('\n')
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(b.String() + note))
}

// OpsHandler serves the operations listener (server.metrics_listen): /metrics, and /readyz with the detail of
// each problem (upstream URLs and errors), which the public /readyz leaves out.
func (s *Server) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		s.writeReadiness(w, s.readiness(r.Context()), true)
	})
	return mux
}
