package devidp

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// subOf redeems code and returns the ID token's subject through userinfo, which shares it.
func (ti *testIdP) subOf(tb testing.TB, code, verifier string) string {
	tb.Helper()
	tok := ti.redeem(tb, code, verifier)
	_, ui := ti.userinfo(tb, tok["access_token"].(string))
	sub, _ := ui["sub"].(string)
	return sub
}

func TestLoginHintApprovesAtOnce(t *testing.T) {
	ti := startIdP(t, nil)
	tests := []struct{ hint, wantSub string }{
		{"alice", "dev-alice"},
		{"bob@example.com", "dev-bob"},
		{"CAROL", "dev-carol"},
		{"Carol@Example.com", "dev-carol"},
	}
	for _, tc := range tests {
		t.Run(tc.hint, func(t *testing.T) {
			q, verifier := authParamsFor(tc.hint)
			got := location(t, ti.get(t, "/authorize", q), http.StatusFound, appRedirect)
			if got.Get("state") != "st-123" || got.Get("iss") != ti.Issuer() {
				t.Errorf("response %v lacks state or iss", got)
			}
			if sub := ti.subOf(t, got.Get("code"), verifier); sub != tc.wantSub {
				t.Errorf("sub %q, want %q", sub, tc.wantSub)
			}
		})
	}
}

func TestRedirectURIQueryIsKept(t *testing.T) {
	ti := startIdP(t, nil)
	q, _ := authParamsFor("alice")
	q.Set("redirect_uri", "http://127.0.0.1:1/callback?tenant=a")
	got := location(t, ti.get(t, "/authorize", q), http.StatusFound, "http://127.0.0.1:1/callback")
	if got.Get("tenant") != "a" || got.Get("code") == "" {
		t.Errorf("response %v: want tenant=a and a code", got)
	}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// TestPicker renders the picker, then submits it as a browser would: the hidden fields plus user=.
func TestPicker(t *testing.T) {
	ti := startIdP(t, nil)
	tests := []struct {
		name, hint string
	}{
		{"no hint", ""},
		{"unknown hint", "mallory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, verifier := authParamsFor(tc.hint)
			q.Set("state", `a"<b>&c`) // must survive HTML escaping
			resp := ti.get(t, "/authorize", q)
			body, _ := io.ReadAll(resp.Body)
			page := string(body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, page)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
				t.Errorf("CSP %q: want default-src 'none' and no script source", csp)
			}
			for _, want := range []string{
				"Sign in to the dev identity provider", `id="user-alice"`, `data-user="bob"`, `id="user-carol"`,
				`id="cancel"`, "demo identity provider",
			} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			if strings.Contains(strings.ToLower(page), "<script") {
				t.Error("page has a script")
			}

			form := url.Values{}
			for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
				form.Set(m[1], html.UnescapeString(m[2]))
			}
			for _, k := range []string{"client_id", "redirect_uri", "code_challenge", "nonce", "state"} {
				if form.Get(k) != q.Get(k) {
					t.Errorf("hidden %s = %q, want %q", k, form.Get(k), q.Get(k))
				}
			}
			form.Set("user", "bob")
			got := location(t, ti.postForm(t, "/authorize", form, http.Header{"Origin": {ti.url}}), http.StatusSeeOther, appRedirect)
			if got.Get("state") != q.Get("state") || got.Get("iss") != ti.Issuer() {
				t.Errorf("response %v lacks state or iss", got)
			}
			if sub := ti.subOf(t, got.Get("code"), verifier); sub != "dev-bob" {
				t.Errorf("sub %q, want dev-bob", sub)
			}
		})
	}
}

