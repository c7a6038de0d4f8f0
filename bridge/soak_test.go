package bridge

import (
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakLogins is the soak test's size: 10,000 logins at 64 in flight, or a tenth of it under -race.
func soakLogins() int {
	if raceEnabled {
		return 1000
	}
	return 10_000
}

const soakConcurrency = 64

// TestSoakNoLeaks runs thousands of whole logins over loopback HTTP (fresh cookie jar each, every redirect
// followed) and requires zero errors, then that goroutines and the live heap come back to where they were
// before: a leaked response body, timer, connection or breaker goroutine per login fails it.
func TestSoakNoLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	stub := newUpstreamStub(t)
	upstream := UpstreamClient()
	_, ts := stubBridge(t, stub, "", BuildOptions{HTTPClient: upstream})
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * soakConcurrency}
	client := jsonClient(tr, 30*time.Second)
	idle := func() {
		tr.CloseIdleConnections()
		upstream.CloseIdleConnections()
	}
	login := func() error {
		status, code, token, err := stubLogin(client, ts.URL, "stub")
		if err != nil {
			return err
		}
		if status != http.StatusOK || !token {
			return &soakError{status: status, code: code}
		}
		return nil
	}
	// Warm up: discovery, keys, pools, lazily built caches.
	for range 20 {
		if err := login(); err != nil {
			t.Fatalf("warm-up login: %v", err)
		}
	}
	idle()
	baseGoroutines, baseHeap := settle(t, 0, 0)

	n := soakLogins()
	start := time.Now()
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range soakConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := login(); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d of %d logins failed; first: %v", f, n, firstErr.Load())
	}
	t.Logf("%d logins at c=%d in %s (%.0f/s)", n, soakConcurrency, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	idle()
	g, heap := settle(t, baseGoroutines, baseHeap)
	t.Logf("goroutines %d → %d, live heap %.1f → %.1f MiB", baseGoroutines, g, float64(baseHeap)/(1<<20), float64(heap)/(1<<20))
}

type soakError struct {
	status int
	code   string
}

func (e *soakError) Error() string { return http.StatusText(e.status) + " " + e.code }

// Leak bounds: what may remain above the baseline once idle connections are closed.
const (
	soakGoroutineSlack = 5
	soakHeapSlack      = 8 << 20
)

// settle waits (5 s at most) for goroutines and the live heap to come down to the baseline plus slack, and
// fails the test if they do not; with a zero baseline it only measures.
func settle(t *testing.T, baseG int, baseHeap uint64) (int, uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		g := runtime.NumGoroutine()
		if baseG == 0 {
			return g, ms.HeapAlloc
		}
		if g <= baseG+soakGoroutineSlack && ms.HeapAlloc <= baseHeap+soakHeapSlack {
			return g, ms.HeapAlloc
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("leak: goroutines %d (baseline %d), live heap %d bytes (baseline %d)\n%s", g, baseG, ms.HeapAlloc, baseHeap, buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
