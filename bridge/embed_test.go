package bridge

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

const testCRM = "https://crm.example.com"

// embedded configures the bridge as an embedded deployment: /embed for the CRM, a SameSite=None,
// Secure, Partitioned cookie with a domain, and the CRM trusted for logout.
func embedded(o *Options) {
	o.EmbedOrigins = []string{testCRM, "https://*.crm.example.net"}
	o.LogoutOrigins = []string{testCRM}
	o.Cookie = CookieOptions{Name: "AC_TOKEN", Domain: "bridge.example.test", Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true, MaxAge: 12 * time.Hour}
}

func TestEmbedFramedOnlyByTheAllowedParent(t *testing.T) {
	e := newEnv(t, embedded)
	c := browser(t)
	a := e.get(t, c, "/embed?parent_origin="+url.QueryEscape(testCRM))
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	csp := a.header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors " + testCRM, "script-src 'self'", "default-src 'none'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "*") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP too broad: %q", csp)
	}
	if a.header.Get("X-Frame-Options") != "" || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("X-Frame-Options %q, Cache-Control %q", a.header.Get("X-Frame-Options"), a.header.Get("Cache-Control"))
	}
	for _, want := range []string{`data-parent-origin="` + testCRM + `"`, `src="/static/embed.js"`, `href="/login/corp?mode=popup"`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("widget lacks %s", want)
		}
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(strings.ReplaceAll(a.body, `<script src="/static/embed.js" defer></script>`, "")) {
		t.Error("widget has an inline script")
	}
	// A wildcard entry allows a matching subdomain, named exactly.
	if a := e.get(t, c, "/embed?parent_origin="+url.QueryEscape("https://eu.crm.example.net")); a.status != http.StatusOK ||
		!strings.HasSuffix(a.header.Get("Content-Security-Policy"), "frame-ancestors https://eu.crm.example.net") {
		t.Errorf("wildcard parent: %d, CSP %q", a.status, a.header.Get("Content-Security-Policy"))
	}

	self := e.ts.URL
	for _, parent := range []string{"", "https://evil.example.com", "https://crm.example.com.evil.net", testCRM + "/",
		"HTTPS://crm.example.com", "https://CRM.example.com", testCRM + ":443", "http://crm.example.com", self,
		"https://crm.example.net", "https://x.eu.crm.example.net.", "null", testCRM + " https://evil.example.com", "*"} {
		a := e.get(t, c, "/embed?parent_origin="+url.QueryEscape(parent))
		assertFailure(t, a, CodeEmbedOriginNotAllowed)
		if csp := a.header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") || strings.Contains(a.body, "embed.js") {
			t.Errorf("parent %q: refusal is frameable or runs the widget (CSP %q)", parent, csp)
		}
	}
	if a := e.get(t, c, "/embed?providers=nope&parent_origin="+url.QueryEscape(testCRM)); a.status != http.StatusNotFound {
		t.Errorf("unknown provider in providers=: %d", a.status)
	}
	// Every other page stays unframeable.
	for _, path := range []string{"/", "/login/nope"} {
		if csp := e.get(t, c, path).header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
}

func TestEmbedOffWithoutAllowedOrigins(t *testing.T) {
	e := newEnv(t)
	assertFailure(t, e.get(t, browser(t), "/embed?parent_origin="+url.QueryEscape(testCRM)), CodeEmbedOriginNotAllowed)
}

var resultBlock = regexp.MustCompile(`<script type="application/json" id="fuyun-bridge-result">(.*?)</script>`)

// popupMessage reads the message a popup page posts.
func popupMessage(t *testing.T, a answer) templates.PopupMessage {
	t.Helper()
	m := resultBlock.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no result block in the popup page (%d):\n%s", a.status, truncate(a.body, 600))
	}
	var msg templates.PopupMessage
	if err := json.Unmarshal([]byte(m[1]), &msg); err != nil {
		t.Fatalf("result block %q: %v", m[1], err)
	}
	return msg
}

// popupLogin runs a popup-mode login with handoff nonce N and returns the callback's answer.
func (e *env) popupLogin(t *testing.T, nonce string) answer {
	t.Helper()
	c := browser(t)
	state := e.startLogin(t, c, "?mode=popup&handoff_nonce="+nonceHash(nonce))
	return e.get(t, c, callbackPath(state, "good-code"))
}

