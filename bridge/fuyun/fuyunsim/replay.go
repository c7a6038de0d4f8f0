package fuyunsim

import (
	"container/heap"
	"sync"
	"time"
)

// replayCache remembers the jti of every accepted subject JWT until it could no longer be accepted anyway
// (its exp plus leeway). It is bounded: when full of live entries it refuses rather than forgets, since
// forgetting would let a replay through.
type replayCache struct {
	mu       sync.Mutex
	capacity int
	seen     map[string]struct{}
	byExpiry expiryHeap
}

func newReplayCache(capacity int) *replayCache {
	return &replayCache{capacity: capacity, seen: make(map[string]struct{})}
}

// add records key until expires. fresh is false when key was already recorded; full is true when there
// was no room for it.
func (c *replayCache) add(key string, expires, now time.Time) (fresh, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.byExpiry) > 0 && !c.byExpiry[0].expires.After(now) {
		delete(c.seen, heap.Pop(&c.byExpiry).(replayEntry).key)
	}
	if _, ok := c.seen[key]; ok {
		return false, false
	}
	if len(c.seen) >= c.capacity {
		return false, true
	}
	c.seen[key] = struct{}{}
	heap.Push(&c.byExpiry, replayEntry{key: key, expires: expires})
	return true, false
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

type replayEntry struct {
	key     string
	expires time.Time
}

// expiryHeap is a min-heap on expiry, so pruning touches only what has expired.
type expiryHeap []replayEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