func TestPickerPost(t *testing.T) {
	ti := startIdP(t, nil)
	tests := []struct {
		name       string
		extra      url.Values
		header     http.Header
		wantStatus int
		wantError  string // "" means a code
	}{
		{"choice", url.Values{"user": {"carol"}}, nil, http.StatusSeeOther, ""},
		{"same origin", url.Values{"user": {"carol"}}, http.Header{"Origin": {"ORIGIN"}, "Sec-Fetch-Site": {"same-origin"}}, http.StatusSeeOther, ""},
		{"cancel", url.Values{"action": {"cancel"}}, nil, http.StatusSeeOther, "access_denied"},
		{"unknown user", url.Values{"user": {"mallory"}}, nil, http.StatusBadRequest, ""},
		{"cross-origin", url.Values{"user": {"carol"}}, http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden, ""},
		{"cross-site fetch", url.Values{"user": {"carol"}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden, ""},
		{"null origin", url.Values{"user": {"carol"}}, http.Header{"Origin": {"null"}}, http.StatusForbidden, ""},
		{"no choice: a form-posted authorization request", url.Values{"login_hint": {"alice"}}, http.Header{"Origin": {"http://rp.example"}}, http.StatusSeeOther, ""},
		{"bad PKCE is still refused", url.Values{"user": {"carol"}, "code_challenge_method": {"plain"}}, nil, http.StatusSeeOther, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form, _ := authParamsFor("")
			for k, v := range tc.extra {
				form[k] = v
			}
			for k, v := range tc.header {
				if v[0] == "ORIGIN" {
					tc.header[k] = []string{ti.url}
				}
			}
			resp := ti.postForm(t, "/authorize", form, tc.header)
			if tc.wantStatus != http.StatusSeeOther {
				if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d Location %q, want %d and no redirect", resp.StatusCode, resp.Header.Get("Location"), tc.wantStatus)
				}
				return
			}
			got := location(t, resp, http.StatusSeeOther, appRedirect)
			if got.Get("error") != tc.wantError || (tc.wantError == "") != (got.Get("code") != "") {
				t.Errorf("response %v, want error %q", got, tc.wantError)
			}
			if got.Get("state") != "st-123" {
				t.Errorf("state %q not echoed", got.Get("state"))
			}
		})
	}
}

// TestAuthorizeRefusals covers every check of the authorization request.
func TestAuthorizeRefusals(t *testing.T) {
	ti := startIdP(t, nil)
	tests := []struct {
		name   string
		modify func(url.Values)
		// errorPage means no redirect at all; otherwise the redirect's error code.
		errorPage bool
		wantError string
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nobody") }, true, ""},
		{"missing client", func(q url.Values) { q.Del("client_id") }, true, ""},
		{"redirect_uri mismatch", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:1/evil") }, true, ""},
		{"redirect_uri prefix only", func(q url.Values) { q.Set("redirect_uri", appRedirect+"/more") }, true, ""},
		{"redirect_uri of another client", func(q url.Values) { q.Set("redirect_uri", otherRedirect) }, true, ""},
		{"missing redirect_uri", func(q url.Values) { q.Del("redirect_uri") }, true, ""},
		{"repeated redirect_uri", func(q url.Values) { q.Add("redirect_uri", appRedirect) }, true, ""},
		{"response_type token", func(q url.Values) { q.Set("response_type", "token") }, false, "unsupported_response_type"},
		{"missing response_type", func(q url.Values) { q.Del("response_type") }, false, "invalid_request"},
		{"scope without openid", func(q url.Values) { q.Set("scope", "profile email") }, false, "invalid_scope"},
		{"missing PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, false, "invalid_request"},
		{"missing challenge method", func(q url.Values) { q.Del("code_challenge_method") }, false, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, false, "invalid_request"},
		{"malformed challenge", func(q url.Values) { q.Set("code_challenge", "short") }, false, "invalid_request"},
		{"repeated state", func(q url.Values) { q.Add("state", "again") }, false, "invalid_request"},
		{"prompt=none without a known hint", func(q url.Values) { q.Set("prompt", "none") }, false, "login_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := authParamsFor("alice")
			tc.modify(q)
			if tc.name == "prompt=none without a known hint" {
				q.Del("login_hint")
			}
			resp := ti.get(t, "/authorize", q)
			if tc.errorPage {
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d Location %q, want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
				}
				if !strings.Contains(string(body), "Sign-in error") {
					t.Errorf("error page: %s", body)
				}
				return
			}
			got := location(t, resp, http.StatusFound, appRedirect)
			if got.Get("error") != tc.wantError || got.Get("code") != "" {
				t.Errorf("response %v, want error %s and no code", got, tc.wantError)
			}
			if got.Get("iss") != ti.Issuer() || (tc.name != "repeated state" && got.Get("state") != "st-123") {
				t.Errorf("response %v lacks iss or state", got)
			}
		})
	}
}

func TestAuthorizeMethods(t *testing.T) {
	ti := startIdP(t, nil)
	req, _ := http.NewRequest(http.MethodPut, ti.Issuer()+"/authorize", nil)
	resp, err := ti.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT /authorize: %d, want 405", resp.StatusCode)
	}
}

// TestHeadMintsNoCode: HEAD only asks what GET would answer, so a login_hint must not mint a code.
func TestHeadMintsNoCode(t *testing.T) {
	ti := startIdP(t, nil)
	q, _ := authParamsFor("alice")
	req, _ := http.NewRequest(http.MethodHead, ti.Issuer()+"/authorize?"+q.Encode(), nil)
	resp, err := ti.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
		t.Errorf("HEAD /authorize: %d, Location %q; want the picker's 200 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := ti.codes.len(); n != 0 {
		t.Errorf("HEAD minted %d codes", n)
	}
}
