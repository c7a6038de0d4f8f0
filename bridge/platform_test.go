package bridge_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/logtest"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platformtest"
	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// platform serves a SQLite platform with tenants acme and globex.
func platform(t *testing.T) (*platformtest.Rig, *platformtest.Bridge) {
	t.Helper()
	rig := platformtest.New(t)
	path := platformtest.SQLite(t)
	_, st := rig.Open(t, "sqlite", path)
	for _, id := range []string{"acme", "globex"} {
		if _, err := st.Create(context.Background(), rig.Record(t, rig.TenantYAML(id))); err != nil {
			t.Fatal(err)
		}
	}
	return rig, rig.Serve(t, "sqlite", path)
}

// clientOf is the Fuyun client an AC_TOKEN was issued to, and its agent.
func clientOf(t *testing.T, token string) (client, agent string) {
	t.Helper()
	c, err := (&fuyun.Token{AccessToken: token}).Claims()
	if err != nil {
		t.Fatalf("AC_TOKEN: %v", err)
	}
	return c.ClientID, c.UserName
}

func TestPlatformTenantsLogInWithTheirOwnFuyun(t *testing.T) {
	rig, br := platform(t)
	for _, id := range []string{"acme", "globex"} {
		res := platformtest.Login(t, rig.Public, id, "alice")
		if res.Status != http.StatusOK || res.ACToken == "" {
			t.Fatalf("%s: login ended %d at %s without AC_TOKEN: %.300s", id, res.Status, res.URL, res.Body)
		}
		if res.URL.Path != "/t/"+id+"/callback/dev" {
			t.Errorf("%s: callback at %s", id, res.URL.Path)
		}
		if client, agent := clientOf(t, res.ACToken); client != "crm-"+id || agent != "alice" {
			t.Errorf("%s: AC_TOKEN for client %q agent %q, want crm-%s alice", id, client, agent, id)
		}
	}
	rec := httptest.NewRecorder()
	br.Platform.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`fuyun_bridge_tenant_logins_total{outcome="success",tenant="acme"} 1`,
		`fuyun_bridge_tenant_logins_total{outcome="success",tenant="globex"} 1`,
		`fuyun_bridge_tenants 2`, `fuyun_bridge_store_lag_seconds 0`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// startLogin begins a login at base+path in b and returns the IdP's redirect back to the bridge (the
// callback URL with code and state), without following it.
func startLogin(t *testing.T, b *platformtest.Browser, u string) *url.URL {
	t.Helper()
	c := *b.Client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.Contains(req.URL.Path, "/callback/") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("login at %s did not come back with a callback (%d)", u, resp.StatusCode)
	}
	return loc
}

func TestPlatformStateOfOneTenantNeverCompletesAtAnother(t *testing.T) {
	rig, _ := platform(t)
	b := platformtest.NewBrowser()
	cb := startLogin(t, b, rig.Public+"/t/acme/login/dev?login_hint=alice")
	// The same browser, the same state cookie, the same provider id: only the tenant differs.
	cb.Path = "/t/globex/callback/dev"
	res := b.Get(t, cb.String())
	if res.ACToken != "" || res.Status != http.StatusBadRequest || !strings.Contains(res.Body, "state_mismatch") {
		t.Fatalf("acme's state at globex: %d, AC_TOKEN %q: %.300s", res.Status, res.ACToken, res.Body)
	}
}

func TestPlatformCodeOfOneTenantRefusedAtAnotherOnTheSameIssuer(t *testing.T) {
	rig, _ := platform(t)
	// Both tenants use the same IdP issuer with their own client. acme's code, replayed with a state that
	// globex issued, is redeemed by globex with globex's client: the IdP refuses it.
	acme := startLogin(t, platformtest.NewBrowser(), rig.Public+"/t/acme/login/dev?login_hint=alice")
	b := platformtest.NewBrowser()
	globex := startLogin(t, b, rig.Public+"/t/globex/login/dev?login_hint=bob")
	q := globex.Query()
	q.Set("code", acme.Query().Get("code"))
	globex.RawQuery = q.Encode()
	res := b.Get(t, globex.String())
	if res.ACToken != "" || res.Status == http.StatusOK {
		t.Fatalf("acme's code at globex: %d, AC_TOKEN %q: %.300s", res.Status, res.ACToken, res.Body)
	}
}

