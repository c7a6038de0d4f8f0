package bridge

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/logtest"
)

// slowDialStub is the upstream stub over TLS whose every new connection costs setup before its first byte
// (a stand-in for DNS + TCP + TLS round trips to a faraway IdP), counting the connections opened.
type slowDialStub struct {
	*upstreamStub
	conns atomic.Int64
}

type slowListener struct {
	net.Listener
	setup time.Duration
	conns *atomic.Int64
}

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.conns.Add(1)
		time.Sleep(l.setup)
	}
	return c, err
}

func newSlowDialStub(t testing.TB, setup time.Duration) *slowDialStub {
	st := &slowDialStub{}
	st.upstreamStub = newUpstreamStubOn(t, func(h http.Handler) *httptest.Server {
		ts := httptest.NewUnstartedServer(h)
		ts.Listener = slowListener{ts.Listener, setup, &st.conns}
		ts.StartTLS()
		return ts
	})
	return st
}

// idleClient is UpstreamClient trusting the stub, with an idle timeout of idle: the pool empties after it,
// as it does after 90 s of a quiet night in production.
func idleClient(st *slowDialStub, idle time.Duration) *http.Client {
	c := UpstreamClient()
	tr := c.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: st.srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	tr.IdleConnTimeout = idle
	c.Transport = tr
	return c
}

// idleBridge serves a bridge in front of a slowDialStub whose new connections cost setup, with a connection
// pool that empties after idle and KeepWarm running at keepWarm (negative: off) until the test ends. It returns
// the stub, a browser that trusts it (its own connections kept alive) and the bridge's URL, after one login
// that fills the pool.
func idleBridge(tb testing.TB, setup, idle, keepWarm time.Duration) (*slowDialStub, *http.Client, string) {
	tb.Helper()
	st := newSlowDialStub(tb, setup)
	srv, ts := stubBridge(tb, st.upstreamStub, "", BuildOptions{HTTPClient: idleClient(st, idle)})
	srv.opts.KeepWarm = keepWarm
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	go srv.KeepWarm(ctx)
	browser := jsonClient(st.srv.Client().Transport, 10*time.Second)
	if status, code, token, err := stubLogin(browser, ts.URL, "stub-jwt"); err != nil || !token {
		tb.Fatalf("first login: %v %d %q", err, status, code)
	}
	return st, browser, ts.URL
}

// TestKeepWarmFirstLoginOpensNoConnection: after the pool's idle timeout has closed every connection, the first
// login of a bridge that keeps warm opens none (they were re-opened while it was idle); one that does not opens
// new ones to the IdP and to Fuyun. Connection counts, not timings (BenchmarkFirstLoginAfterIdle times it).
func TestKeepWarmFirstLoginOpensNoConnection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keepWarm time.Duration
		wantNew  bool
	}{{"kept warm", 50 * time.Millisecond, false}, {"cold", -1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			st, client, base := idleBridge(t, 0, 150*time.Millisecond, tc.keepWarm)
			time.Sleep(500 * time.Millisecond) // idle: the pool's connections time out
			before := st.conns.Load()
			if status, code, token, err := stubLogin(client, base, "stub-jwt"); err != nil || !token {
				t.Fatalf("login after idle: %v %d %q", err, status, code)
			}
			opened := st.conns.Load() - before
			// The browser's /authorize hop also reaches the stub, on the stub client's own connection, which its
			// transport keeps alive (90 s): any new connection is the bridge's.
			if tc.wantNew && opened == 0 {
				t.Errorf("a cold bridge opened no connection after idle: the test does not reach the idle timeout")
			}
			if !tc.wantNew && opened != 0 {
				t.Errorf("the first login after idle opened %d connections, want 0 (kept warm)", opened)
			}
		})
	}
}

// BenchmarkFirstLoginAfterIdle times the first login after the connection pool went idle, when each new
// connection to the IdP or Fuyun costs 40 ms of setup (two 20 ms round trips: TCP, then TLS 1.3), kept warm
// or not. go test -run '^$' -bench FirstLoginAfterIdle -benchtime 20x ./bridge/
func BenchmarkFirstLoginAfterIdle(b *testing.B) {
	for _, bc := range []struct {
		name     string
		keepWarm time.Duration
	}{{"warm", 50 * time.Millisecond}, {"cold", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			_, client, base := idleBridge(b, 40*time.Millisecond, 100*time.Millisecond, bc.keepWarm)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				time.Sleep(300 * time.Millisecond)
				b.StartTimer()
				if _, _, token, err := stubLogin(client, base, "stub-jwt"); err != nil || !token {
					b.Fatalf("login: %v", err)
				}
			}
		})
	}
}

// TestKeepWarmLogsEachUpstreamAtStartup: serve runs KeepWarm at start-up, which reports each identity provider
// and Fuyun as reachable or not, without waiting for /readyz.
func TestKeepWarmLogsEachUpstreamAtStartup(t *testing.T) {
	for _, down := range []bool{false, true} {
		stub := newUpstreamStub(t)
		if down {
			stub.hook("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "down", http.StatusServiceUnavailable)
			})
		}
		var logs logtest.Buffer
		srv, _ := stubBridge(t, stub, "", BuildOptions{Logger: NewLogger(&logs, slog.LevelInfo, "json")})
		srv.warm(context.Background(), true)
		want := []string{`"msg":"identity provider reachable","provider":"stub"`, `"msg":"Fuyun token endpoint reachable"`}
		if down {
			want[0] = `"msg":"identity provider not reachable at start-up","provider":"stub"`
		}
		for _, w := range want {
			if !strings.Contains(logs.String(), w) {
				t.Errorf("IdP down=%v: logs lack %s:\n%s", down, w, logs.String())
			}
		}
	}
}
