package providers

import (
	"context"
	"net/http"
)

// Upstream stages that providers tag their outbound requests with, so that an instrumented HTTP client
// (the bridge's metrics) can time each kind of call without knowing any IdP's URLs.
const (
	StageDiscovery = "idp_discovery"
	StageJWKS      = "idp_jwks"
	StageToken     = "idp_token"
	StageUserinfo  = "idp_userinfo"
	// StageWarm is a request that only opens a connection ahead of logins (Warmer).
	StageWarm = "idp_warm"
)

type stageKey struct{}

// WithStage returns ctx tagged with the upstream stage of the requests made with it.
func WithStage(ctx context.Context, stage string) context.Context {
	return context.WithValue(ctx, stageKey{}, stage)
}

// StageFrom returns the stage ctx was tagged with by WithStage, or "".
func StageFrom(ctx context.Context) string {
	s, _ := ctx.Value(stageKey{}).(string)
	return s
}

// Discoverer is a provider that loads an OpenID Connect discovery document; DiscoveryURL is the base it is
// loaded from ({base}/.well-known/openid-configuration), for `fuyun-bridge check`.
type Discoverer interface {
	DiscoveryURL() string
}

// KeyCounter is implemented by providers that verify ID tokens against a JWKS; `fuyun-bridge check` uses it
// to show how many signing keys an IdP publishes.
type KeyCounter interface {
	// KeyCount loads discovery and keys if needed and returns the number of keys in the IdP's JWKS.
	KeyCount(ctx context.Context) (int, error)
}

// stagedClient returns a copy of c whose requests carry stage unless their context already names one; for
// libraries (go-oidc's key refetch) that make requests with a context of their own.
func stagedClient(c *http.Client, stage string) *http.Client {
	cc := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = stageTransport{base: base, stage: stage}
	return &cc
}

type stageTransport struct {
	base  http.RoundTripper
	stage string
}

func (t stageTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if StageFrom(r.Context()) == "" {
		r = r.WithContext(WithStage(r.Context(), t.stage))
	}
	return t.base.RoundTrip(r)
}
