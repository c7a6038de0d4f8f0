package fuyun

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for the breaker.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestBreakerStates(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := newBreaker(3, time.Second, clk.now)
	for i := range 2 {
		if !b.allow() {
			t.Fatalf("attempt %d refused while closed", i)
		}
		b.done(false, true)
	}
	if !b.allow() {
		t.Fatal("third attempt refused before the threshold")
	}
	b.done(false, true)
	if b.allow() || !b.open() {
		t.Fatal("breaker did not open after 3 failures in a row")
	}
	clk.add(time.Second)
	if !b.allow() {
		t.Fatal("no probe let through after the cooldown")
	}
	if b.allow() {
		t.Fatal("a second attempt went through while the probe is in flight")
	}
	b.done(false, true) // the probe fails: open again
	if b.allow() {
		t.Fatal("breaker did not reopen after a failed probe")
	}
	clk.add(time.Second)
	if !b.allow() {
		t.Fatal("no probe after the second cooldown")
	}
	b.done(true, true)
	if b.open() || !b.allow() || !b.allow() {
		t.Fatal("breaker did not close after a successful probe")
	}
	b.done(true, true)
	b.done(true, true)

	// A failure streak broken by a success never opens it; an uncounted outcome only ends a probe.
	for range 2 {
		b.allow()
		b.done(false, true)
	}
	b.allow()
	b.done(true, true)
	for range 2 {
		b.allow()
		b.done(false, true)
	}
	if b.open() {
		t.Fatal("breaker opened without 3 failures in a row")
	}
	b.allow()
	b.done(false, false)
	if b.open() {
		t.Fatal("an uncounted outcome opened the breaker")
	}
	if newBreaker(-1, time.Second, clk.now) != nil || !(*breaker)(nil).allow() || (*breaker)(nil).open() {
		t.Fatal("a disabled breaker must allow everything")
	}
}

// TestClientFailsFastWhileFuyunIsDown: after the threshold of failed attempts the client stops sending
// requests and answers ErrCircuitOpen at once, and a probe after the cooldown closes it again.
func TestClientFailsFastWhileFuyunIsDown(t *testing.T) {
	var hits atomic.Int64
	var down atomic.Bool
	down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if down.Load() {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"t","token_type":"bearer","expires_in":60}`))
	}))
	defer srv.Close()
	c, err := NewClient(Config{
		TokenURL: srv.URL + "/oauth/token_exchange", ClientID: "c", ClientSecret: "s3cret", Scope: "hotline",
		RedirectURL: "https://crm.example.com/cb", AppName: "app", MaxAttempts: 2,
		BreakerThreshold: 4, BreakerCooldown: 150 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 { // 2 exchanges × 2 attempts = 4 failures
		if _, err := c.ExchangeOAuth(ctx, "idp-token"); err == nil || errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("want a 502 failure, got %v", err)
		}
	}
	if got := hits.Load(); got != 4 {
		t.Fatalf("Fuyun saw %d requests, want 4", got)
	}
	start := time.Now()
	for range 50 {
		_, err := c.ExchangeOAuth(ctx, "idp-token")
		var fe *Error
		if !errors.Is(err, ErrCircuitOpen) || !errors.As(err, &fe) || !fe.Temporary() {
			t.Fatalf("want a temporary ErrCircuitOpen, got %v", err)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("50 refused exchanges took %s; an open breaker must answer at once", d)
	}
	if got := hits.Load(); got != 4 {
		t.Fatalf("Fuyun saw %d requests while the breaker was open, want 4", got)
	}
	down.Store(false)
	time.Sleep(200 * time.Millisecond)
	if _, err := c.ExchangeOAuth(ctx, "idp-token"); err != nil {
		t.Fatalf("probe after the cooldown: %v", err)
	}
	if c.CircuitOpen() {
		t.Fatal("breaker still open after a successful probe")
	}
}
