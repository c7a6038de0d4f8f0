package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestKeySetRefetchIsRateLimited: ID tokens naming unknown keys cost the IdP one JWKS fetch per
// KeyRefreshInterval however many arrive, and a key the IdP really rotated in is picked up by that fetch.
func TestKeySetRefetchIsRateLimited(t *testing.T) {
	newKey := func(kid string) (*ecdsa.PrivateKey, jose.JSONWebKey) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}
	}
	sign := func(k *ecdsa.PrivateKey, kid string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := s.Sign([]byte(`{"sub":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := jws.CompactSerialize()
		return out
	}
	k1, j1 := newKey("k1")
	k2, j2 := newKey("k2")
	var served atomic.Value
	served.Store([]jose.JSONWebKey{j1})
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: served.Load().([]jose.JSONWebKey)})
	}))
	defer srv.Close()
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ks := newKeySet(srv.URL, srv.Client(), clock, []jose.JSONWebKey{j1}, signingAlgs)
	ctx := context.Background()

	if _, err := ks.VerifySignature(ctx, sign(k1, "k1")); err != nil || hits.Load() != 0 {
		t.Fatalf("known key: err %v, %d fetches (want none)", err, hits.Load())
	}
	forged := sign(k2, "unknown")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ks.VerifySignature(ctx, forged); err == nil {
				t.Error("a token with an unknown kid verified")
			}
		}()
	}
	wg.Wait()
	if got := hits.Load(); got != 1 {
		t.Fatalf("20 unknown-kid tokens caused %d JWKS fetches, want 1", got)
	}
	// The IdP rotates to k2: within the interval the bridge does not look again…
	served.Store([]jose.JSONWebKey{j1, j2})
	if _, err := ks.VerifySignature(ctx, sign(k2, "k2")); err == nil || hits.Load() != 1 {
		t.Fatalf("refetched within the interval: err %v, %d fetches", err, hits.Load())
	}
	// …and after it, one fetch finds the new key.
	mu.Lock()
	now = now.Add(KeyRefreshInterval + time.Second)
	mu.Unlock()
	if _, err := ks.VerifySignature(ctx, sign(k2, "k2")); err != nil || hits.Load() != 2 {
		t.Fatalf("rotated key: err %v, %d fetches (want 2)", err, hits.Load())
	}
	if _, err := ks.VerifySignature(ctx, sign(k1, "k2")); err == nil {
		t.Fatal("a token signed by another key than its kid names verified")
	}
}

// TestLazyRefreshesInBackground: loaded discovery older than RefreshInterval is reloaded by one background
// load while callers keep the old value at once; a failed reload keeps the old value.
func TestLazyRefreshesInBackground(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var loads atomic.Int64
	var fail atomic.Bool
	release := make(chan struct{}, 10)
	l := &lazy[int]{now: clock, load: func(context.Context) (*int, error) {
		n := int(loads.Add(1))
		if n > 1 {
			<-release // a slow IdP: callers must not wait for it
		}
		if fail.Load() {
			return nil, context.DeadlineExceeded
		}
		return &n, nil
	}}
	ctx := context.Background()
	if v, err := l.get(ctx); err != nil || *v != 1 {
		t.Fatalf("first get: %v %v", v, err)
	}
	advance(RefreshInterval)
	for range 5 {
		if v, _ := l.get(ctx); *v != 1 {
			t.Fatalf("get during the refresh returned %d, want the loaded 1", *v)
		}
	}
	release <- struct{}{}
	waitFor(t, func() bool { v, _ := l.get(ctx); return *v == 2 })
	if got := loads.Load(); got != 2 {
		t.Fatalf("%d loads, want 2 (one background refresh however many gets)", got)
	}
	fail.Store(true)
	advance(RefreshInterval)
	_, _ = l.get(ctx)
	release <- struct{}{}
	waitFor(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return !l.refreshing })
	if v, err := l.get(ctx); err != nil || *v != 2 {
		t.Fatalf("after a failed refresh: %v %v, want the old 2", v, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
