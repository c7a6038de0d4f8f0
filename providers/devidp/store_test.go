package devidp

import (
	"fmt"
	"testing"
	"time"
)

func TestTTLStore(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	s := newTTLStore[int](100)

	s.put(t0, "a", 1, t0.Add(time.Minute))
	if v, ok := s.get(t0, "a"); !ok || v != 1 {
		t.Fatalf("get a = %v %v", v, ok)
	}
	if _, ok := s.get(t0.Add(time.Minute), "a"); ok {
		t.Error("get returned an entry at its expiry")
	}
	if _, ok := s.take(t0.Add(time.Minute), "a"); ok {
		t.Error("take returned an expired entry")
	}
	s.put(t0, "b", 2, t0.Add(time.Minute))
	if v, ok := s.take(t0, "b"); !ok || v != 2 {
		t.Fatalf("take b = %v %v", v, ok)
	}
	if _, ok := s.take(t0, "b"); ok {
		t.Error("take returned an entry twice")
	}

	// Past the cap, the oldest entries go first.
	for i := range 250 {
		s.put(t0, fmt.Sprint(i), i, t0.Add(time.Minute))
	}
	if n := s.len(); n != 100 {
		t.Errorf("len %d after 250 puts, want the cap 100", n)
	}
	if _, ok := s.get(t0, "149"); ok {
		t.Error("entry 149 survived eviction")
	}
	if v, ok := s.get(t0, "249"); !ok || v != 249 {
		t.Error("the newest entry was evicted")
	}

	// Expired entries are purged by the next put.
	later := t0.Add(2 * time.Minute)
	s.put(later, "fresh", 1, later.Add(time.Minute))
	if n := s.len(); n != 1 {
		t.Errorf("len %d after expiry, want 1", n)
	}
}

// TestTTLStoreTakenKeysStayBounded: keys taken before they expire must not pile up in the order queue.
func TestTTLStoreTakenKeysStayBounded(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	s := newTTLStore[int](10)
	for i := range 10_000 {
		k := fmt.Sprint(i)
		s.put(t0, k, i, t0.Add(time.Hour))
		s.take(t0, k)
	}
	s.mu.Lock()
	queued := len(s.order) - s.head
	s.mu.Unlock()
	if queued > 2*10+1 || s.len() != 0 {
		t.Errorf("%d queued keys and %d entries after 10,000 put/take pairs; want at most 21 and 0", queued, s.len())
	}
}

// TestLoginsStayBounded runs many logins against one IdP and checks that expired codes and tokens are
// purged rather than kept.
func TestLoginsStayBounded(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	ti := startIdP(t, func(o *Options) { o.Now = clock.Now; o.TokenTTL = time.Minute })
	for range 20 {
		code, v := ti.loginCode(t, "alice")
		ti.redeem(t, code, v)
		_, _ = ti.loginCode(t, "bob") // never redeemed
	}
	if ti.codes.len() != 20 || ti.tokens.len() != 20 || ti.redeemed.len() != 20 {
		t.Fatalf("codes %d tokens %d redeemed %d, want 20 each", ti.codes.len(), ti.tokens.len(), ti.redeemed.len())
	}
	clock.Advance(2 * time.Minute)
	code, v := ti.loginCode(t, "carol")
	ti.redeem(t, code, v)
	if ti.codes.len() != 0 || ti.tokens.len() != 1 || ti.redeemed.len() != 1 {
		t.Errorf("after expiry: codes %d tokens %d redeemed %d, want 0, 1, 1", ti.codes.len(), ti.tokens.len(), ti.redeemed.len())
	}
}
