package bridge_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
)

// secretRecorder is the bridge's upstream transport in the log test: it writes down every token, code and
// verifier that crosses the wire, so that the test can look for each one in the logs.
type secretRecorder struct {
	mu      sync.Mutex
	secrets []string
}

func (s *secretRecorder) add(v ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range v {
		if len(x) >= 8 {
			s.secrets = append(s.secrets, x)
		}
	}
}

func (s *secretRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		if form, err := url.ParseQuery(string(b)); err == nil {
			s.add(form.Get("code"), form.Get("code_verifier"), form.Get("subject_token"), form.Get("client_secret"))
		}
	}
	if a := r.Header.Get("Authorization"); a != "" {
		_, cred, _ := strings.Cut(a, " ")
		s.add(cred)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var j map[string]any
	if json.Unmarshal(b, &j) == nil {
		for _, k := range []string{"access_token", "id_token", "refresh_token"} {
			if v, ok := j[k].(string); ok {
				s.add(v)
			}
		}
	}
	return resp, nil
}

// TestLogsCarryAuditAndNoSecrets runs successful and failed logins and API calls against one bridge whose
// JSON debug log is kept whole, then checks the audit lines and that no token, code, key or secret appears.
func TestLogsCarryAuditAndNoSecrets(t *testing.T) {
	e := newOpsEnv(t)
	rec := &secretRecorder{}
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	cfg := e.config(t, base, `  trusted_proxies: ["127.0.0.1"]`, "api: {keys_file: \""+e.keysFile+"\"}\n")
	srv, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{
		Logger:     bridge.NewLogger(e.logs, slog.LevelDebug, "json"),
		HTTPClient: &http.Client{Transport: rec},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	defer ts.Close()
	rec.add(opsIdPSecret, opsFuyunSecret, e.sessionKey, e.apiKey, e.apiKey[strings.Index(e.apiKey, ".")+1:])
	for _, line := range strings.Split(e.keyPEM, "\n") {
		if !strings.HasPrefix(line, "-----") {
			rec.add(line)
		}
	}

	// client is a browser behind a trusted proxy that forwards the client address and a request id.
	client := func(reqID string) *http.Client {
		c := browserClient(t)
		c.Transport = headerTransport{base: http.DefaultTransport, hdr: http.Header{
			"X-Request-Id": {reqID}, "X-Forwarded-For": {"198.51.100.23"},
		}}
		c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
			q := r.URL.Query()
			rec.add(q.Get("state"), q.Get("nonce"), q.Get("code"), q.Get("code_challenge"))
			return nil
		}
		return c
	}
	cookies := func(c *http.Client) {
		u, _ := url.Parse(base)
		for _, ck := range c.Jar.Cookies(u) {
			rec.add(ck.Value)
		}
	}

	// 1, 2: successful logins in both modes.
	for i, p := range []string{"idp", "idpo"} {
		c := client("req-login-000" + string(rune('1'+i)))
		resp, err := c.Get(base + "/login/" + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-Id") != "req-login-000"+string(rune('1'+i)) {
			t.Fatalf("login %s: %d, request id %q", p, resp.StatusCode, resp.Header.Get("X-Request-Id"))
		}
		cookies(c)
	}
	// 3: a callback whose code the IdP refuses: an error page that shows the request id.
	c := client("req-login-0003")
	c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		q := r.URL.Query()
		rec.add(q.Get("state"), q.Get("nonce"), q.Get("code"))
		if strings.HasPrefix(r.URL.Path, "/callback/") {
			q.Set("code", "refused-code-1234567890")
			r.URL.RawQuery = q.Encode()
		}
		return nil
	}
	resp, err := c.Get(base + "/login/idp")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(page), "req-login-0003") {
		t.Errorf("failed login answered %d; page shows the request id: %v", resp.StatusCode, strings.Contains(string(page), "req-login-0003"))
	}
	cookies(c)
	// 4, 5: the backend API, once with a good key and once with a bad one.
	subject := e.stub.IssueAccessToken()
	rec.add(subject)
	form := url.Values{"provider": {"idp"}, "subject_token": {subject}}.Encode()
	if a := apiCall(t, base, e.apiKey, formType, form); a.status != http.StatusOK {
		t.Fatalf("API: %d %v", a.status, a.body)
	} else {
		rec.add(a.body["access_token"].(string))
	}
	apiCall(t, base, e.apiKey+"x", formType, form)

	logs := e.logs.String()
	logins := logLines(t, logs, "login")
	if len(logins) != 3 {
		t.Fatalf("%d login audit lines for 3 callbacks:\n%s", len(logins), logs)
	}
	want := map[string]any{"request_id": "req-login-0001", "provider": "idp", "account": "alice", "mode": "jwt",
		"outcome": "success", "client_ip": "198.51.100.23", "level": "INFO"}
	for k, v := range want {
		if logins[0][k] != v {
			t.Errorf("audit %s = %v, want %v", k, logins[0][k], v)
		}
	}
	if s, _ := logins[0]["subject"].(string); s == "" {
		t.Errorf("audit has no subject: %v", logins[0])
	}
	if _, ok := logins[0]["latency"].(float64); !ok {
		t.Errorf("audit has no latency: %v", logins[0])
	}
	if logins[1]["mode"] != "oauth" || logins[1]["provider"] != "idpo" {
		t.Errorf("second audit line %v", logins[1])
	}
	if logins[2]["outcome"] != "failure" || logins[2]["error_code"] != "idp_token_failed" || logins[2]["request_id"] != "req-login-0003" {
		t.Errorf("failure audit line %v", logins[2])
	}
	if n := len(logLines(t, logs, "api_token")); n != 2 {
		t.Errorf("%d api_token audit lines, want 2", n)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.secrets) < 20 {
		t.Fatalf("only %d secrets recorded; the test is not looking", len(rec.secrets))
	}
	for _, s := range rec.secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs contain a secret (%d chars, starting %q)", len(s), s[:4])
		}
	}
}