func TestPopupPagePostsTheResult(t *testing.T) {
	for _, partitioned := range []bool{false, true} {
		mods := []envOption{}
		if partitioned {
			mods = append(mods, embedded)
		}
		e := newEnv(t, mods...)
		nonce := randomToken(32)
		a := e.popupLogin(t, nonce)
		if a.status != http.StatusOK || a.header.Get("Location") != "" {
			t.Fatalf("popup callback: %d, Location %q", a.status, a.header.Get("Location"))
		}
		msg := popupMessage(t, a)
		if msg.Type != templates.MessageLogin || msg.UserName != "alice" || msg.Provider != "corp" || msg.ExpiresIn <= 0 ||
			msg.LoginID != nonceHash(nonce) || msg.Handoff == "" {
			t.Errorf("message %+v", msg)
		}
		if _, err := e.sim.VerifyAccessToken(msg.AccessToken); err != nil {
			t.Errorf("posted token: %v", err)
		}
		csp := a.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.HasSuffix(csp, "frame-ancestors 'none'") || a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("CSP %q, Cache-Control %q", csp, a.header.Get("Cache-Control"))
		}
		// The token is in the page body only: no URL of the page carries it.
		for _, m := range regexp.MustCompile(`(?:src|href|action)="([^"]*)"`).FindAllStringSubmatch(a.body, -1) {
			if strings.Contains(m[1], msg.AccessToken[:20]) {
				t.Errorf("token in a URL: %s", m[1])
			}
		}
		if strings.Count(a.body, msg.AccessToken) != 1 {
			t.Errorf("token appears %d times in the page, want once (in the message)", strings.Count(a.body, msg.AccessToken))
		}
		// First-party in the popup: set it, unless it would be partitioned under the bridge's own site.
		if ck := acToken(a.header); (ck != nil) == partitioned {
			t.Errorf("partitioned=%v: AC_TOKEN set by the popup: %v", partitioned, ck)
		}
	}
}

func TestPopupErrorIsPosted(t *testing.T) {
	e := newEnv(t)
	c := browser(t)
	nonce := randomToken(32)
	state := e.startLogin(t, c, "?mode=popup&handoff_nonce="+nonceHash(nonce))
	a := e.get(t, c, "/callback/corp?"+url.Values{"state": {state}, "error": {"access_denied"}}.Encode())
	msg := popupMessage(t, a)
	if msg.Type != templates.MessageError || msg.Error != CodeIdPError || msg.ErrorDescription == "" || msg.LoginID != nonceHash(nonce) || msg.AccessToken != "" {
		t.Errorf("message %+v", msg)
	}
	assertFailure(t, a, CodeIdPError)
}

func TestLoginRefusesBadHandoffNonce(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{
		"?mode=redirect&handoff_nonce=" + nonceHash("x"),
		"?handoff_nonce=" + nonceHash("x"),
		"?mode=popup&handoff_nonce=short",
		"?mode=popup&handoff_nonce=" + strings.Repeat("!", 43),
	} {
		assertFailure(t, e.get(t, browser(t), "/login/corp"+q), CodeInvalidRequest)
	}
}

// redeem posts a handoff the way /static/embed.js does.
func (e *env) redeem(t *testing.T, body any, hdr ...string) answer {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/embed/handoff", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(rb)}
}

func TestHandoff(t *testing.T) {
	e := newEnv(t, embedded)
	nonce := randomToken(32)
	msg := popupMessage(t, e.popupLogin(t, nonce))
	good := handoffRequest{Handoff: msg.Handoff, Nonce: nonce, Provider: "corp"}

	tampered := []byte(msg.Handoff)
	tampered[len(tampered)/2] ^= 1
	other := randomToken(32)
	refusals := []struct {
		name string
		body handoffRequest
	}{
		{"wrong nonce", handoffRequest{Handoff: msg.Handoff, Nonce: other, Provider: "corp"}},
		{"the nonce's hash instead of the nonce", handoffRequest{Handoff: msg.Handoff, Nonce: nonceHash(nonce), Provider: "corp"}},
		{"no nonce", handoffRequest{Handoff: msg.Handoff, Provider: "corp"}},
		{"tampered", handoffRequest{Handoff: string(tampered), Nonce: nonce, Provider: "corp"}},
		{"other provider", handoffRequest{Handoff: msg.Handoff, Nonce: nonce, Provider: "other"}},
		{"not a handoff", handoffRequest{Handoff: "eyJ0Ijoi", Nonce: nonce, Provider: "corp"}},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			a := e.redeem(t, tc.body)
			if a.status != http.StatusBadRequest || acToken(a.header) != nil || !strings.Contains(a.body, `"error":"handoff_invalid"`) {
				t.Errorf("%d %s, cookie %v", a.status, a.body, acToken(a.header))
			}
		})
	}
	t.Run("cross-site request", func(t *testing.T) {
		a := e.redeem(t, good, "Sec-Fetch-Site", "cross-site", "Origin", testCRM)
		if a.status != http.StatusForbidden || acToken(a.header) != nil || !strings.Contains(a.body, CodeCrossOrigin) {
			t.Errorf("%d %s", a.status, a.body)
		}
	})
	t.Run("form body", func(t *testing.T) {
		a := e.redeem(t, good, "Content-Type", "application/x-www-form-urlencoded")
		if a.status != http.StatusBadRequest || acToken(a.header) != nil {
			t.Errorf("%d %s", a.status, a.body)
		}
	})
	t.Run("good", func(t *testing.T) {
		a := e.redeem(t, good)
		ck := acToken(a.header)
		if a.status != http.StatusOK || ck == nil {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if !ck.Partitioned || !ck.Secure || ck.SameSite != http.SameSiteNoneMode || ck.Domain != "bridge.example.test" || ck.Path != "/" || ck.MaxAge <= 0 {
			t.Errorf("cookie attributes %+v", ck)
		}
		if ck.Value != msg.AccessToken || strings.Contains(a.body, msg.AccessToken) {
			t.Errorf("cookie value differs, or the token is in the body: %s", a.body)
		}
		var ans handoffAnswer
		if err := json.Unmarshal([]byte(a.body), &ans); err != nil || ans.UserName != "alice" || ans.Provider != "corp" {
			t.Errorf("answer %s (%v)", a.body, err)
		}
		if a.header.Get("Cache-Control") != "no-store" {
			t.Error("cacheable")
		}
	})
	t.Run("expired", func(t *testing.T) {
		e.advance(handoffTTL + time.Second)
		a := e.redeem(t, good)
		if a.status != http.StatusBadRequest || acToken(a.header) != nil {
			t.Errorf("%d %s", a.status, a.body)
		}
	})
}

