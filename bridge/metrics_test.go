package bridge_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// TestMetricsCountLoginsAndTimeUpstreams runs logins in both modes and a failure, then reads /metrics.
func TestMetricsCountLoginsAndTimeUpstreams(t *testing.T) {
	e := newOpsEnv(t)
	srv, ts := e.serve(t, "", "")
	for _, p := range []string{"idp", "idpo"} {
		if status, body, tok := loginVia(t, browserClient(t), ts.URL, p); status != http.StatusOK || tok == "" {
			t.Fatalf("login %s: %d %s", p, status, body)
		}
	}
	// A callback without its login (no state cookie: state_mismatch). And one for a provider that does not exist.
	getBody(t, http.DefaultClient, ts.URL+"/callback/idp?state=s&code=c")
	getBody(t, http.DefaultClient, ts.URL+"/callback/nosuch?state=s&code=c")

	rec := httptest.NewRecorder()
	srv.OpsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	status, hdr, metrics := rec.Code, rec.Header(), rec.Body.String()
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics answered %d %s", status, hdr.Get("Content-Type"))
	}
	tests := []struct {
		series string
		min    float64 // at least; -1 in the output means absent
		exact  bool
	}{
		{`fuyun_bridge_logins_started_total{provider="idp"}`, 1, true},
		{`fuyun_bridge_logins_started_total{provider="idpo"}`, 1, true},
		{`fuyun_bridge_logins_completed_total{mode="jwt",provider="idp"}`, 1, true},
		{`fuyun_bridge_logins_completed_total{mode="oauth",provider="idpo"}`, 1, true},
		{`fuyun_bridge_logins_failed_total{code="state_mismatch",provider="idp"}`, 1, true},
		{`fuyun_bridge_logins_failed_total{code="unknown_provider",provider="unknown"}`, 1, true},
		{`fuyun_bridge_logins_started_total{provider="unknown"}`, -1, true},
		{`fuyun_bridge_login_duration_seconds_count{outcome="success",provider="idp"}`, 1, true},
		{`fuyun_bridge_login_duration_seconds_count{outcome="failure",provider="idp"}`, 1, true},
		{`fuyun_bridge_upstream_request_duration_seconds_count{result="2xx",stage="idp_discovery"}`, 1, false},
		{`fuyun_bridge_upstream_request_duration_seconds_count{result="2xx",stage="idp_jwks"}`, 1, false},
		{`fuyun_bridge_upstream_request_duration_seconds_count{result="2xx",stage="idp_token"}`, 2, true},
		{`fuyun_bridge_upstream_request_duration_seconds_count{result="2xx",stage="idp_userinfo"}`, 2, true},
		{`fuyun_bridge_upstream_request_duration_seconds_count{result="2xx",stage="fuyun_exchange"}`, 2, true},
		{`fuyun_bridge_fuyun_reachable`, 1, true},
		{`go_goroutines`, 1, false},
	}
	for _, tc := range tests {
		got := metricValue(t, metrics, tc.series)
		if got < tc.min || (tc.exact && got != tc.min) {
			t.Errorf("%s = %v, want %v%s", tc.series, got, tc.min, map[bool]string{false: " or more"}[tc.exact])
		}
	}
	if strings.Contains(metrics, `stage="idp_other"`) {
		t.Error("an IdP call went untagged (idp_other)")
	}
	if strings.Contains(metrics, "nosuch") {
		t.Error("a random provider segment became a label value")
	}
}

// TestMetricsOnSeparateListener: with server.metrics_listen, /metrics is on the operations handler only.
func TestMetricsOnSeparateListener(t *testing.T) {
	testPublicMetrics(t, "  metrics_listen: 127.0.0.1:0", http.StatusNotFound)
}

// TestMetricsOffThePublicListenerByDefault: without metrics_listen, /metrics is still not public;
// server.metrics_public puts it back on the public listener.
func TestMetricsOffThePublicListenerByDefault(t *testing.T) {
	testPublicMetrics(t, "", http.StatusNotFound)
	testPublicMetrics(t, "  metrics_public: true", http.StatusOK)
}

// testPublicMetrics serves a bridge with serverExtra and checks the public /metrics status and that the
// operations handler always serves it.
func testPublicMetrics(t *testing.T, serverExtra string, public int) {
	t.Helper()
	e := newOpsEnv(t)
	srv, ts := e.serve(t, serverExtra, "")
	if status, _, _ := getBody(t, http.DefaultClient, ts.URL+"/metrics"); status != public {
		t.Errorf("%q: public /metrics answered %d, want %d", serverExtra, status, public)
	}
	rec := httptest.NewRecorder()
	srv.OpsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Errorf("%q: operations /metrics answered %d", serverExtra, rec.Code)
	}
}

