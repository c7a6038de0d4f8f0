package devidp

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// TestRotateKey: a go-oidc RemoteKeySet that cached the old JWKS refetches it and accepts a token signed
// with the new key, and a token signed before the rotation still verifies.
func TestRotateKey(t *testing.T) {
	ti := startIdP(t, nil)
	var fetches atomic.Int32
	// Count JWKS fetches by wrapping the transport, so the cache is proven rather than assumed.
	httpClient := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/jwks" {
			fetches.Add(1)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), httpClient), 10*time.Second)
	defer cancel()
	keySet := oidc.NewRemoteKeySet(ctx, ti.Issuer()+"/jwks")
	verifier := oidc.NewVerifier(ti.Issuer(), keySet, &oidc.Config{ClientID: appID})

	idToken := func() (string, string) {
		code, v := ti.loginCode(t, "alice")
		raw := ti.redeem(t, code, v)["id_token"].(string)
		jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		return raw, jws.Signatures[0].Header.KeyID
	}

	before, kid1 := idToken()
	if _, err := verifier.Verify(ctx, before); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	if _, err := verifier.Verify(ctx, before); err != nil || fetches.Load() != 1 {
		t.Fatalf("second verify: %v, %d JWKS fetches, want 1 (cached)", err, fetches.Load())
	}

	if err := ti.RotateKey(); err != nil {
		t.Fatal(err)
	}
	after, kid2 := idToken()
	if kid1 == "" || kid1 == kid2 {
		t.Fatalf("kids %q and %q: want two different non-empty kids", kid1, kid2)
	}
	if _, err := verifier.Verify(ctx, after); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if fetches.Load() != 2 {
		t.Errorf("%d JWKS fetches, want 2 (one refetch for the new kid)", fetches.Load())
	}
	if _, err := verifier.Verify(ctx, before); err != nil {
		t.Errorf("token signed before the rotation: %v", err)
	}

	// A second rotation drops the oldest key: the JWKS holds the current and the previous key only.
	if err := ti.RotateKey(); err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	resp := ti.get(t, "/jwks", nil)
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[1].KeyID != kid2 || len(set.Key(kid1)) != 0 {
		t.Errorf("JWKS after two rotations: %d keys; want the new key and %s, not %s", len(set.Keys), kid2, kid1)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Algorithm != "RS256" || k.Use != "sig" {
			t.Errorf("JWKS key %s: public %v alg %s use %s", k.KeyID, k.IsPublic(), k.Algorithm, k.Use)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
