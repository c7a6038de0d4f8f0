package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/redirects"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// fakeProvider stands in for an IdP so that these tests exercise the bridge's own checks. It remembers the
// nonce and verifier it was given per state and refuses a callback that does not bring them back.
type fakeProvider struct {
	id     string
	claims map[string]any
	err    error // returned by Callback when set

	mu       sync.Mutex
	byState  map[string]providers.AuthRequest
	callback []providers.CallbackRequest
}

func (f *fakeProvider) ID() string          { return f.id }
func (f *fakeProvider) Type() string        { return "oidc" }
func (f *fakeProvider) DisplayName() string { return "Fake " + f.id }
func (f *fakeProvider) Ready(context.Context) error {
	return nil
}

func (f *fakeProvider) AuthCodeURL(_ context.Context, a providers.AuthRequest) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byState == nil {
		f.byState = map[string]providers.AuthRequest{}
	}
	f.byState[a.State] = a
	v := url.Values{"state": {a.State}, "nonce": {a.Nonce}, "login_hint": {a.LoginHint}}
	return "https://idp.example.test/authorize?" + v.Encode(), nil
}

func (f *fakeProvider) Callback(_ context.Context, c providers.CallbackRequest) (*providers.Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callback = append(f.callback, c)
	code, err := providers.AuthorizationResponse(c.Query, "code")
	if err != nil {
		return nil, err
	}
	for _, a := range f.byState {
		if a.Nonce == c.Nonce && a.CodeVerifier == c.CodeVerifier {
			if f.err != nil {
				return nil, f.err
			}
			if code != "good-code" {
				return nil, providers.Errorf(providers.CodeTokenFailed, "code refused")
			}
			return &providers.Identity{Provider: f.id, Subject: "sub-1", Claims: f.claims, AccessToken: "idp-access-token"}, nil
		}
	}
	return nil, errors.New("fake provider: callback did not carry a nonce/verifier pair that AuthCodeURL issued")
}

func (f *fakeProvider) UserInfo(context.Context, string) (*providers.Identity, error) {
	return nil, errors.New("not used")
}

type env struct {
	srv      *Server
	ts       *httptest.Server
	provider *fakeProvider
	sim      *fuyunsim.Server
	now      time.Time
	nowMu    sync.Mutex
}

func (e *env) clock() time.Time {
	e.nowMu.Lock()
	defer e.nowMu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.nowMu.Lock()
	e.now = e.now.Add(d)
	e.nowMu.Unlock()
}

type envOption func(*Options)

