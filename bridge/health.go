package bridge

import (
	"context"
	"fmt"
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

// fuyunHealth remembers when Fuyun was last reached, so that /readyz pings at most once per freshness
// window however often it is probed, and a busy bridge (whose exchanges prove Fuyun reachable) never pings.
type fuyunHealth struct {
	client    *fuyun.Client
	freshness time.Duration
	now       func() time.Time
	metrics   *Metrics

	mu      sync.Mutex // held across a ping so that concurrent probes share it
	lastOK  time.Time
	lastErr error
}

// reached records a successful contact with Fuyun.
func (h *fuyunHealth) reached() {
	h.mu.Lock()
	h.lastOK, h.lastErr = h.now(), nil
	h.mu.Unlock()
	h.metrics.setFuyunReachable(true)
}

// check answers nil when Fuyun was reached within the freshness window, pinging it if needed.
func (h *fuyunHealth) check(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.lastOK.IsZero() && h.now().Sub(h.lastOK) < h.freshness {
		return nil
	}
	pctx, cancel := context.WithTimeout(providers.WithStage(ctx, StageFuyunPing), readyPingTimeout)
	defer cancel()
	if err := h.client.Ping(pctx); err != nil {
		h.lastErr = err
		h.metrics.setFuyunReachable(false)
		if h.lastOK.IsZero() {
			return fmt.Errorf("Fuyun token endpoint not reached: %w", err)
		}
		return fmt.Errorf("Fuyun token endpoint not reached since %s: %w", h.lastOK.UTC().Format(time.RFC3339), err)
	}
	h.lastOK, h.lastErr = h.now(), nil
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

// handleReadyz is readiness: every provider's discovery and keys are loaded, and Fuyun was reached within
// the freshness window. Problems are listed one per line (no secrets: URLs and status codes only).
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
	if err := s.fuyunHealth.check(ctx); err != nil {
		problems = append(problems, "fuyun: "+err.Error())
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n" + strings.Join(problems, "\n") + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