// TestHealthAndReadiness covers liveness (always ok) and readiness (IdP discovery, Fuyun reachable,
// cached so that probes do not ping Fuyun each time).
func TestHealthAndReadiness(t *testing.T) {
	e := newOpsEnv(t)
	var pings atomic.Int32
	var fuyunDown atomic.Bool
	e.setFuyunHook(func(r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == fuyunsim.TokenPath {
			pings.Add(1)
		}
		if fuyunDown.Load() {
			panic(http.ErrAbortHandler) // the connection drops: unreachable
		}
	})
	_, ts := e.serve(t, "", "")
	steps := []struct {
		name      string
		fuyunDown bool
		advance   time.Duration
		path      string
		status    int
		body      []string
		pings     int32 // total pings to Fuyun after this step
	}{
		{"liveness with Fuyun down", true, 0, "/healthz", 200, []string{"ok"}, 0},
		{"Fuyun down", true, 0, "/readyz", 503, []string{"not ready", "fuyun: fuyun_unavailable"}, 1},
		{"Fuyun back, but the failure is remembered until its backoff passes", false, 0, "/readyz", 503, []string{"fuyun: fuyun_unavailable"}, 1},
		{"all up after the backoff", false, bridge.PingBackoffMin + time.Second, "/readyz", 200, []string{"ready"}, 2},
		{"Fuyun down again, but reached within the freshness window", true, 0, "/readyz", 200, []string{"ready"}, 2},
	}
	for _, st := range steps {
		fuyunDown.Store(st.fuyunDown)
		e.advance(st.advance)
		status, hdr, body := getBody(t, http.DefaultClient, ts.URL+st.path)
		if status != st.status {
			t.Errorf("%s: %s answered %d, want %d:\n%s", st.name, st.path, status, st.status, body)
		}
		for _, want := range st.body {
			if !strings.Contains(body, want) {
				t.Errorf("%s: body lacks %q:\n%s", st.name, want, body)
			}
		}
		if hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", st.name, hdr.Get("Cache-Control"))
		}
		if got := pings.Load(); got != st.pings {
			t.Errorf("%s: %d pings to Fuyun so far, want %d", st.name, got, st.pings)
		}
		for _, secret := range []string{opsIdPSecret, opsFuyunSecret} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: readiness shows a secret", st.name)
			}
		}
	}
}

// TestReadinessNeedsDiscovery: an IdP whose discovery fails keeps the bridge unready but alive.
func TestReadinessNeedsDiscovery(t *testing.T) {
	e := newOpsEnv(t)
	e.stub.Shape(func(s *idpstub.Shape) { s.Down = true })
	_, ts := e.serve(t, "", "")
	if status, _, body := getBody(t, http.DefaultClient, ts.URL+"/healthz"); status != 200 || body != "ok\n" {
		t.Errorf("/healthz answered %d %q", status, body)
	}
	status, _, body := getBody(t, http.DefaultClient, ts.URL+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "provider idp: idp_unavailable") ||
		!strings.Contains(body, "provider idpo: idp_unavailable") {
		t.Errorf("/readyz answered %d:\n%s", status, body)
	}
}

// TestReadyzAmplificationAndDisclosure reproduces two findings: while Fuyun failed, every unauthenticated
// /readyz made a new ping (failures were not cached), and the public body showed the raw upstream error with
// internal URLs. Now 50 probes cost one ping, the public body names only the component and a stable code, and
// the detail is on the operations listener and in one log line.
func TestReadyzAmplificationAndDisclosure(t *testing.T) {
	e := newOpsEnv(t)
	var pings atomic.Int32
	e.setFuyunHook(func(r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == fuyunsim.TokenPath {
			pings.Add(1)
		}
		panic(http.ErrAbortHandler)
	})
	srv, ts := e.serve(t, "", "")
	fuyunHost := strings.TrimPrefix(strings.TrimSuffix(e.fuyunURL, fuyunsim.TokenPath), "http://")
	for i := range 50 {
		status, _, body := getBody(t, http.DefaultClient, ts.URL+"/readyz")
		if status != http.StatusServiceUnavailable || body != "not ready\nfuyun: fuyun_unavailable\n" {
			t.Fatalf("probe %d: %d %q, want 503 naming only the component and its code", i+1, status, body)
		}
	}
	if got := pings.Load(); got != 1 {
		t.Errorf("50 probes while Fuyun is down pinged it %d times, want 1", got)
	}
	rec := httptest.NewRecorder()
	srv.OpsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), fuyunHost) {
		t.Errorf("operations /readyz: %d %q, want the detail with Fuyun's address", rec.Code, rec.Body)
	}
	if n := len(logLines(t, e.logs.String(), "not ready")); n != 1 {
		t.Errorf("%d 'not ready' log lines for one unchanged problem, want 1", n)
	}
	// The next ping waits for the backoff, which doubles.
	e.advance(bridge.PingBackoffMin + time.Second)
	getBody(t, http.DefaultClient, ts.URL+"/readyz")
	e.advance(bridge.PingBackoffMin + time.Second)
	getBody(t, http.DefaultClient, ts.URL+"/readyz")
	if got := pings.Load(); got != 2 {
		t.Errorf("after one backoff and half of the doubled one: %d pings, want 2", got)
	}
}
