package bridge

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// bridgeCookieHeader is the Cookie header c's jar would send to the bridge's callback.
func bridgeCookieHeader(t *testing.T, e *env, c *http.Client) (string, int) {
	t.Helper()
	u, _ := url.Parse(e.ts.URL + "/callback/corp")
	var parts []string
	for _, ck := range c.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; "), len(parts)
}

// TestLoginStateFloodIsBounded reproduces the login-state cookie flood: a page that makes the victim's browser
// start many logins with a long return_to. Before, every /login added a ~3.8 KB cookie (18–25 of them made the
// next callback fail with HTTP 431; ~170 made Chromium evict AC_TOKEN). Now the browser holds one state cookie
// of at most maxCookieBytes whatever the number of logins, the newest logins still finish, and an evicted one
// is refused with a stable code.
func TestLoginStateFloodIsBounded(t *testing.T) {
	e := newEnv(t)
	c := browser(t)
	long := "/" + strings.Repeat("A", 1500)
	var states []string
	for range 40 {
		states = append(states, e.startLogin(t, c, "?return_to="+url.QueryEscape(long)))
		if hdr, n := bridgeCookieHeader(t, e, c); n != 1 || len(hdr) > maxCookieBytes {
			t.Fatalf("after %d logins the browser sends %d bridge cookies, %d bytes; want 1 cookie of at most %d bytes", len(states), n, len(hdr), maxCookieBytes)
		}
	}
	// The oldest was evicted: a clear refusal, no token.
	assertFailure(t, e.get(t, c, callbackPath(states[0], "good-code")), CodeStateMismatch)
	// The newest login survives the flood and finishes.
	a := e.get(t, c, callbackPath(states[len(states)-1], "good-code"))
	if a.status != http.StatusSeeOther || acToken(a.header) == nil {
		t.Fatalf("newest login after the flood: status %d, AC_TOKEN %v", a.status, acToken(a.header) != nil)
	}
}

// TestReturnToAcceptedIsUsable reproduces the unusable return_to: lengths up to the allow-list's limit passed
// /login, but from ~2000 bytes the state cookie exceeded the 4096 bytes a browser keeps, so the login failed
// later as "session expired". Now every return_to that /login accepts yields a cookie a browser keeps, and a
// longer one is refused at /login with invalid_return_to.
func TestReturnToAcceptedIsUsable(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.PublicURL, _ = url.Parse("https://bridge.example.com") })
	refused := 0
	for n := 1500; n <= 2040; n += 20 {
		rt := "/" + strings.Repeat("a", n)
		a := e.get(t, browser(t), "/login/corp?return_to="+url.QueryEscape(rt)+"&mode=popup&handoff_nonce="+randomToken(32))
		switch a.status {
		case http.StatusFound:
			for _, line := range a.header.Values("Set-Cookie") {
				if len(line) > maxCookieBytes {
					t.Fatalf("return_to of %d bytes accepted, but its Set-Cookie is %d bytes: a browser drops it", len(rt), len(line))
				}
			}
		case http.StatusBadRequest:
			refused++
			if !strings.Contains(a.body, CodeInvalidReturnTo) {
				t.Fatalf("return_to of %d bytes: 400 without %s", len(rt), CodeInvalidReturnTo)
			}
		default:
			t.Fatalf("return_to of %d bytes: status %d", len(rt), a.status)
		}
	}
	if refused == 0 {
		t.Fatal("no return_to was too long; the test does not reach the cookie limit")
	}
}

// TestStateCookieHostPrefixBehindTLS checks the attributes that make the state cookie impossible to plant
// from a sibling subdomain or over plain http: the __Host- prefix, Secure, Path=/ and no Domain.
func TestStateCookieHostPrefixBehindTLS(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.PublicURL, _ = url.Parse("https://bridge.example.com") })
	a := e.get(t, browser(t), "/login/corp")
	cookies := (&http.Response{Header: a.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	ck := cookies[0]
	if ck.Name != "__Host-fb_login" || !ck.Secure || ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("state cookie behind TLS: %s", ck)
	}
}

// TestCookieTossingRefused reproduces login CSRF by cookie tossing: the attacker starts a login of their own,
// keeps the sealed state cookie, and has a sibling subdomain plant it in the victim's browser; then the victim's
// browser is sent to the callback with the attacker's state and code. A sibling can plant any cookie name a
// browser accepts with a Domain attribute — not a __Host- one — so the planted cookie carries the name without
// that prefix. The login must fail and set no AC_TOKEN.
func TestCookieTossingRefused(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.PublicURL, _ = url.Parse("https://bridge.example.com") })
	a := e.get(t, browser(t), "/login/corp")
	loc, _ := url.Parse(a.header.Get("Location"))
	attackerState := loc.Query().Get("state")
	var planted []*http.Cookie
	for _, ck := range (&http.Response{Header: a.header}).Cookies() {
		// What browsers allow a sibling subdomain (Domain=example.com) to set.
		name, _ := strings.CutPrefix(ck.Name, "__Host-")
		planted = append(planted, &http.Cookie{Name: name, Value: ck.Value})
	}
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+callbackPath(attackerState, "good-code"), nil)
	for _, ck := range planted {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || acToken(resp.Header) != nil {
		t.Fatalf("tossed state cookie completed the login: status %d, AC_TOKEN %v", resp.StatusCode, acToken(resp.Header) != nil)
	}
}