func TestPlatformReturnToOfOneTenantRefusedAtAnother(t *testing.T) {
	rig, _ := platform(t)
	ok := platformtest.NewBrowser().Get(t, rig.Public+"/t/acme/?return_to="+url.QueryEscape("https://crm.acme.example/home"))
	if ok.Status != http.StatusOK {
		t.Fatalf("acme's own return_to: %d", ok.Status)
	}
	bad := platformtest.NewBrowser().Get(t, rig.Public+"/t/globex/login/dev?return_to="+url.QueryEscape("https://crm.acme.example/home"))
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "invalid_return_to") {
		t.Fatalf("acme's return_to at globex: %d: %.300s", bad.Status, bad.Body)
	}
}

func TestPlatformUnknownTenant(t *testing.T) {
	rig, _ := platform(t)
	res := platformtest.NewBrowser().Get(t, rig.Public+"/t/nobody/login/dev")
	if res.Status != http.StatusNotFound || !strings.Contains(res.Body, "tenant_not_found") {
		t.Fatalf("unknown tenant: %d: %.300s", res.Status, res.Body)
	}
}

func TestPlatformDeletedTenantsLoginsFail(t *testing.T) {
	rig, br := platform(t)
	b := platformtest.NewBrowser()
	cb := startLogin(t, b, rig.Public+"/t/acme/login/dev?login_hint=alice")
	cur, err := br.Store.Get(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := br.Store.Delete(context.Background(), "acme", cur.Version); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 2e9, func() error {
		if br.Platform.Tenants() != 1 {
			return errString("the deletion has not arrived")
		}
		return nil
	})
	res := b.Get(t, cb.String())
	if res.ACToken != "" || res.Status != http.StatusNotFound || !strings.Contains(res.Body, "tenant_not_found") {
		t.Fatalf("callback of a deleted tenant: %d, AC_TOKEN %q: %.300s", res.Status, res.ACToken, res.Body)
	}
}