func newEnv(t *testing.T, mods ...envOption) *env {
	t.Helper()
	e := &env{now: time.Now()}
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sim, err := fuyunsim.New(fuyunsim.Config{
		Issuer: "http://fuyun.test",
		Clients: []fuyunsim.Client{{
			ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
			JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey},
		}},
		Agents: []fuyunsim.Agent{{AccountName: "alice", Email: "alice@corp.example.com"}},
	}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.sim = sim
	simTS := httptest.NewServer(sim)
	t.Cleanup(simTS.Close)
	signer, err := fuyun.NewSigner(key, "https://crm.example.com", 5*time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := fuyun.NewClient(fuyun.Config{
		TokenURL: simTS.URL + fuyunsim.TokenPath, ClientID: "crm", ClientSecret: "s3cret",
		Scope: "user_management,hotline", RedirectURL: "https://bridge.example.com/callback", Signer: signer,
		AppName: "crmapp", MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.provider = &fakeProvider{id: "corp", claims: map[string]any{"sub": "sub-1", "email": "alice@corp.example.com", "email_verified": true}}
	mapper, err := mapping.New(mapping.Config{Field: "email", Transform: "strip_domain", AllowedDomains: []string{"corp.example.com"}}, mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewUnstartedServer(nil)
	public, _ := url.Parse("http://" + e.ts.Listener.Addr().String())
	allow, err := redirects.New([]string{"https://crm.example.com"}, public)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		PublicURL:   public,
		Routes:      []Route{{Provider: e.provider, Mapper: mapper, Mode: fuyun.ModeJWT}},
		Fuyun:       fc,
		SessionKeys: [][]byte{[]byte(strings.Repeat("h", 32)), []byte(strings.Repeat("b", 32))},
		Cookie:      CookieOptions{Name: "AC_TOKEN", SameSite: http.SameSiteLaxMode, MaxAge: 12 * time.Hour},
		Redirects:   allow,
		Templates:   tpl,
		Now:         e.clock,
	}
	for _, m := range mods {
		m(&opts)
	}
	e.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.ts.Config.Handler = e.srv
	e.ts.Start()
	t.Cleanup(e.ts.Close)
	return e
}

// browser is an HTTP client with a cookie jar that does not follow redirects, so each hop can be checked.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startLogin runs GET /login/corp and returns the state the bridge put in the IdP URL.
func (e *env) startLogin(t *testing.T, c *http.Client, query string) string {
	t.Helper()
	resp, err := c.Get(e.ts.URL + "/login/corp" + query)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != "idp.example.test" {
		t.Fatalf("login redirected to %q, want the IdP", resp.Header.Get("Location"))
	}
	return loc.Query().Get("state")
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (e *env) get(t *testing.T, c *http.Client, path string, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func acToken(h http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "AC_TOKEN" {
			return c
		}
	}
	return nil
}

func callbackPath(state, code string) string {
	return "/callback/corp?" + url.Values{"state": {state}, "code": {code}}.Encode()
}

func TestLoginSuccessSetsACTokenTheEmulatorAccepts(t *testing.T) {
	e := newEnv(t)
	c := browser(t)
	state := e.startLogin(t, c, "?return_to="+url.QueryEscape("https://crm.example.com/desk?tab=1"))
	if len(state) != 43 {
		t.Fatalf("state %q: want 256 bits base64url", state)
	}
	a := e.get(t, c, callbackPath(state, "good-code"))
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "https://crm.example.com/desk?tab=1" {
		t.Fatalf("callback: %d to %q, want 303 to return_to", a.status, a.header.Get("Location"))
	}
	ck := acToken(a.header)
	if ck == nil {
		t.Fatal("no AC_TOKEN cookie")
	}
	claims, err := e.sim.VerifyAccessToken(ck.Value)
	if err != nil {
		t.Fatalf("the emulator does not accept AC_TOKEN: %v", err)
	}
	if claims.UserName != "alice" {
		t.Errorf("user_name %q, want alice", claims.UserName)
	}
	if ck.Path != "/" || ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 || ck.MaxAge > 12*3600 {
		t.Errorf("AC_TOKEN attributes: %+v", ck)
	}
}

func TestCallbackRefusals(t *testing.T) {
	// Each case starts a real login, then tampers with one thing; none may set AC_TOKEN or reach Fuyun.
	cases := []struct {
		name     string
		callback func(t *testing.T, e *env, c *http.Client, state string) answer
		code     string
	}{
		{"wrong state", func(t *testing.T, e *env, c *http.Client, state string) answer {
			other := []byte(state)
			other[len(other)-1] ^= 1 // same cookie name, different state
			if other[len(other)-1] == state[len(state)-1] {
				t.Fatal("state not changed")
			}
			return e.get(t, c, callbackPath(string(other), "good-code"))
		}, CodeStateMismatch},
		{"state not ours", func(t *testing.T, e *env, c *http.Client, state string) answer {
			return e.get(t, c, callbackPath("abc", "good-code"))
		}, CodeStateMismatch},
		{"no state", func(t *testing.T, e *env, c *http.Client, state string) answer {
			return e.get(t, c, "/callback/corp?code=good-code")
		}, CodeInvalidRequest},
		{"other browser (no state cookie)", func(t *testing.T, e *env, c *http.Client, state string) answer {
			return e.get(t, browser(t), callbackPath(state, "good-code"))
		}, CodeStateMissing},
		{"state used twice", func(t *testing.T, e *env, c *http.Client, state string) answer {
			first := e.get(t, c, callbackPath(state, "bad-code"))
			if first.status == http.StatusSeeOther {
				t.Fatal("first callback should fail on the bad code")
			}
			return e.get(t, c, callbackPath(state, "good-code"))
		}, CodeStateMissing},
		{"expired", func(t *testing.T, e *env, c *http.Client, state string) answer {
			e.advance(11 * time.Minute)
			return e.get(t, c, callbackPath(state, "good-code"))
		}, CodeStateExpired},
		{"tampered cookie", func(t *testing.T, e *env, c *http.Client, state string) answer {
			u, _ := url.Parse(e.ts.URL + "/callback/corp")
			cks := c.Jar.Cookies(u)
			if len(cks) != 1 {
				t.Fatalf("want one state cookie, have %d", len(cks))
			}
			v := []byte(cks[0].Value)
			v[len(v)/2] ^= 'A' ^ 'B' // flip a bit of the payload in the middle
			if v[len(v)/2] == cks[0].Value[len(v)/2] {
				t.Fatal("cookie not changed")
			}
			return e.get(t, &http.Client{}, callbackPath(state, "good-code"), "Cookie", cks[0].Name+"="+string(v))
		}, CodeStateMissing},
		{"idp error", func(t *testing.T, e *env, c *http.Client, state string) answer {
			return e.get(t, c, "/callback/corp?"+url.Values{"state": {state}, "error": {"access_denied"}, "error_description": {"<b>no</b>"}}.Encode())
		}, CodeIdPError},
		{"no code", func(t *testing.T, e *env, c *http.Client, state string) answer {
			return e.get(t, c, "/callback/corp?state="+state)
		}, CodeInvalidRequest},
		{"code refused by the IdP", func(t *testing.T, e *env, c *http.Client, state string) answer {
			return e.get(t, c, callbackPath(state, "bad-code"))
		}, providers.CodeTokenFailed},
		{"unknown provider", func(t *testing.T, e *env, c *http.Client, state string) answer {
			return e.get(t, c, "/callback/nope?"+url.Values{"state": {state}, "code": {"good-code"}}.Encode())
		}, CodeUnknownProvider},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := browser(t)
			state := e.startLogin(t, c, "")
			a := tc.callback(t, e, c, state)
			assertFailure(t, a, tc.code)
		})
	}
}

// assertFailure checks a failed callback: the code's status, the code on the page, a request id, no AC_TOKEN.
func assertFailure(t *testing.T, a answer, code string) {
	t.Helper()
	if ck := acToken(a.header); ck != nil && ck.MaxAge >= 0 {
		t.Errorf("AC_TOKEN set on a failure")
	}
	if a.status != httpStatus(code) {
		t.Errorf("status %d, want %d", a.status, httpStatus(code))
	}
	if !strings.Contains(a.body, code) {
		t.Errorf("page does not name the error code %q:\n%s", code, truncate(a.body, 400))
	}
	if id := a.header.Get("X-Request-Id"); id == "" || !strings.Contains(a.body, id) {
		t.Errorf("request id %q missing from the page", id)
	}
	if strings.Contains(a.body, "<b>no</b>") {
		t.Error("IdP-supplied text rendered unescaped")
	}
}

func TestProviderAndMappingFailuresStopBeforeFuyun(t *testing.T) {
	cases := []struct {
		name   string
		claims map[string]any
		err    error
		code   string
	}{
		{"id token invalid", nil, providers.Errorf(providers.CodeIDTokenInvalid, "bad signature"), providers.CodeIDTokenInvalid},
		{"nonce mismatch", nil, providers.Errorf(providers.CodeNonceMismatch, "nonce"), providers.CodeNonceMismatch},
		{"issuer mismatch", nil, providers.Errorf(providers.CodeIssuerMismatch, "iss"), providers.CodeIssuerMismatch},
		{"no email", map[string]any{"sub": "x"}, nil, mapping.CodeMissing},
		{"unverified email", map[string]any{"email": "alice@corp.example.com", "email_verified": false}, nil, mapping.CodeUnverified},
		{"other domain", map[string]any{"email": "alice@evil.example.com", "email_verified": true}, nil, mapping.CodeDomainNotAllowed},
		{"unknown agent at Fuyun", map[string]any{"email": "mallory@corp.example.com", "email_verified": true}, nil, CodeFuyunRejected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.provider.claims, e.provider.err = tc.claims, tc.err
			c := browser(t)
			state := e.startLogin(t, c, "")
			a := e.get(t, c, callbackPath(state, "good-code"))
			assertFailure(t, a, tc.code)
		})
	}
}

func TestParallelTabsEachSucceed(t *testing.T) {
	e := newEnv(t)
	c := browser(t)
	// Three logins started before any finishes, finished in reverse order: none clobbers another.
	states := []string{e.startLogin(t, c, ""), e.startLogin(t, c, ""), e.startLogin(t, c, "")}
	for i := len(states) - 1; i >= 0; i-- {
		a := e.get(t, c, callbackPath(states[i], "good-code"))
		if a.status != http.StatusOK || acToken(a.header) == nil {
			t.Fatalf("tab %d: status %d, AC_TOKEN %v", i, a.status, acToken(a.header) != nil)
		}
	}
}

func TestLoginRefusesBadReturnTo(t *testing.T) {
	e := newEnv(t)
	for _, rt := range []string{"https://evil.example.net/", "//evil.example.net", "/\\evil.example.net", "javascript:alert(1)", "https://crm.example.com@evil.example.net/"} {
		a := e.get(t, browser(t), "/login/corp?return_to="+url.QueryEscape(rt))
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, CodeInvalidReturnTo) {
			t.Errorf("return_to %q: status %d, want 400 %s", rt, a.status, CodeInvalidReturnTo)
		}
		if loc := a.header.Get("Location"); loc != "" {
			t.Errorf("return_to %q: redirected to %q", rt, loc)
		}
	}
}

