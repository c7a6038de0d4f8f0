package bridge

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// DefaultKeepWarm is how often an idle bridge re-opens its upstream connections: below the transport's 90 s
// idle timeout (UpstreamClient), so that a pool never empties while nobody logs in.
const DefaultKeepWarm = 45 * time.Second

// activity records that a login or API exchange used the upstream connections just now.
type activity struct{ last atomic.Int64 }

func (a *activity) touch(now time.Time) { a.last.Store(now.UnixNano()) }
func (a *activity) idleSince(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, a.last.Load()))
}

// KeepWarm opens a connection to every upstream at once — each provider's hosts (providers.Warmer: for OpenID
// Connect also the first discovery and JWKS load) and each Fuyun token endpoint — and again whenever the bridge
// has been idle for a keep-warm interval, until ctx ends. The first login of the morning then finds DNS, TCP
// and TLS already done. Run it in a goroutine; with Options.KeepWarm < 0 it returns at once.
func (s *Server) KeepWarm(ctx context.Context) {
	interval := s.opts.KeepWarm
	if interval < 0 {
		return
	}
	s.warm(ctx, true)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.activity.idleSince(s.opts.Now()) >= interval {
				s.warm(ctx, false)
			}
		}
	}
}

// warm opens the connections once. At start-up each upstream's result is logged at info; later only failures
// are, at debug (readiness reports lasting trouble).
func (s *Server) warm(ctx context.Context, startup bool) {
	ctx, cancel := context.WithTimeout(ctx, readyPingTimeout+5*time.Second)
	defer cancel()
	for _, rt := range s.order {
		w, ok := rt.Provider.(providers.Warmer)
		if !ok {
			continue
		}
		err := w.Warm(ctx)
		switch {
		case startup && err == nil:
			s.log.Info("identity provider reachable", "provider", rt.Provider.ID())
		case startup:
			s.log.Warn("identity provider not reachable at start-up", "provider", rt.Provider.ID(), "error", err)
		case err != nil:
			s.log.Debug("keeping the identity provider's connection warm failed", "provider", rt.Provider.ID(), "error", err)
		}
	}
	seen := map[*fuyun.Client]bool{}
	for _, rt := range s.order {
		if seen[rt.Fuyun] {
			continue
		}
		seen[rt.Fuyun] = true
		err := rt.Fuyun.Ping(providers.WithStage(ctx, StageFuyunPing))
		if err == nil {
			s.fuyunHealth.reached()
		}
		switch {
		case startup && err == nil:
			s.log.Info("Fuyun token endpoint reachable")
		case startup:
			s.log.Warn("Fuyun token endpoint not reachable at start-up", "error", err)
		case err != nil:
			s.log.Debug("keeping Fuyun's connection warm failed", "error", err)
		}
	}
}
