package fuyun

import (
	"errors"
	"sync"
	"time"
)

// ErrCircuitOpen is the cause of an exchange refused without a request because Fuyun kept failing: the
// client's circuit breaker is open. Such an Error is Temporary (the bridge shows fuyun_unavailable).
var ErrCircuitOpen = errors.New("Fuyun is failing: circuit breaker open, request not sent")

// Breaker defaults applied by NewClient.
const (
	// DefaultBreakerThreshold is how many failed attempts in a row (transport errors, timeouts, 5xx) open
	// the breaker.
	DefaultBreakerThreshold = 5
	// DefaultBreakerCooldown is how long an open breaker refuses exchanges before letting one probe through.
	DefaultBreakerCooldown = 5 * time.Second
)

// breaker is a consecutive-failure circuit breaker. Closed, every attempt goes through; after threshold
// failed attempts in a row it opens and refuses every attempt for cooldown, so that while Fuyun is down
// logins fail at once instead of each waiting out its timeouts and retries (and piling up goroutines and
// connections). After cooldown one probe attempt is let through (half-open): its success closes the
// breaker, its failure opens it for another cooldown. A refusal by Fuyun (4xx) is an answer, so a success.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	probing   bool // a half-open probe is in flight
}

func newBreaker(threshold int, cooldown time.Duration, now func() time.Time) *breaker {
	if threshold <= 0 {
		return nil // disabled
	}
	return &breaker{threshold: threshold, cooldown: cooldown, now: now}
}

// allow reports whether an attempt may be sent now. Every allowed attempt must be followed by done.
func (b *breaker) allow() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return true
	}
	if b.probing || b.now().Before(b.openUntil) {
		return false
	}
	b.probing = true
	return true
}

// done records the outcome of an allowed attempt; counted is false when the attempt says nothing about
// Fuyun (the caller gave up first), which only ends a probe.
func (b *breaker) done(ok, counted bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	switch {
	case !counted:
	case ok:
		b.failures = 0
	default:
		b.failures++
		if b.failures >= b.threshold {
			b.openUntil = b.now().Add(b.cooldown)
		}
	}
}

// open reports whether the breaker refuses attempts right now.
func (b *breaker) open() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures >= b.threshold && (b.probing || b.now().Before(b.openUntil))
}
