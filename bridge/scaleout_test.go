package bridge_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestScaleOutAcrossReplicas: the bridge keeps no server-side state, so replicas that share the session keys
// can serve any step of a login. Three replicas, built from one config as a Deployment would run them, sit
// behind a round-robin reverse proxy; every login starts on one replica and finishes on another.
//
// The replicas are separate http.Servers in this process rather than separate processes: they share nothing
// but the config (each has its own providers, caches, metrics and listener), which is what matters, and the
// test stays fast and needs no build step.
func TestScaleOutAcrossReplicas(t *testing.T) {
	e := newOpsEnv(t)
	proxy := httptest.NewUnstartedServer(nil)
	public := "http://" + proxy.Listener.Addr().String()
	cfg := e.config(t, public, `  trusted_proxies: ["127.0.0.1"]`, "")

	const replicas = 3
	var backends []*url.URL
	for i := 0; i < replicas; i++ {
		ts := httptest.NewServer(e.bridge(t, cfg))
		t.Cleanup(ts.Close)
		u, _ := url.Parse(ts.URL)
		backends = append(backends, u)
	}
	var next atomic.Uint64
	var mu sync.Mutex
	served := map[string][]int{} // path → replicas, in order
	proxy.Config.Handler = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		n := int(next.Add(1)-1) % replicas
		pr.SetURL(backends[n])
		pr.SetXForwarded()
		pr.Out.Host = pr.In.Host // the bridge sees its public host, as behind a real load balancer
		mu.Lock()
		served[pr.In.URL.Path] = append(served[pr.In.URL.Path], n)
		mu.Unlock()
	}}
	proxy.Start()
	t.Cleanup(proxy.Close)

	for i := 0; i < replicas; i++ {
		provider := []string{"idp", "idpo"}[i%2]
		status, body, token := loginVia(t, browserClient(t), public, provider)
		if status != http.StatusOK || token == "" {
			t.Fatalf("login %d via %s: %d (token %v)\n%s", i, provider, status, token != "", body)
		}
		if c, err := e.sim.VerifyAccessToken(token); err != nil || c.UserName != "alice" {
			t.Fatalf("login %d: AC_TOKEN not accepted for alice: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	starts, callbacks := append(served["/login/idp"], served["/login/idpo"]...), append(served["/callback/idp"], served["/callback/idpo"]...)
	if len(starts) != replicas || len(callbacks) != replicas {
		t.Fatalf("proxy saw starts %v and callbacks %v", starts, callbacks)
	}
	usedStart := map[int]bool{}
	for _, p := range []string{"idp", "idpo"} {
		for j, s := range served["/login/"+p] {
			if c := served["/callback/"+p][j]; c == s {
				t.Errorf("login %s #%d started and finished on replica %d; the test proves nothing", p, j, s)
			}
			usedStart[s] = true
		}
	}
	if len(usedStart) < 2 {
		t.Errorf("logins started on replicas %v only", usedStart)
	}
	// Each replica's audit line carries the client address the proxy vouched for.
	for _, a := range logLines(t, e.logs.String(), "login") {
		if a["client_ip"] != "127.0.0.1" || !strings.HasPrefix(a["outcome"].(string), "success") {
			t.Errorf("audit line %v", a)
		}
	}
}
