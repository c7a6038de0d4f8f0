package fuyunsim

import (
	"fmt"
	"testing"
	"time"
)

func TestReplayCache(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	c := newReplayCache(3)
	steps := []struct {
		key         string
		expires     time.Time
		now         time.Time
		fresh, full bool
		size        int
	}{
		{"a", t0.Add(time.Minute), t0, true, false, 1},
		{"a", t0.Add(time.Minute), t0, false, false, 1}, // replay
		{"b", t0.Add(3 * time.Minute), t0, true, false, 2},
		{"c", t0.Add(2 * time.Minute), t0, true, false, 3},
		{"d", t0.Add(time.Minute), t0, false, true, 3},                          // full of live entries: refuse, never forget
		{"a", t0.Add(time.Minute), t0.Add(time.Minute), true, false, 3},         // a expired and was dropped
		{"e", t0.Add(5 * time.Minute), t0.Add(2 * time.Minute), true, false, 2}, // a and c dropped
		{"b", t0.Add(3 * time.Minute), t0.Add(2 * time.Minute), false, false, 2},
	}
	for i, s := range steps {
		fresh, full := c.add(s.key, s.expires, s.now)
		if fresh != s.fresh || full != s.full || c.len() != s.size {
			t.Fatalf("step %d (%s): fresh=%v full=%v size=%d; want %v %v %d", i, s.key, fresh, full, c.len(), s.fresh, s.full, s.size)
		}
	}
}

func TestReplayCacheStaysBounded(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	c := newReplayCache(100)
	for i := range 10_000 {
		now := t0.Add(time.Duration(i) * time.Second)
		if fresh, full := c.add(fmt.Sprint(i), now.Add(10*time.Second), now); !fresh || full {
			t.Fatalf("entry %d refused (full=%v)", i, full)
		}
		if c.len() > 11 {
			t.Fatalf("%d live entries after %d inserts; expired ones are not being dropped", c.len(), i)
		}
	}
}