func TestLoginValidatesModeAndHint(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"?mode=iframe", "?login_hint=" + url.QueryEscape("a\r\nb"), "?login_hint=" + strings.Repeat("x", 300)} {
		a := e.get(t, browser(t), "/login/corp"+q)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, CodeInvalidRequest) {
			t.Errorf("%s: status %d, want 400 invalid_request", q, a.status)
		}
	}
	a := e.get(t, browser(t), "/login/corp?login_hint=alice")
	loc, _ := url.Parse(a.header.Get("Location"))
	if loc == nil || loc.Query().Get("login_hint") != "alice" {
		t.Errorf("login_hint not passed to the IdP: %q", a.header.Get("Location"))
	}
}

func TestStateCookieAttributes(t *testing.T) {
	e := newEnv(t)
	a := e.get(t, browser(t), "/login/corp")
	var found bool
	for _, ck := range (&http.Response{Header: a.header}).Cookies() {
		if ck.Name == stateCookieInsecure {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.MaxAge != 600 {
				t.Errorf("state cookie attributes: %+v", ck)
			}
			if strings.Contains(ck.Value, "nonce") || len(ck.Value) < 100 {
				t.Errorf("state cookie does not look encrypted: %q", ck.Value)
			}
		}
	}
	if !found {
		t.Fatal("no state cookie")
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Error("login redirect is cacheable")
	}
}

