package devidp

import (
	"sync"
	"time"
)

// ttlStore is a bounded map whose entries expire. Every put purges what has expired and, at the cap,
// evicts the oldest entries, so memory stays bounded however many logins a load test runs.
//
// Entries are purged in insertion order, which is expiry order because each store uses one fixed TTL.
type ttlStore[V any] struct {
	mu    sync.Mutex
	max   int
	m     map[string]ttlEntry[V]
	order []orderEntry // insertion order; may hold keys already taken, skipped when popped
	head  int          // order[:head] has been popped
}

type ttlEntry[V any] struct {
	v   V
	exp time.Time
}

type orderEntry struct {
	key string
	exp time.Time
}

func newTTLStore[V any](maxEntries int) *ttlStore[V] {
	return &ttlStore[V]{max: maxEntries, m: make(map[string]ttlEntry[V])}
}

// put stores v under key until exp.
func (s *ttlStore[V]) put(now time.Time, key string, v V, exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(now)
	for len(s.m) >= s.max && s.head < len(s.order) {
		s.popLocked()
	}
	s.m[key] = ttlEntry[V]{v: v, exp: exp}
	s.order = append(s.order, orderEntry{key: key, exp: exp})
	// Taken keys linger in order until they expire; rebuild it when they outnumber the live ones.
	if len(s.order)-s.head > 2*s.max {
		s.compactLocked()
	}
}

// get returns the live entry under key.
func (s *ttlStore[V]) get(now time.Time, key string) (V, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !now.Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// take removes and returns the live entry under key, so that only one caller ever gets it.
func (s *ttlStore[V]) take(now time.Time, key string) (V, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	delete(s.m, key)
	if !ok || !now.Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// len counts the entries held, expired or not.
func (s *ttlStore[V]) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *ttlStore[V]) purgeLocked(now time.Time) {
	for s.head < len(s.order) && !now.Before(s.order[s.head].exp) {
		s.popLocked()
	}
}

func (s *ttlStore[V]) popLocked() {
	oe := s.order[s.head]
	s.order[s.head] = orderEntry{}
	s.head++
	// The key may have been taken and put again since; only drop the entry this order slot stands for.
	if e, ok := s.m[oe.key]; ok && e.exp.Equal(oe.exp) {
		delete(s.m, oe.key)
	}
	if s.head > len(s.order)/2 {
		n := copy(s.order, s.order[s.head:])
		clear(s.order[n:])
		s.order, s.head = s.order[:n], 0
	}
}

func (s *ttlStore[V]) compactLocked() {
	live := make([]orderEntry, 0, len(s.m))
	for _, oe := range s.order[s.head:] {
		if e, ok := s.m[oe.key]; ok && e.exp.Equal(oe.exp) {
			live = append(live, oe)
		}
	}
	s.order, s.head = live, 0
}
