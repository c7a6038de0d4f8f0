package bridge

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// Error codes of POST /api/v1/token besides the login codes it shares.
const (
	CodeInvalidAPIKey = "invalid_api_key"
	CodeRateLimited   = "rate_limited"
)

// apiErrorText is the English error_description of the API's own codes; the API speaks to programs.
var apiErrorText = map[string]string{
	CodeInvalidAPIKey: "The API key is missing or not valid.",
	CodeRateLimited:   "Too many requests; retry after the number of seconds in Retry-After.",
}

// Default limits of the backend API.
const (
	DefaultAPIKeyRate   = 20 // requests per second, sustained, per API key; the burst defaults to twice the rate
	DefaultAPIIPRate    = 10 // per client IP, counted before authentication
	defaultLimiterSlots = 10000
)

// RateLimit is a token bucket: Rate requests per second sustained, Burst at once.
type RateLimit struct {
	Rate  float64
	Burst int
}

// orDefault fills a zero rate with def and a zero burst with twice the rate.
func (rl RateLimit) orDefault(def float64) RateLimit {
	if rl.Rate <= 0 {
		rl.Rate = def
	}
	if rl.Burst <= 0 {
		rl.Burst = int(math.Ceil(2 * rl.Rate))
	}
	return rl
}

// APIOptions configure POST /api/v1/token; nil Keys leaves the endpoint unrouted (404).
type APIOptions struct {
	Keys *apikeys.Set
	// PerKey and PerIP default to DefaultAPIKeyRate and DefaultAPIIPRate, bursts to twice the rate.
	PerKey RateLimit
	PerIP  RateLimit
	// MaxTracked bounds how many keys and IPs each limiter remembers (least recently seen evicted first);
	// default 10000.
	MaxTracked int
}

// api is the backend exchange endpoint's state: keys and limiters.
type api struct {
	keys  *apikeys.Set
	perIP *limiterSet
	byKey *limiterSet
}

func newAPI(o APIOptions) *api {
	if o.Keys == nil {
		return nil
	}
	o.PerKey = o.PerKey.orDefault(DefaultAPIKeyRate)
	o.PerIP = o.PerIP.orDefault(DefaultAPIIPRate)
	if o.MaxTracked <= 0 {
		o.MaxTracked = defaultLimiterSlots
	}
	return &api{keys: o.Keys, perIP: newLimiterSet(o.PerIP, o.MaxTracked), byKey: newLimiterSet(o.PerKey, o.MaxTracked)}
}

// limiterSet holds one token bucket per key (API key id or client IP), at most max of them; the least
// recently seen is evicted first, so memory stays bounded whatever the number of callers. An evicted
// caller starts again with a full bucket, which only matters beyond max simultaneous callers.
type limiterSet struct {
	limit rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	lru   *list.List // of *limiterEntry, most recent first
	index map[string]*list.Element
}

type limiterEntry struct {
	key string
	lim *rate.Limiter
}

func newLimiterSet(rl RateLimit, max int) *limiterSet {
	return &limiterSet{limit: rate.Limit(rl.Rate), burst: rl.Burst, max: max, lru: list.New(), index: map[string]*list.Element{}}
}

// allow takes one token for key; when there is none it says how long until there will be.
func (l *limiterSet) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var lim *rate.Limiter
	if el, ok := l.index[key]; ok {
		l.lru.MoveToFront(el)
		lim = el.Value.(*limiterEntry).lim
	} else {
		for l.lru.Len() >= l.max {
			oldest := l.lru.Back()
			l.lru.Remove(oldest)
			delete(l.index, oldest.Value.(*limiterEntry).key)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.index[key] = l.lru.PushFront(&limiterEntry{key: key, lim: lim})
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (l *limiterSet) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// apiRequest is the body of POST /api/v1/token, as a form or as JSON.
type apiRequest struct {
	Provider     string `json:"provider"`
	SubjectToken string `json:"subject_token"`
}

// apiOutcome is what one API exchange did, for the audit line and the metrics.
type apiOutcome struct {
	keyID    string
	provider string // a configured id, or "" when the request named none that exists
	subject  string
	userName string
	mode     fuyun.Mode
	token    *fuyun.Token
}

// handleAPIToken is the backend way: a CRM server that holds a user's access token from a configured IdP
// trades it for a Fuyun token. The IdP's userinfo says who the user is, the provider's mapping picks the
// agent, and the exchange runs in the provider's mode. One audit line per request except rate-limited ones
// (counted in metrics instead, so that a flood cannot flood the logs).
func (s *Server) handleAPIToken(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set("Cache-Control", "no-store")
	ip := clientIP(r)
	if ok, wait := s.api.perIP.allow(ip, start); !ok {
		s.apiRateLimited(w, r, "ip", wait)
		return
	}
	s.activity.touch(s.opts.Now())
	out, err := s.apiExchange(w, r, start)
	if errors.Is(err, errAPIRateLimited) {
		return
	}
	audit := []slog.Attr{
		slog.String("request_id", requestID(r.Context())), slog.String("key_id", out.keyID),
		slog.String("provider", out.provider), slog.String("client_ip", ip),
		slog.Duration("latency", time.Since(start)),
	}
	if out.mode != "" {
		audit = append(audit, slog.String("mode", string(out.mode)))
	}
	if out.subject != "" {
		audit = append(audit, slog.String("subject", out.subject))
	}
	if out.userName != "" {
		audit = append(audit, slog.String("account", out.userName))
	}
	metricProvider := out.provider
	if metricProvider == "" {
		metricProvider = "none"
	}
	if err != nil {
		le := classify(err)
		s.metrics.apiRequests.WithLabelValues(metricProvider, le.code).Inc()
		audit = append(audit, slog.String("outcome", "failure"), slog.String("error_code", le.code), slog.String("error", le.Error()))
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "api_token", audit...)
		s.writeAPIError(w, r, le)
		return
	}
	s.metrics.apiRequests.WithLabelValues(metricProvider, "ok").Inc()
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "api_token", append(audit, slog.String("outcome", "success"))...)
	t := out.token
	writeJSON(w, http.StatusOK, callbackJSON{
		AccessToken: t.AccessToken, TokenType: t.TokenType, ExpiresIn: t.ExpiresIn, Scope: t.Scope,
		Issuer: t.Issuer, JTI: t.JTI, UserName: out.userName, Provider: out.provider,
	})
}