// TestAccessLog: log.access adds one line per request with its outcome and the request id, and the path
// without its query (a callback's query carries the authorization code); off by default.
func TestAccessLog(t *testing.T) {
	for _, on := range []bool{false, true} {
		e := newOpsEnv(t)
		ts := httptest.NewUnstartedServer(nil)
		cfg := e.config(t, "http://"+ts.Listener.Addr().String(), "", "")
		cfg.Log.Access = on
		ts.Config.Handler = e.bridge(t, cfg)
		ts.Start()
		t.Cleanup(ts.Close)
		status, hdr, _ := getBody(t, http.DefaultClient, ts.URL+"/callback/idp?code=SECRET&state=STATE")
		lines := logLines(t, e.logs.String(), "http_request")
		if !on {
			if len(lines) != 0 {
				t.Errorf("access log off, yet %d access lines", len(lines))
			}
			continue
		}
		if len(lines) != 1 {
			t.Fatalf("%d access lines, want 1:\n%s", len(lines), e.logs.String())
		}
		l := lines[0]
		if l["method"] != "GET" || l["path"] != "/callback/idp" || l["status"] != float64(status) ||
			l["request_id"] != hdr.Get("X-Request-Id") || l["client_ip"] != "127.0.0.1" {
			t.Errorf("access line %v; want GET /callback/idp %d, request id %s, client 127.0.0.1", l, status, hdr.Get("X-Request-Id"))
		}
		if b, ok := l["bytes"].(float64); !ok || b <= 0 {
			t.Errorf("access line bytes %v, want the error page's size", l["bytes"])
		}
		if _, ok := l["duration"]; !ok {
			t.Error("access line has no duration")
		}
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(line, `"http_request"`) && (strings.Contains(line, "SECRET") || strings.Contains(line, "STATE") || strings.Contains(line, "?")) {
				t.Errorf("access line carries the query: %s", line)
			}
		}
	}
}
