package providers

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// stageRecorder records the stage and path of every request that goes through it.
type stageRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (s *stageRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.seen = append(s.seen, StageFrom(r.Context())+" "+r.URL.Path)
	s.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestOutboundCallsCarryTheirStage checks that discovery, JWKS, token and userinfo calls are tagged, which is
// what the bridge's per-upstream latency histograms rely on.
func TestOutboundCallsCarryTheirStage(t *testing.T) {
	stub := newStub(t, idpstub.Options{})
	rec := &stageRecorder{}
	cfg := baseConfig("oidc")
	cfg.Issuer = stub.URL
	cfg.Scopes = []string{"openid", "email"}
	p, err := New(cfg, Options{HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	authURL, err := p.AuthCodeURL(ctx, AuthRequest{State: "state-1234567890", Nonce: "nonce-1234567890", CodeVerifier: testVerifier})
	if err != nil {
		t.Fatal(err)
	}
	code, iss := stub.Authorize(t, authURL)
	if _, err := p.Callback(ctx, callback(code, iss, testVerifier, "nonce-1234567890")); err != nil {
		t.Fatal(err)
	}
	n, err := p.Provider.(KeyCounter).KeyCount(ctx)
	if err != nil || n != 1 {
		t.Errorf("KeyCount = %d, %v; want 1 key", n, err)
	}
	want := []string{
		StageDiscovery + " /.well-known/openid-configuration",
		StageJWKS + " /jwks",
		StageToken + " /token",
		StageUserinfo + " /userinfo",
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, w := range want {
		if !slices.Contains(rec.seen, w) {
			t.Errorf("no request %q; saw %q", w, rec.seen)
		}
	}
	for _, s := range rec.seen {
		if strings.HasPrefix(s, " ") {
			t.Errorf("untagged request %q", s)
		}
	}
}