func TestSessionKeyRotation(t *testing.T) {
	oldKeys := [][]byte{[]byte(strings.Repeat("o", 32)), []byte(strings.Repeat("p", 32))}
	newKeys := [][]byte{[]byte(strings.Repeat("n", 32)), []byte(strings.Repeat("m", 32))}
	before := newEnv(t, func(o *Options) { o.SessionKeys = oldKeys })
	c := browser(t)
	state := before.startLogin(t, c, "")
	u, _ := url.Parse(before.ts.URL + "/callback/corp")
	cookies := c.Jar.Cookies(u)

	// A login started under the old key finishes on a replica that signs with the new key and still
	// verifies the old one; a replica that dropped the old key refuses it.
	for _, tc := range []struct {
		keys [][]byte
		ok   bool
	}{{append(append([][]byte{}, newKeys...), oldKeys...), true}, {newKeys, false}} {
		after := newEnv(t, func(o *Options) { o.SessionKeys = tc.keys })
		after.provider.byState = before.provider.byState
		c2 := browser(t)
		u2, _ := url.Parse(after.ts.URL + "/callback/corp")
		c2.Jar.SetCookies(u2, cookies)
		a := after.get(t, c2, callbackPath(state, "good-code"))
		if tc.ok && a.status != http.StatusOK {
			t.Errorf("rotated keys: status %d, want 200: %s", a.status, truncate(a.body, 300))
		}
		if !tc.ok {
			assertFailure(t, a, CodeStateMissing)
		}
	}
}