func TestHandoffFromAnotherBridgeKeyIsRefused(t *testing.T) {
	e := newEnv(t, embedded)
	other := newEnv(t, embedded, func(o *Options) {
		o.SessionKeys = [][]byte{[]byte(strings.Repeat("H", 32)), []byte(strings.Repeat("B", 32))}
	})
	nonce := randomToken(32)
	msg := popupMessage(t, other.popupLogin(t, nonce))
	if a := e.redeem(t, handoffRequest{Handoff: msg.Handoff, Nonce: nonce, Provider: "corp"}); a.status != http.StatusBadRequest {
		t.Errorf("%d %s", a.status, a.body)
	}
}

func (e *env) logout(t *testing.T, form url.Values, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/logout", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := browser(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, embedded)
	// The cookie as a handoff sets it, to compare attributes with.
	nonce := randomToken(32)
	msg := popupMessage(t, e.popupLogin(t, nonce))
	set := acToken(e.redeem(t, handoffRequest{Handoff: msg.Handoff, Nonce: nonce, Provider: "corp"}).header)
	if set == nil {
		t.Fatal("no cookie to compare with")
	}
	cleared := func(t *testing.T, a answer) {
		t.Helper()
		ck := acToken(a.header)
		if ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
			t.Fatalf("AC_TOKEN not cleared: %v", ck)
		}
		if ck.Domain != set.Domain || ck.Path != set.Path || ck.SameSite != set.SameSite || ck.Secure != set.Secure ||
			ck.Partitioned != set.Partitioned || ck.HttpOnly != set.HttpOnly {
			t.Errorf("cleared with %+v, set with %+v", ck, set)
		}
	}

	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"cross-site", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example.com"}},
		{"same-site other origin", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://other.example.test"}},
		{"old browser, foreign Origin", []string{"Origin", "https://evil.example.com"}},
	} {
		t.Run("refused "+tc.name, func(t *testing.T) {
			a := e.logout(t, url.Values{"return_to": {testCRM + "/"}}, tc.hdr...)
			if a.status != http.StatusForbidden || acToken(a.header) != nil || !strings.Contains(a.body, CodeCrossOrigin) {
				t.Errorf("%d, cookie %v", a.status, acToken(a.header))
			}
		})
	}
	t.Run("same-origin fetch", func(t *testing.T) {
		a := e.logout(t, nil, "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors")
		if a.status != http.StatusNoContent {
			t.Errorf("status %d", a.status)
		}
		cleared(t, a)
	})
	t.Run("trusted CRM form with return_to", func(t *testing.T) {
		a := e.logout(t, url.Values{"return_to": {testCRM + "/bye"}}, "Sec-Fetch-Site", "cross-site", "Origin", testCRM, "Sec-Fetch-Mode", "navigate")
		if a.status != http.StatusSeeOther || a.header.Get("Location") != testCRM+"/bye" {
			t.Errorf("%d to %q", a.status, a.header.Get("Location"))
		}
		cleared(t, a)
	})
	t.Run("plain form", func(t *testing.T) {
		a := e.logout(t, nil, "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate")
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
			t.Errorf("%d to %q", a.status, a.header.Get("Location"))
		}
		cleared(t, a)
	})
	t.Run("return_to not allowed", func(t *testing.T) {
		a := e.logout(t, url.Values{"return_to": {"https://evil.example.com/"}}, "Sec-Fetch-Site", "same-origin")
		assertFailure(t, a, CodeInvalidReturnTo)
	})
	t.Run("GET is not a logout", func(t *testing.T) {
		if a := e.get(t, browser(t), "/logout"); a.status != http.StatusMethodNotAllowed || acToken(a.header) != nil {
			t.Errorf("%d", a.status)
		}
	})
}

func TestExactOrigins(t *testing.T) {
	got := exactOrigins([]string{"https://a.example.com", "https://*.example.com"}, []string{"https://a.example.com", "http://localhost:3000"})
	if strings.Join(got, " ") != "https://a.example.com http://localhost:3000" {
		t.Errorf("got %v", got)
	}
}
