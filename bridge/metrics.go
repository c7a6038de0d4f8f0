package bridge

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// Upstream stages of the bridge's own outbound calls; the IdP stages are providers.Stage*.
const (
	StageFuyunExchange = "fuyun_exchange"
	StageFuyunPing     = "fuyun_ping"
	// StageIdPOther labels a provider call that carries no stage (none today; a safety net for new code).
	StageIdPOther = "idp_other"
)

// latencyBuckets cover a fast IdP on the same continent (20 ms) to a login at its timeout (20 s).
var latencyBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20}

// Metrics are the bridge's Prometheus metrics, in a registry of their own (no global state), so that
// several servers in one process (tests, replicas) never share counters.
type Metrics struct {
	reg *prometheus.Registry

	loginsStarted   *prometheus.CounterVec
	loginsCompleted *prometheus.CounterVec
	loginsFailed    *prometheus.CounterVec
	loginDuration   *prometheus.HistogramVec
	upstream        *prometheus.HistogramVec
	apiRequests     *prometheus.CounterVec
	apiRateLimited  *prometheus.CounterVec
	fuyunReachable  prometheus.Gauge
	// Platform mode: logins by tenant and outcome, the tenant label bounded (see tenantLabel).
	tenantLogins *prometheus.CounterVec
	tenantLabels sync.Map // tenant id → struct{}: the ids that have a label of their own
	tenantCount  atomic.Int32
}

// maxTenantLabels bounds the tenant label of fuyun_bridge_tenant_logins_total: the first tenants to log in
// get their own value, the rest share "other", so a platform of 10,000 tenants cannot grow the series
// without bound.
const maxTenantLabels = 500

// tenantLabel is the label value of tenant id.
func (m *Metrics) tenantLabel(id string) string {
	if _, ok := m.tenantLabels.Load(id); ok {
		return id
	}
	if m.tenantCount.Add(1) > maxTenantLabels {
		m.tenantCount.Add(-1)
		return "other"
	}
	if _, loaded := m.tenantLabels.LoadOrStore(id, struct{}{}); loaded {
		m.tenantCount.Add(-1)
	}
	return id
}

// NewMetrics builds the metrics and registers them, with the Go runtime and process collectors, in a fresh
// registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		loginsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fuyun_bridge_logins_started_total",
			Help: "Logins started (/login/{provider} redirected to the IdP).",
		}, []string{"provider"}),
		loginsCompleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fuyun_bridge_logins_completed_total",
			Help: "Logins that ended with a Fuyun token, by provider and Fuyun exchange mode.",
		}, []string{"provider", "mode"}),
		loginsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fuyun_bridge_logins_failed_total",
			Help: "Callbacks that failed, by provider and stable error code.",
		}, []string{"provider", "code"}),
		loginDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fuyun_bridge_login_duration_seconds",
			Help:    "Duration of whole callbacks (IdP token, userinfo, Fuyun exchange), by provider and outcome.",
			Buckets: latencyBuckets,
		}, []string{"provider", "outcome"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fuyun_bridge_upstream_request_duration_seconds",
			Help:    "Duration of outbound HTTP calls by stage (idp_discovery, idp_jwks, idp_token, idp_userinfo, fuyun_exchange, fuyun_ping) and result (2xx…5xx or error).",
			Buckets: latencyBuckets,
		}, []string{"stage", "result"}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fuyun_bridge_api_token_requests_total",
			Help: "POST /api/v1/token requests by provider and outcome (ok or a stable error code).",
		}, []string{"provider", "code"}),
		apiRateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fuyun_bridge_api_rate_limited_total",
			Help: "POST /api/v1/token requests refused with 429, by limit (key or ip).",
		}, []string{"limit"}),
		tenantLogins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fuyun_bridge_tenant_logins_total",
			Help: "Platform mode: finished callbacks by tenant (the first 500 tenants to log in; the rest as other) and outcome (success or failure).",
		}, []string{"tenant", "outcome"}),
		fuyunReachable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fuyun_bridge_fuyun_reachable",
			Help: "1 when the last check of the Fuyun token endpoint (readiness ping or exchange) reached it, else 0.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.loginsStarted, m.loginsCompleted, m.loginsFailed, m.loginDuration, m.upstream,
		m.apiRequests, m.apiRateLimited, m.fuyunReachable, m.tenantLogins,
	)
	return m
}