func TestJSONAnswers(t *testing.T) {
	e := newEnv(t)
	c := browser(t)
	state := e.startLogin(t, c, "")
	a := e.get(t, c, callbackPath(state, "good-code"), "Accept", "application/json")
	var got map[string]any
	if err := json.Unmarshal([]byte(a.body), &got); err != nil || a.status != 200 {
		t.Fatalf("status %d, body %q", a.status, a.body)
	}
	for _, k := range []string{"access_token", "token_type", "expires_in", "scope", "iss", "jti", "user_name", "provider"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON answer lacks %q: %v", k, got)
		}
	}
	if got["user_name"] != "alice" || got["provider"] != "corp" {
		t.Errorf("user_name/provider = %v/%v", got["user_name"], got["provider"])
	}

	state = e.startLogin(t, c, "")
	a = e.get(t, c, "/callback/corp?state="+state+"&error=access_denied", "Accept", "application/json")
	var ej errorJSON
	if err := json.Unmarshal([]byte(a.body), &ej); err != nil {
		t.Fatal(err)
	}
	if ej.Error != CodeIdPError || ej.RequestID == "" || ej.RequestID != a.header.Get("X-Request-Id") || ej.ErrorDescription == "" {
		t.Errorf("JSON error %+v", ej)
	}
}

func TestTokenCookieLimits(t *testing.T) {
	o := CookieOptions{Name: "AC_TOKEN", MaxAge: time.Hour, SameSite: http.SameSiteLaxMode}
	c, err := o.tokenCookie("abc", 2591999)
	if err != nil || c.MaxAge != 3600 {
		t.Errorf("max_age caps expires_in: %v %v", c, err)
	}
	c, err = o.tokenCookie("abc", 60)
	if err != nil || c.MaxAge != 60 {
		t.Errorf("expires_in shorter than max_age: %v %v", c, err)
	}
	_, err = o.tokenCookie(strings.Repeat("a", 4100), 60)
	var le *loginError
	if !errors.As(err, &le) || le.code != CodeCookieTooLarge {
		t.Errorf("oversized token: %v, want %s", err, CodeCookieTooLarge)
	}
	o.Partitioned, o.Secure, o.SameSite, o.Domain = true, true, http.SameSiteNoneMode, "example.com"
	c, _ = o.tokenCookie("abc", 60)
	if s := c.String(); !strings.Contains(s, "Partitioned") || !strings.Contains(s, "SameSite=None") || !strings.Contains(s, "Secure") || !strings.Contains(s, "Domain=example.com") {
		t.Errorf("embedded cookie: %s", s)
	}
}

func TestRequestIDAndSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	a := e.get(t, browser(t), "/", "X-Request-Id", "lb-1234567890")
	if a.header.Get("X-Request-Id") != "lb-1234567890" {
		t.Errorf("sane request id not kept: %q", a.header.Get("X-Request-Id"))
	}
	a = e.get(t, browser(t), "/", "X-Request-Id", "bad id\"with quotes")
	if id := a.header.Get("X-Request-Id"); id == "" || strings.Contains(id, "\"") {
		t.Errorf("insane request id echoed: %q", id)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	} {
		if !strings.Contains(a.header.Get(h), want) {
			t.Errorf("%s = %q, want %q", h, a.header.Get(h), want)
		}
	}
	if !strings.Contains(a.body, "/login/corp") {
		t.Error("sign-in page lacks the provider's login link")
	}
}

func TestErrorCodesHaveTexts(t *testing.T) {
	known := map[string]bool{}
	for _, c := range templates.ErrorCodes() {
		known[c] = true
	}
	for code := range statusOf {
		if !known[code] {
			t.Errorf("error code %q has no page texts", code)
		}
	}
}

func TestLanguageSwitchKeepsReturnTo(t *testing.T) {
	e := newEnv(t)
	a := e.get(t, browser(t), "/?return_to="+url.QueryEscape("https://crm.example.com/desk?a=1&b=2"))
	want := "return_to=" + url.QueryEscape("https://crm.example.com/desk?a=1&b=2")
	for _, lang := range []string{"zh-CN", "en"} {
		link := "?" + strings.ReplaceAll(want, "&", "&amp;") + "&amp;lang=" + lang
		if !strings.Contains(strings.ToLower(a.body), strings.ToLower(link)) {
			t.Errorf("language link %q missing:\n%s", link, a.body)
		}
	}
	a = e.get(t, browser(t), "/")
	if !strings.Contains(a.body, `href="?lang=zh-CN"`) {
		t.Error("without return_to the link is plain ?lang=")
	}
}

// TestSuccessPageStatesTheCookieLifetime: the page told agents Fuyun's expires_in (30 days) while AC_TOKEN was
// set for cookie.max_age (12 h). It must state when the cookie really ends.
func TestSuccessPageStatesTheCookieLifetime(t *testing.T) {
	e := newEnv(t)
	c := browser(t)
	a := e.get(t, c, callbackPath(e.startLogin(t, c, ""), "good-code"))
	ck := acToken(a.header)
	if a.status != http.StatusOK || ck == nil || ck.MaxAge != 12*3600 {
		t.Fatalf("callback: %d, AC_TOKEN %v", a.status, ck)
	}
	cookieEnd := e.clock().Add(12 * time.Hour).UTC().Format("2006-01-02 15:04 MST")
	fuyunEnd := e.clock().Add(720 * time.Hour).UTC().Format("2006-01-02 15:04 MST")
	if !strings.Contains(a.body, cookieEnd) || strings.Contains(a.body, fuyunEnd) {
		t.Errorf("success page does not say the session ends at %s (the cookie's end):\n%s", cookieEnd, a.body)
	}
}

// TestProviderIcons: each sign-in button shows its provider type's own icon, served by the bridge from the
// preset; an unknown type is a 404.
func TestProviderIcons(t *testing.T) {
	e := newEnv(t)
	page := e.get(t, browser(t), "/")
	if !strings.Contains(page.body, `src="/icons/oidc.svg"`) {
		t.Errorf("sign-in page does not show the oidc icon:\n%s", page.body)
	}
	a := e.get(t, browser(t), "/icons/oidc.svg")
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(a.body, "<svg") {
		t.Errorf("/icons/oidc.svg: %d %q", a.status, a.header.Get("Content-Type"))
	}
	if a := e.get(t, browser(t), "/icons/nope.svg"); a.status != http.StatusNotFound {
		t.Errorf("/icons/nope.svg: %d, want 404", a.status)
	}
}
