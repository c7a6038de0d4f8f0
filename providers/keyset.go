package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeyRefreshInterval is the least time between two JWKS fetches caused by ID tokens that name a key the
// bridge does not hold, so that a burst of such tokens costs the IdP one request, not one per login.
const KeyRefreshInterval = 10 * time.Second

// keySet is an IdP's JWKS held in memory. It is filled with discovery, so no login waits for a key fetch,
// and refetched when an ID token names an unknown kid (the IdP rotated its keys), at most once per
// KeyRefreshInterval; concurrent verifications share that one fetch. It implements oidc.KeySet.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time
	algs   []jose.SignatureAlgorithm

	mu        sync.RWMutex
	keys      []jose.JSONWebKey
	lastFetch time.Time
	fetchMu   sync.Mutex // one refetch at a time
}

func newKeySet(url string, client *http.Client, now func() time.Time, keys []jose.JSONWebKey, algs []string) *keySet {
	// lastFetch stays zero: the first unknown kid after start-up refetches at once.
	ks := &keySet{url: url, client: client, now: now, keys: keys}
	for _, a := range algs {
		ks.algs = append(ks.algs, jose.SignatureAlgorithm(a))
	}
	return ks
}

// VerifySignature checks raw's signature with the key its kid names and returns the payload.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed JWS: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("JWS must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	k.mu.RLock()
	keys := k.keys
	k.mu.RUnlock()
	if payload, found, err := verifyWith(jws, kid, keys); found {
		return payload, err
	}
	keys, err = k.refetch(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("no key %q in the JWKS, and refetching it failed: %w", kid, err)
	}
	if payload, found, err := verifyWith(jws, kid, keys); found {
		return payload, err
	}
	return nil, fmt.Errorf("no key %q in the IdP's JWKS", kid)
}

// verifyWith tries the keys that kid names (all keys when the token names none); found is false when no
// key matched the kid.
func verifyWith(jws *jose.JSONWebSignature, kid string, keys []jose.JSONWebKey) (payload []byte, found bool, err error) {
	for _, key := range keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		found = true
		if payload, err := jws.Verify(&key); err == nil {
			return payload, true, nil
		}
	}
	if found {
		return nil, true, errors.New("signature does not verify with the IdP's key")
	}
	return nil, false, nil
}

// refetch loads the JWKS again unless another caller just did (then its keys are returned) or the last
// fetch is younger than KeyRefreshInterval (then the held keys are).
func (k *keySet) refetch(ctx context.Context, seen []jose.JSONWebKey) ([]jose.JSONWebKey, error) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.RLock()
	keys, last := k.keys, k.lastFetch
	k.mu.RUnlock()
	if len(keys) != len(seen) || (len(keys) > 0 && &keys[0] != &seen[0]) {
		return keys, nil // refreshed while we waited
	}
	if now := k.now(); now.Sub(last) < KeyRefreshInterval && !now.Before(last) {
		return keys, nil
	}
	k.mu.Lock()
	k.lastFetch = k.now()
	k.mu.Unlock()
	res, err := get(WithStage(ctx, StageJWKS), k.client, k.url, "")
	if err != nil {
		return nil, err
	}
	if res.status != http.StatusOK {
		return nil, fmt.Errorf("jwks %s answered %d", k.url, res.status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(res.body, &set); err != nil || len(set.Keys) == 0 {
		return nil, fmt.Errorf("jwks %s holds no usable key", k.url)
	}
	k.mu.Lock()
	k.keys = set.Keys
	k.mu.Unlock()
	return set.Keys, nil
}
