package bridge_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/logtest"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// Secrets of the ops environment; the log test looks for each of them in everything the bridge logged.
const (
	opsIdPSecret   = "idp-secret-never-logged"
	opsFuyunSecret = "fuyun-secret-never-logged"
)

// opsEnv is a whole deployment on loopback: a stub OIDC IdP, the Fuyun emulator (behind an optional hook,
// e.g. to make it slow), an API keys file, and a JSON debug logger every bridge built here writes to.
type opsEnv struct {
	stub       *idpstub.Stub
	sim        *fuyunsim.Server
	fuyunURL   string
	keyPEM     string
	sessionKey string
	apiKey     string
	keysFile   string
	logs       *logtest.Buffer

	hookMu    sync.Mutex
	fuyunHook func(r *http.Request) // runs before the emulator answers

	skew atomic.Int64 // nanoseconds added to the bridges' clock (advance)
}

// clock is the bridges' clock: real time plus what advance added.
func (e *opsEnv) clock() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }

// advance moves the bridges' clock forward.
func (e *opsEnv) advance(d time.Duration) { e.skew.Add(int64(d)) }

func newOpsEnv(t *testing.T) *opsEnv {
	t.Helper()
	e := &opsEnv{logs: &logtest.Buffer{}}
	e.stub = idpstub.New(t, idpstub.Options{ClientID: "bridge-client", ClientSecret: opsIdPSecret})
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, err := fuyun.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	e.keyPEM = string(pem)
	e.sim, err = fuyunsim.New(fuyunsim.Config{
		Issuer: "http://fuyun.test",
		Clients: []fuyunsim.Client{{
			ClientID: "crm", ClientSecret: opsFuyunSecret, Scopes: []string{"user_management", "hotline"},
			JWT:   &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey},
			OAuth: &fuyunsim.OAuthClient{AppName: "crmapp", UserEndpoint: e.stub.URL + "/userinfo", MappingField: "email"},
		}},
		Agents: []fuyunsim.Agent{{AccountName: "alice", Email: "alice@example.com"}},
	}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simTS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hookMu.Lock()
		hook := e.fuyunHook
		e.hookMu.Unlock()
		if hook != nil {
			hook(r)
		}
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(simTS.Close)
	e.fuyunURL = simTS.URL + fuyunsim.TokenPath
	e.sessionKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("s"), 32))
	var line string
	e.apiKey, line, err = apikeys.Generate("crm-backend")
	if err != nil {
		t.Fatal(err)
	}
	e.keysFile = filepath.Join(t.TempDir(), "api_keys")
	if err := os.WriteFile(e.keysFile, []byte("# test key\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *opsEnv) setFuyunHook(h func(*http.Request)) {
	e.hookMu.Lock()
	e.fuyunHook = h
	e.hookMu.Unlock()
}

// config is the YAML of a bridge at public: provider "idp" exchanges in jwt mode, "idpo" in oauth mode.
// extra is appended at the top level (it may add api: or server: keys only if the base lacks them).
func (e *opsEnv) config(t *testing.T, public, serverExtra, extra string) *config.Config {
	t.Helper()
	doc := fmt.Sprintf(`
server:
  public_url: %q
%s
session: {keys: [%q]}
cookie: {secure: %v}
fuyun:
  token_url: %q
  client_id: crm
  client_secret: %s
  redirect_url: https://crm.example.com/callback
  app_name: crmapp
  jwt: {issuer: "https://crm.example.com", private_key: "${KEY}"}
providers:
  - id: idp
    type: oidc
    issuer: %q
    client_id: bridge-client
    client_secret: %s
    fuyun_mode: jwt
    userinfo: always
    mapping: {field: email, transform: strip_domain, allowed_domains: [example.com]}
  - id: idpo
    type: oidc
    issuer: %q
    client_id: bridge-client
    client_secret: %s
    fuyun_mode: oauth
    userinfo: always
    mapping: {field: email, transform: strip_domain, allowed_domains: [example.com]}
log: {level: debug}
%s`, public, serverExtra, e.sessionKey+":"+e.sessionKey, strings.HasPrefix(public, "https:"), e.fuyunURL, opsFuyunSecret, e.stub.URL, opsIdPSecret,
		e.stub.URL, opsIdPSecret, extra)
	cfg, err := config.Parse([]byte(doc), config.ParseOptions{LookupEnv: func(string) (string, bool) { return e.keyPEM, true }})
	if err != nil {
		t.Fatalf("config:\n%v\n%s", err, doc)
	}
	return cfg
}

// bridge builds a bridge from cfg that logs (JSON, debug) into e.logs.
func (e *opsEnv) bridge(t *testing.T, cfg *config.Config) *bridge.Server {
	t.Helper()
	srv, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{Logger: bridge.NewLogger(e.logs, slog.LevelDebug, "json"), Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// serve starts a bridge on a loopback listener whose address is its public URL; extra is top-level YAML.
func (e *opsEnv) serve(t *testing.T, serverExtra, extra string) (*bridge.Server, *httptest.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	srv := e.bridge(t, e.config(t, "http://"+ts.Listener.Addr().String(), serverExtra, extra))
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return srv, ts
}

// browserClient follows redirects and keeps cookies, like a browser.
func browserClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// loginVia runs a whole login at base (the bridge or a proxy in front of it) and returns the final
// response's status, body and the AC_TOKEN the jar received.
func loginVia(t *testing.T, c *http.Client, base, provider string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(base + "/login/" + provider)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	u, _ := url.Parse(base)
	var token string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "AC_TOKEN" {
			token = ck.Value
		}
	}
	return resp.StatusCode, string(body), token
}

// logLines are the JSON log records whose msg is msg.
func logLines(t *testing.T, logs, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		rec, err := decodeJSONLine(line)
		if err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func decodeJSONLine(line string) (map[string]any, error) {
	var rec map[string]any
	err := json.Unmarshal([]byte(line), &rec)
	return rec, err
}

// headerTransport adds fixed headers to every request, as a load balancer in front of the bridge would.
type headerTransport struct {
	base http.RoundTripper
	hdr  http.Header
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.hdr {
		r.Header[k] = v
	}
	return h.base.RoundTrip(r)
}

// metricValue returns the value of the sample line that starts with series (name{labels} in the exposition
// format, labels sorted by name), or -1 when there is none.
func metricValue(t *testing.T, exposition, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return v
		}
	}
	return -1
}

func getBody(t *testing.T, c *http.Client, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// logs2Logger is a logger into e.logs, for http.Server's own error log.
func (e *opsEnv) logs2Logger() *slog.Logger { return bridge.NewLogger(e.logs, slog.LevelDebug, "json") }
