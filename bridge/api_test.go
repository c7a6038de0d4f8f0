package bridge_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

type apiAnswer struct {
	status int
	hdr    http.Header
	body   map[string]any
}

func apiCall(t *testing.T, base, key, ctype, body string, mod ...func(*http.Request)) apiAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/token", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for _, m := range mod {
		m(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := apiAnswer{status: resp.StatusCode, hdr: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

const formType = "application/x-www-form-urlencoded"

func TestAPITokenExchange(t *testing.T) {
	e := newOpsEnv(t)
	_, ts := e.serve(t, "", fmt.Sprintf("api: {keys_file: %q}\n", e.keysFile))
	form := func(provider, token string) string {
		return url.Values{"provider": {provider}, "subject_token": {token}}.Encode()
	}
	tests := []struct {
		name     string
		key      string
		ctype    string
		body     func() string
		mod      func(*http.Request)
		status   int
		code     string // "" for success
		provider string
	}{
		{name: "jwt mode, form", key: e.apiKey, ctype: formType, body: func() string { return form("idp", e.stub.IssueAccessToken()) },
			status: 200, provider: "idp"},
		{name: "oauth mode, JSON", key: e.apiKey, ctype: "application/json; charset=utf-8",
			body:   func() string { return fmt.Sprintf(`{"provider":"idpo","subject_token":%q}`, e.stub.IssueAccessToken()) },
			status: 200, provider: "idpo"},
		{name: "no key", ctype: formType, body: func() string { return form("idp", "x") }, status: 401, code: "invalid_api_key"},
		{name: "wrong key", key: e.apiKey[:len(e.apiKey)-2] + "xx", ctype: formType, body: func() string { return form("idp", "x") },
			status: 401, code: "invalid_api_key"},
		{name: "basic auth", ctype: formType, body: func() string { return form("idp", "x") },
			mod: func(r *http.Request) { r.SetBasicAuth("crm-backend", e.apiKey) }, status: 401, code: "invalid_api_key"},
		{name: "unknown provider", key: e.apiKey, ctype: formType, body: func() string { return form("nosuch", "x") },
			status: 404, code: "unknown_provider"},
		{name: "token refused by the IdP", key: e.apiKey, ctype: formType, body: func() string { return form("idp", "not-a-live-token") },
			status: 401, code: "invalid_token"},
		{name: "no subject_token", key: e.apiKey, ctype: formType, body: func() string { return form("idp", "") },
			status: 400, code: "invalid_request"},
		{name: "subject_token in the URL", key: e.apiKey, ctype: formType, body: func() string { return form("idp", "x") },
			mod: func(r *http.Request) { r.URL.RawQuery = "subject_token=x" }, status: 400, code: "invalid_request"},
		{name: "wrong content type", key: e.apiKey, ctype: "text/plain", body: func() string { return "provider=idp" },
			status: 400, code: "invalid_request"},
		{name: "malformed JSON", key: e.apiKey, ctype: "application/json", body: func() string { return `{"provider":` },
			status: 400, code: "invalid_request"},
		{name: "body too large", key: e.apiKey, ctype: formType,
			body: func() string { return form("idp", strings.Repeat("a", 70<<10)) }, status: 400, code: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*http.Request)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			a := apiCall(t, ts.URL, tc.key, tc.ctype, tc.body(), mods...)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %v", a.status, tc.status, a.body)
			}
			if a.hdr.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", a.hdr.Get("Cache-Control"))
			}
			if tc.code != "" {
				if a.body["error"] != tc.code || a.body["request_id"] != a.hdr.Get("X-Request-Id") || a.body["error_description"] == "" {
					t.Errorf("error body %v, want error %q and the request id", a.body, tc.code)
				}
				if tc.code == "invalid_api_key" && !strings.HasPrefix(a.hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", a.hdr.Get("WWW-Authenticate"))
				}
				return
			}
			tok, _ := a.body["access_token"].(string)
			claims, err := e.sim.VerifyAccessToken(tok)
			if err != nil {
				t.Fatalf("access_token not accepted by the emulator: %v", err)
			}
			if claims.UserName != "alice" || a.body["user_name"] != "alice" || a.body["provider"] != tc.provider {
				t.Errorf("answer %v (token for %q), want alice via %s", a.body, claims.UserName, tc.provider)
			}
		})
	}
	audits := logLines(t, e.logs.String(), "api_token")
	if len(audits) != len(tests) {
		t.Fatalf("%d api_token audit lines for %d requests", len(audits), len(tests))
	}
	first := audits[0]
	for k, want := range map[string]any{"key_id": "crm-backend", "provider": "idp", "mode": "jwt", "account": "alice",
		"outcome": "success", "client_ip": "127.0.0.1"} {
		if first[k] != want {
			t.Errorf("audit %s = %v, want %v (%v)", k, first[k], want, first)
		}
	}
	if first["subject"] == nil || first["latency"] == nil {
		t.Errorf("audit lacks subject or latency: %v", first)
	}
	if audits[2]["key_id"] != "" || audits[2]["error_code"] != "invalid_api_key" {
		t.Errorf("audit of a keyless request: %v", audits[2])
	}
}

func TestAPIRateLimits(t *testing.T) {
	tests := []struct {
		name    string
		limits  string
		key     func(e *opsEnv) string
		allowed int
		limit   string
	}{
		{"per key", "{per_key: 1, per_key_burst: 2, per_ip: 100}", func(e *opsEnv) string { return e.apiKey }, 2, "key"},
		// Counted before authentication, so that guessing keys is slow too.
		{"per IP, bad keys", "{per_ip: 1, per_ip_burst: 3}", func(*opsEnv) string { return "fbk_guess.xxxx" }, 3, "ip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newOpsEnv(t)
			srv, ts := e.serve(t, "", fmt.Sprintf("api: {keys_file: %q, rate_limit: %s}\n", e.keysFile, tc.limits))
			body := url.Values{"provider": {"nosuch"}, "subject_token": {"x"}}.Encode()
			for i := 0; i < tc.allowed; i++ {
				if a := apiCall(t, ts.URL, tc.key(e), formType, body); a.status == http.StatusTooManyRequests {
					t.Fatalf("request %d limited already", i+1)
				}
			}
			a := apiCall(t, ts.URL, tc.key(e), formType, body)
			if a.status != http.StatusTooManyRequests || a.body["error"] != "rate_limited" {
				t.Fatalf("request %d: %d %v, want 429 rate_limited", tc.allowed+1, a.status, a.body)
			}
			if ra, err := strconv.Atoi(a.hdr.Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
				t.Errorf("Retry-After %q", a.hdr.Get("Retry-After"))
			}
			rec := httptest.NewRecorder()
			srv.OpsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			metrics := rec.Body.String()
			if v := metricValue(t, metrics, `fuyun_bridge_api_rate_limited_total{limit="`+tc.limit+`"}`); v != 1 {
				t.Errorf("rate-limited metric = %v, want 1", v)
			}
			if n := len(logLines(t, e.logs.String(), "api_token")); n != tc.allowed {
				t.Errorf("%d audit lines, want %d (none for the limited request)", n, tc.allowed)
			}
		})
	}
}

func TestAPIOffWithoutKeysFile(t *testing.T) {
	e := newOpsEnv(t)
	_, ts := e.serve(t, "", "")
	if a := apiCall(t, ts.URL, e.apiKey, formType, "provider=idp&subject_token=x", func(r *http.Request) {
		r.Header.Set("Accept", "application/json")
	}); a.status != http.StatusNotFound {
		t.Errorf("status %d, want 404", a.status)
	}
}