func TestPlatformChangeDuringLogin(t *testing.T) {
	rig, br := platform(t)
	update := func(edit func(string) string) {
		t.Helper()
		cur, err := br.Store.Get(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		next := rig.Record(t, edit(rig.TenantYAML("acme")))
		if _, err := br.Store.Update(context.Background(), next, cur.Version); err != nil {
			t.Fatal(err)
		}
		platformtest.Eventually(t, 2e9, func() error {
			if v := br.Platform.TenantVersion("acme"); v != cur.Version+1 {
				return errString("version not applied")
			}
			return nil
		})
	}
	// A change the login does not depend on: it finishes.
	b := platformtest.NewBrowser()
	cb := startLogin(t, b, rig.Public+"/t/acme/login/dev?login_hint=alice")
	update(func(doc string) string {
		return strings.Replace(doc, "display_name: Acme Corp", "display_name: Acme Inc", 1)
	})
	if res := b.Get(t, cb.String()); res.ACToken == "" {
		t.Fatalf("a display-name change failed the login in flight: %d: %.300s", res.Status, res.Body)
	}
	// A change of the provider it started with: it fails with tenant_changed and no token.
	b = platformtest.NewBrowser()
	cb = startLogin(t, b, rig.Public+"/t/acme/login/dev?login_hint=alice")
	update(func(doc string) string {
		return strings.Replace(doc, "mapping: {field: preferred_username", "mapping: {field: email, transform: strip_domain, allowed_domains: [example.com]", 1)
	})
	res := b.Get(t, cb.String())
	if res.ACToken != "" || res.Status != http.StatusConflict || !strings.Contains(res.Body, "tenant_changed") {
		t.Fatalf("a provider change during the login: %d, AC_TOKEN %q: %.300s", res.Status, res.ACToken, res.Body)
	}
}

func TestPlatformDiscovery(t *testing.T) {
	rig, _ := platform(t)
	req, _ := http.NewRequest(http.MethodGet, rig.Public+"/discover?email=Alice@ACME.example", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Tenant   string `json:"tenant"`
		LoginURL string `json:"login_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != 200 {
		t.Fatalf("discover: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if d.Tenant != "acme" || !strings.HasPrefix(d.LoginURL, rig.Public+"/t/acme/login/dev?") || !strings.Contains(d.LoginURL, "login_hint=Alice%40ACME.example") {
		t.Fatalf("discover: %+v", d)
	}
	// The browser's email box: a page naming the company that moves on at once to its login (a refresh:
	// the box is a form, and form-action 'self' would stop a redirect chain to the IdP; the Chromium test
	// follows it to the IdP), login_hint carried.
	res := platformtest.NewBrowser().Get(t, rig.Public+"/discover?email=bob@globex.example")
	want := `content="0;url=` + rig.Public + `/t/globex/login/dev?login_hint=bob%40globex.example"`
	if res.Status != http.StatusOK || !strings.Contains(res.Body, want) || !strings.Contains(res.Body, "Globex Corp") {
		t.Fatalf("discovery page %d: %.600s", res.Status, res.Body)
	}
	// Unknown domains all get the same answer, naming none that exists.
	var bodies []string
	for _, email := range []string{"x@nowhere.example", "y@acme.example.org"} {
		req, _ := http.NewRequest(http.MethodGet, rig.Public+"/discover?email="+url.QueryEscape(email), nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error string `json:"error"`
			Desc  string `json:"error_description"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || e.Error != "unknown_domain" {
			t.Fatalf("%s: %d %+v", email, resp.StatusCode, e)
		}
		bodies = append(bodies, e.Desc)
	}
	if bodies[0] != bodies[1] || strings.Contains(bodies[0], "acme") || strings.Contains(bodies[0], "globex") {
		t.Errorf("unknown-domain answers differ or name a tenant: %q", bodies)
	}
	for _, bad := range []string{"", "no-at-sign", "a@b@", strings.Repeat("a", 300) + "@acme.example", "x@acme.example/../"} {
		res := platformtest.NewBrowser().Get(t, rig.Public+"/discover?email="+url.QueryEscape(bad))
		if res.Status != http.StatusBadRequest {
			t.Errorf("email %q: %d, want 400", bad, res.Status)
		}
	}
}

func TestPlatformRootPageOffersTheEmailBox(t *testing.T) {
	rig, _ := platform(t)
	resp, err := http.Get(rig.Public + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `action="/discover"`) || !strings.Contains(string(body), `name="email"`) {
		t.Fatalf("root page: %d: %.500s", resp.StatusCode, body)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

var popupResult = regexp.MustCompile(`<script type="application/json" id="fuyun-bridge-result">(.*?)</script>`)

// TestPlatformHandoffOfOneTenantRefusedAtAnother: a popup login at acme seals a handoff for acme's iframe;
// presented at globex's handoff endpoint (same provider id, the right nonce) it is refused.
func TestPlatformHandoffOfOneTenantRefusedAtAnother(t *testing.T) {
	rig, _ := platform(t)
	nonce := strings.Repeat("n", 43)
	sum := sha256.Sum256([]byte(nonce))
	res := platformtest.NewBrowser().Get(t, rig.Public+"/t/acme/login/dev?login_hint=alice&mode=popup&handoff_nonce="+base64.RawURLEncoding.EncodeToString(sum[:]))
	m := popupResult.FindStringSubmatch(res.Body)
	if m == nil {
		t.Fatalf("no popup result (%d): %.300s", res.Status, res.Body)
	}
	var msg templates.PopupMessage
	if err := json.Unmarshal([]byte(m[1]), &msg); err != nil || msg.Handoff == "" {
		t.Fatalf("popup result %q: %v", m[1], err)
	}
	redeem := func(tenant string) (int, string) {
		body, _ := json.Marshal(map[string]string{"handoff": msg.Handoff, "nonce": nonce, "provider": "dev"})
		req, _ := http.NewRequest(http.MethodPost, rig.Public+"/t/"+tenant+"/embed/handoff", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == "AC_TOKEN" && c.Value != "" {
				return resp.StatusCode, "AC_TOKEN set: " + string(b)
			}
		}
		return resp.StatusCode, string(b)
	}
	if status, body := redeem("globex"); status != http.StatusBadRequest || !strings.Contains(body, "handoff_invalid") {
		t.Fatalf("acme's handoff at globex: %d %s", status, body)
	}
	if status, body := redeem("acme"); status != http.StatusOK || !strings.Contains(body, "AC_TOKEN set") {
		t.Fatalf("acme's handoff at acme: %d %s", status, body)
	}
}

// TestPlatformTenantHosts: a tenant that lists hosts is served at their root paths, its redirect URIs are
// on its first host, and its /t/{id}/ paths send browsers there.
func TestPlatformTenantHosts(t *testing.T) {
	rig := platformtest.New(t)
	path := platformtest.SQLite(t)
	_, st := rig.Open(t, "sqlite", path)
	doc := strings.Replace(rig.TenantYAML("acme"), "domains: [acme.example]", "domains: [acme.example]\nhosts: [sso.acme.example]", 1)
	if _, err := st.Create(context.Background(), rig.Record(t, doc)); err != nil {
		t.Fatal(err)
	}
	rig.Serve(t, "sqlite", path)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(host, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, rig.Public+path, nil)
		req.Host = host
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	if resp, body := get("sso.acme.example", "/"); resp.StatusCode != 200 || !strings.Contains(body, "acme IdP") {
		t.Fatalf("tenant host's root: %d %.300s", resp.StatusCode, body)
	}
	resp, _ := get("sso.acme.example", "/login/dev?login_hint=alice")
	idp, err := resp.Location()
	if err != nil || idp.Query().Get("redirect_uri") != "http://sso.acme.example/callback/dev" {
		t.Fatalf("login on the tenant host: %d, to %v (%v)", resp.StatusCode, idp, err)
	}
	resp, _ = get(strings.TrimPrefix(rig.Public, "http://"), "/t/acme/login/dev?login_hint=alice")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "http://sso.acme.example/login/dev?login_hint=alice" {
		t.Fatalf("/t/acme/ of a tenant with hosts: %d to %q", resp.StatusCode, loc)
	}
	// Any other host is the root's.
	if resp, body := get("other.example", "/"); resp.StatusCode != 200 || strings.Contains(body, "acme IdP") {
		t.Fatalf("another host: %d %.300s", resp.StatusCode, body)
	}
}

// TestPlatformAPILimitsHoldAcrossTenants: the backend API's per-IP limit counts a client's requests to every
// tenant together, so that spreading them over tenants buys no extra attempts.
func TestPlatformAPILimitsHoldAcrossTenants(t *testing.T) {
	rig := platformtest.New(t)
	keys := filepath.Join(t.TempDir(), "api_keys")
	if err := os.WriteFile(keys, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	rig.Extra = fmt.Sprintf("api: {keys_file: %q, rate_limit: {per_ip: 0.01, per_ip_burst: 2}}\n", keys)
	path := platformtest.SQLite(t)
	_, st := rig.Open(t, "sqlite", path)
	for _, id := range []string{"acme", "globex"} {
		if _, err := st.Create(context.Background(), rig.Record(t, rig.TenantYAML(id))); err != nil {
			t.Fatal(err)
		}
	}
	rig.Serve(t, "sqlite", path)
	var statuses []int
	for _, id := range []string{"acme", "globex", "acme", "globex"} {
		resp, err := http.Post(rig.Public+"/t/"+id+"/api/v1/token", "application/x-www-form-urlencoded",
			strings.NewReader("provider=dev&subject_token=x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	if want := []int{401, 401, 429, 429}; fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v (a burst of 2 per client IP across tenants)", statuses, want)
	}
}

// TestPlatformTenantEmailBoxPicksTheProvider: a tenant with several providers offers the email box on its own
// page; the address's domain picks the provider whose allowed_domains list it, else the only open one, else
// the sign-in page; the root's discovery applies the same choice.
func TestPlatformTenantEmailBoxPicksTheProvider(t *testing.T) {
	rig := platformtest.New(t)
	path := platformtest.SQLite(t)
	_, st := rig.Open(t, "sqlite", path)
	second := fmt.Sprintf(`  - id: subsidiary
    type: oidc
    issuer: %q
    client_id: idp-acme
    client_secret: idp-secret-acme
    mapping: {field: email, allowed_domains: [subsidiary.example]}
`, rig.IdPURL)
	doc := strings.Replace(rig.TenantYAML("acme"), "domains: [acme.example]", "domains: [acme.example, subsidiary.example]", 1) + second
	if _, err := st.Create(context.Background(), rig.Record(t, doc)); err != nil {
		t.Fatal(err)
	}
	rig.Serve(t, "sqlite", path)
	if page := platformtest.NewBrowser().Get(t, rig.Public+"/t/acme/"); !strings.Contains(page.Body, `action="/t/acme/discover"`) {
		t.Fatalf("the tenant's page has no email box: %.400s", page.Body)
	}
	loginOf := func(u string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d struct {
			LoginURL string `json:"login_url"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", u, resp.StatusCode, err)
		}
		return strings.TrimPrefix(d.LoginURL, rig.Public)
	}
	for email, want := range map[string]string{
		"kim@subsidiary.example": "/t/acme/login/subsidiary?",
		"alice@acme.example":     "/t/acme/login/dev?",
	} {
		for _, base := range []string{"/t/acme/discover", "/discover"} {
			if got := loginOf(rig.Public + base + "?email=" + url.QueryEscape(email)); !strings.HasPrefix(got, want) {
				t.Errorf("%s at %s: login at %s, want %s…", email, base, got, want)
			}
		}
	}
}

// TestPlatformLogsNameTheTenant: a tenant's login audit line says which tenant it was.
func TestPlatformLogsNameTheTenant(t *testing.T) {
	rig := platformtest.New(t)
	logs := &logtest.Buffer{}
	rig.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	path := platformtest.SQLite(t)
	_, st := rig.Open(t, "sqlite", path)
	if _, err := st.Create(context.Background(), rig.Record(t, rig.TenantYAML("acme"))); err != nil {
		t.Fatal(err)
	}
	rig.Serve(t, "sqlite", path)
	if res := platformtest.Login(t, rig.Public, "acme", "alice"); res.ACToken == "" {
		t.Fatalf("login: %d", res.Status)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"login"`) {
			if !strings.Contains(line, `"tenant":"acme"`) {
				t.Fatalf("the login line does not name the tenant: %s", line)
			}
			return
		}
	}
	t.Fatalf("no login line:\n%s", logs.String())
}

// TestPlatformDiscoveryIsRateLimited: the root's /discover answers a burst, then 429 rate_limited with
// Retry-After, so that which domains are customers cannot be scanned at will.
func TestPlatformDiscoveryIsRateLimited(t *testing.T) {
	rig, _ := platform(t)
	ask := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, rig.Public+"/discover?email=x@nowhere.example", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range bridge.DiscoverRateLimit.Burst {
		if resp := ask(); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("discovery %d of the burst: %d", i+1, resp.StatusCode)
		}
	}
	if resp := ask(); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after the burst: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The tenants' pages stay reachable: only discovery is limited.
	if res := platformtest.NewBrowser().Get(t, rig.Public+"/t/acme/"); res.Status != http.StatusOK {
		t.Fatalf("a tenant's page after the limit: %d", res.Status)
	}
}