// watchBreaker exports whether a Fuyun client's circuit breaker is open (1) or closed (0), labelled by its
// client id, so that an alert can fire while logins fail fast. A client id already watched (several providers
// share one client, or one registry serves several servers in a test) is left as it is.
func (m *Metrics) watchBreaker(c *fuyun.Client) error {
	err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "fuyun_bridge_fuyun_circuit_open",
		Help:        "1 while the circuit breaker in front of Fuyun refuses exchanges because Fuyun kept failing.",
		ConstLabels: prometheus.Labels{"client_id": c.ClientID()},
	}, func() float64 {
		if c.CircuitOpen() {
			return 1
		}
		return 0
	}))
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		return nil
	}
	return err
}

// Registry is the registry the metrics live in, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// InstrumentClient returns a copy of c whose calls are timed in the upstream histogram, labelled by the
// stage in the request context (providers.WithStage) or else by defaultStage. c's transport, and so its
// connection pool, is shared.
func (m *Metrics) InstrumentClient(c *http.Client, defaultStage string) *http.Client {
	cc := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = &timedTransport{base: base, hist: m.upstream, stage: defaultStage}
	return &cc
}

// timedTransport is the RoundTripper of InstrumentClient. It classifies by a stage the caller tagged rather
// than by matching URLs, because IdP endpoints are discovered at run time and differ per preset and tenant.
type timedTransport struct {
	base  http.RoundTripper
	hist  *prometheus.HistogramVec
	stage string
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	stage := providers.StageFrom(r.Context())
	if stage == "" {
		stage = t.stage
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	result := "error"
	if err == nil {
		result = strconv.Itoa(resp.StatusCode/100) + "xx"
	}
	t.hist.WithLabelValues(stage, result).Observe(time.Since(start).Seconds())
	return resp, err
}

func (m *Metrics) loginStarted(provider string) { m.loginsStarted.WithLabelValues(provider).Inc() }

// loginFinished records one callback; provider must be a configured id (never a raw URL segment), so
// label values stay bounded.
func (m *Metrics) loginFinished(provider, mode, code string, d time.Duration) {
	outcome := "success"
	if code != "" {
		outcome = "failure"
		m.loginsFailed.WithLabelValues(provider, code).Inc()
	} else {
		m.loginsCompleted.WithLabelValues(provider, mode).Inc()
	}
	m.loginDuration.WithLabelValues(provider, outcome).Observe(d.Seconds())
}

func (m *Metrics) setFuyunReachable(ok bool) {
	if ok {
		m.fuyunReachable.Set(1)
	} else {
		m.fuyunReachable.Set(0)
	}
}

// Metrics returns the server's metrics, e.g. to serve Metrics().Handler() on a separate listener.
func (s *Server) Metrics() *Metrics { return s.metrics }

// observeLogin records a finished callback. An id that names no provider is labelled "unknown", so that
// random URL segments cannot grow the label set.
func (s *Server) observeLogin(id string, res *loginResult, err error, d time.Duration) {
	if _, ok := s.routes[id]; !ok {
		id = "unknown"
	}
	var mode, code string
	if res != nil && res.route != nil {
		mode = string(res.route.Mode)
	}
	if err != nil {
		code = classify(err).code
	}
	s.metrics.loginFinished(id, mode, code, d)
	if s.opts.Tenant != "" {
		outcome := "success"
		if code != "" {
			outcome = "failure"
		}
		s.metrics.tenantLogins.WithLabelValues(s.metrics.tenantLabel(s.opts.Tenant), outcome).Inc()
	}
}
