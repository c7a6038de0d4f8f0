// Package diagnose reaches a configuration's upstreams as `fuyun-bridge check` reports them: each provider's
// discovery document and signing keys, and Fuyun's token endpoint. The admin API's tenant check uses it too.
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// Row is one provider's or Fuyun's result: a line of check's table and a paragraph of details.
type Row struct {
	ID, Type string
	// Status is ok, failed, not checked (nothing to load before a login), or for Fuyun unreachable (no HTTP
	// answer) or refused (an answer that says the URL or the caller is wrong).
	Status string
	Keys   string // the number of signing keys loaded, or -
	// Details are "label: value" lines; a value that must be copied whole (the redirect URI) has a field of
	// its own.
	Details     [][2]string
	RedirectURI string
	Err         error
}

// Endpoints loads every provider's discovery document and JWKS and pings Fuyun's token endpoint; the
// last row is Fuyun's. ok is false when anything failed.
func Endpoints(cfg *config.Config, hc *http.Client, timeout time.Duration) ([]Row, bool) {
	ok := true
	var rows []Row
	for _, pc := range cfg.Providers {
		row := Row{ID: pc.ID, Type: pc.Type, Status: "ok", Keys: "-", RedirectURI: pc.RedirectURL}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		p, checked, err := readyProvider(ctx, pc, hc, nil)
		if d, isD := p.(providers.Discoverer); isD {
			row.Details = append(row.Details, [2]string{"discovery", d.DiscoveryURL()})
		}
		if kc, isKC := p.(providers.KeyCounter); isKC && err == nil {
			var n int
			if n, err = kc.KeyCount(ctx); err == nil {
				row.Keys = strconv.Itoa(n)
			}
		}
		cancel()
		switch {
		case err != nil:
			ok, row.Status, row.Err = false, "failed", err
		case !checked:
			row.Status = "not checked"
			row.Details = append(row.Details, [2]string{"note", "nothing to load before a login"})
		}
		rows = append(rows, row)
	}
	row := Row{ID: "fuyun", Type: "token_exchange", Status: "ok", Keys: "-",
		Details: [][2]string{{"token URL", cfg.Fuyun.TokenURL}}}
	row.Status, row.Err = pingFuyun(cfg, hc, timeout)
	return append(rows, row), ok && row.Err == nil
}

// pingFuyun sends Fuyun's token endpoint a credential-less GET, which it answers 405 as any POST-only
// endpoint would. Its status tells "unreachable" (no HTTP answer: DNS, connection, TLS, timeout) from
// "refused" (an answer that says the URL or the caller is wrong: 401, 403, 404, 407, 410, or a 5xx).
func pingFuyun(cfg *config.Config, hc *http.Client, timeout time.Duration) (string, error) {
	rec := &statusRecorder{next: hc.Transport}
	if rec.next == nil {
		rec.next = http.DefaultTransport
	}
	recorded := *hc
	recorded.Transport = rec
	client, err := bridge.NewFuyunClient(cfg, &recorded)
	if err != nil {
		return "failed", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := client.Ping(ctx); err != nil {
		var fe *fuyun.Error
		if errors.As(err, &fe) && fe.StatusCode == 0 {
			return "unreachable", err
		}
		return "failed", err
	}
	switch code := rec.status(); {
	case code == http.StatusUnauthorized, code == http.StatusForbidden, code == http.StatusNotFound,
		code == http.StatusProxyAuthRequired, code == http.StatusGone, code >= 500:
		return "refused", fmt.Errorf("Fuyun refused: HTTP %d %s from the token URL (a token endpoint answers a GET with 405)", code, http.StatusText(code))
	}
	return "ok", nil
}

// statusRecorder notes the status of the last response through it.
type statusRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	last int
}

func (s *statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil {
		s.mu.Lock()
		s.last = resp.StatusCode
		s.mu.Unlock()
	}
	return resp, err
}

func (s *statusRecorder) status() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// readyProvider builds pc's provider and, when it has something to load (providers.Readier), loads it;
// checked says whether it had.
func readyProvider(ctx context.Context, pc config.Provider, hc *http.Client, logger *slog.Logger) (p providers.Provider, checked bool, err error) {
	p, err = providers.Build(pc.Type, pc.Common(), pc.Preset, providers.Options{HTTPClient: hc, Logger: logger})
	if err != nil {
		return nil, false, err
	}
	r, ok := p.(providers.Readier)
	if !ok {
		return p, false, nil
	}
	return p, true, r.Ready(ctx)
}