// errAPIRateLimited says the answer (429) was already written.
var errAPIRateLimited = errors.New("rate limited")

func (s *Server) apiExchange(w http.ResponseWriter, r *http.Request, now time.Time) (*apiOutcome, error) {
	out := &apiOutcome{}
	key, err := apikeys.FromHeader(r.Header.Get("Authorization"))
	if err != nil {
		return out, failf(CodeInvalidAPIKey, err)
	}
	id, ok := s.api.keys.Verify(key)
	if !ok {
		return out, failf(CodeInvalidAPIKey, errors.New("the presented API key matches no line of api.keys_file"))
	}
	out.keyID = id
	if ok, wait := s.api.byKey.allow(id, now); !ok {
		s.apiRateLimited(w, r, "key", wait)
		return out, errAPIRateLimited
	}
	if r.URL.Query().Has("subject_token") {
		return out, failf(CodeInvalidRequest, errors.New("subject_token must be in the body, never in the URL"))
	}
	req, err := parseAPIRequest(r)
	if err != nil {
		return out, failf(CodeInvalidRequest, err)
	}
	rt, ok := s.routes[req.Provider]
	if !ok {
		return out, failf(CodeUnknownProvider, fmt.Errorf("no provider %q", truncate(req.Provider, 32)))
	}
	out.provider, out.mode = req.Provider, rt.Mode
	if req.SubjectToken == "" {
		return out, failf(CodeInvalidRequest, errors.New("subject_token is required"))
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.LoginTimeout)
	defer cancel()
	ui, ok := rt.Provider.(providers.UserInfoer)
	if !ok {
		return out, failf(CodeInvalidRequest, fmt.Errorf("provider %q (type %s) cannot tell who holds an access token; use the browser login", req.Provider, rt.Provider.Type()))
	}
	ident, err := ui.UserInfo(ctx, req.SubjectToken)
	if err != nil {
		return out, err
	}
	signed, err := s.signIn(ctx, rt, ident, nil)
	out.subject, out.userName, out.token = signed.subject, signed.account, signed.token
	return out, err
}

// parseAPIRequest reads a form or JSON body (bounded by the edge middleware).
func parseAPIRequest(r *http.Request) (apiRequest, error) {
	var req apiRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&req); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return req, fmt.Errorf("body exceeds %d bytes", mbe.Limit)
			}
			return req, errors.New("body is not a JSON object with provider and subject_token")
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return req, errors.New("body is not a valid form (or is too large)")
		}
		req.Provider, req.SubjectToken = r.PostForm.Get("provider"), r.PostForm.Get("subject_token")
	default:
		return req, errors.New("Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	if req.Provider == "" {
		return req, errors.New("provider is required")
	}
	return req, nil
}

func (s *Server) apiRateLimited(w http.ResponseWriter, r *http.Request, limit string, wait time.Duration) {
	s.metrics.apiRateLimited.WithLabelValues(limit).Inc()
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeJSON(w, http.StatusTooManyRequests, errorJSON{
		Error: CodeRateLimited, ErrorDescription: apiErrorText[CodeRateLimited], RequestID: requestID(r.Context()),
	})
}

// writeAPIError answers an OAuth-style JSON error, whatever the Accept header says.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, le *loginError) {
	status := httpStatus(le.code)
	desc, own := apiErrorText[le.code]
	if !own {
		desc = s.page(r).M.ErrorMessage(le.code)
	}
	if le.code == CodeInvalidAPIKey {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="fuyun-bridge"`)
	}
	if le.detail != "" {
		desc += " (" + le.detail + ")"
	} else if le.code == CodeInvalidRequest || le.code == CodeUnknownProvider {
		// These causes describe the request itself (never a token): tell the integrator what to fix.
		desc += " (" + le.cause.Error() + ")"
	}
	writeJSON(w, status, errorJSON{Error: le.code, ErrorDescription: desc, RequestID: requestID(r.Context())})
}

// apiOptions loads api.keys_file and the rate limits of the config; no file leaves the endpoint off.
func apiOptions(c config.API) (APIOptions, error) {
	if c.KeysFile == "" {
		return APIOptions{}, nil
	}
	keys, err := apikeys.Load(c.KeysFile)
	if err != nil {
		return APIOptions{}, fmt.Errorf("api.keys_file: %w", err)
	}
	return APIOptions{
		Keys:   keys,
		PerKey: RateLimit{Rate: c.RateLimit.PerKey, Burst: c.RateLimit.PerKeyBurst},
		PerIP:  RateLimit{Rate: c.RateLimit.PerIP, Burst: c.RateLimit.PerIPBurst},
	}, nil
}
