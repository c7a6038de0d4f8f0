package idpstub

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	feishuRedirect = "https://bridge.example.com/callback/feishu"
	feishuVerifier = "TxYmzM4PHLBlqm5NtnCmwxMH8mFlRWl_ipie3O0aVzo"
)

func newFeishu(t *testing.T) (*Feishu, *clock) {
	clk := newClock()
	return NewFeishu(t, FeishuOptions{Now: clk.now}), clk
}

// feishuAuthURL is the documented sign-in URL with PKCE S256, after edit.
func feishuAuthURL(s *Feishu, edit func(url.Values)) string {
	q := url.Values{"client_id": {"cli_a5d611352af9d00b"}, "response_type": {"code"}, "redirect_uri": {feishuRedirect},
		"scope": {"contact:user.email:readonly contact:user.employee_id:readonly"}, "state": {"RANDOMSTRING"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(feishuVerifier)}, "code_challenge_method": {"S256"}}
	return withParams(s.AccountsURL+"/open-apis/authen/v1/authorize", q, edit)
}

func feishuCode(t *testing.T, s *Feishu, user string) string {
	t.Helper()
	return callbackQuery(t, s.Authorize(t, feishuAuthURL(s, nil), user), feishuRedirect, "code", "state").Get("code")
}

func feishuTokenBody(code string) map[string]string {
	return map[string]string{"grant_type": "authorization_code", "client_id": "cli_a5d611352af9d00b",
		"client_secret": "feishu-secret", "code": code, "redirect_uri": feishuRedirect, "code_verifier": feishuVerifier}
}

func feishuToken(t *testing.T, s *Feishu, body any) wire {
	t.Helper()
	return send(t, "POST", s.OpenURL+"/open-apis/authen/v2/oauth/token", nil, body)
}

func feishuUserInfo(t *testing.T, s *Feishu, h http.Header) wire {
	t.Helper()
	return send(t, "GET", s.OpenURL+"/open-apis/authen/v1/user_info", h, nil)
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// feishuSignedIn signs user in and returns the access token.
func feishuSignedIn(t *testing.T, s *Feishu, user string) string {
	t.Helper()
	return feishuToken(t, s, feishuTokenBody(feishuCode(t, s, user))).str(t, "access_token")
}

func TestFeishuHappyPath(t *testing.T) {
	s, _ := newFeishu(t)
	q := callbackQuery(t, s.Authorize(t, feishuAuthURL(s, nil), Member), feishuRedirect, "code", "state")
	if q.Get("state") != "RANDOMSTRING" {
		t.Errorf("state %q", q.Get("state"))
	}
	tok := feishuToken(t, s, feishuTokenBody(q.Get("code")))
	tok.expect(t, 200, map[string]any{"code": 0.0, "token_type": "Bearer", "expires_in": 7200.0,
		"scope": "contact:user.email:readonly contact:user.employee_id:readonly"})
	absent(t, tok.body, "refresh_token", "error", "data", "msg")

	info := feishuUserInfo(t, s, bearer(tok.str(t, "access_token")))
	info.expect(t, 200, map[string]any{"code": 0.0, "msg": "success"})
	data := info.body["data"].(map[string]any)
	for k, want := range map[string]any{"open_id": "ou_caecc734c2e3328a62489fe0648c4b98779515d3",
		"union_id": "on_d89jhsdhjsajkda7828enjdj328ydhhw3u43yjhdj", "tenant_key": FeishuTenant, "name": "张三",
		"email": "zhangsan@example.com", "enterprise_email": "zhangsan@corp.example.com", "user_id": "5d9bd7a1",
		"mobile": "+8613000288301", "employee_no": "111222333"} {
		if data[k] != want {
			t.Errorf("data.%s = %v, want %v", k, data[k], want)
		}
	}
	expectHits(t, s.vendor, map[string]int{"authorize": 1, "token": 1, "user_info": 1})
}

func TestFeishuSignIn(t *testing.T) {
	s, _ := newFeishu(t)
	refused := map[string]func(url.Values){
		"wrong client_id":     func(q url.Values) { q.Set("client_id", "cli_other") },
		"response_type token": func(q url.Values) { q.Set("response_type", "token") },
		"unregistered":        func(q url.Values) { q.Set("redirect_uri", "https://bridge.example.com/other") },
		"no PKCE":             func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") },
		"plain PKCE":          func(q url.Values) { q.Set("code_challenge_method", "plain") },
	}
	expectRefused(t, refused, func(edit func(url.Values)) string { return feishuAuthURL(s, edit) })
	t.Run("ungranted scope", func(t *testing.T) {
		s, _ := newFeishu(t)
		s.Shape(func(sh *VendorShape) { sh.Ungranted = []string{FeishuScopeEmail} })
		send(t, "GET", feishuAuthURL(s, nil), nil, nil).expect(t, 400, map[string]any{"code": 20027.0})
	})
	t.Run("unregistered answers 2000", func(t *testing.T) {
		send(t, "GET", feishuAuthURL(s, refused["unregistered"]), nil, nil).
			expect(t, 400, map[string]any{"code": 2000.0, "message": "redirect_uri unmatch"})
	})
	t.Run("query and fragment suffixes", func(t *testing.T) {
		cb := s.Authorize(t, feishuAuthURL(s, func(q url.Values) { q.Set("redirect_uri", feishuRedirect+"?from=x#/login") }), Member)
		u, _ := url.Parse(cb)
		if u.Fragment != "/login" || u.Query().Get("from") != "x" || u.Query().Get("code") == "" {
			t.Errorf("callback %s: want the fragment last, from kept, code added", cb)
		}
	})
	t.Run("no state sent, none returned", func(t *testing.T) {
		callbackQuery(t, s.Authorize(t, feishuAuthURL(s, func(q url.Values) { q.Del("state") }), Member), feishuRedirect, "code")
	})
	t.Run("refusal", func(t *testing.T) {
		q := callbackQuery(t, s.Refuse(t, feishuAuthURL(s, nil)), feishuRedirect, "error", "state")
		if q.Get("error") != "access_denied" {
			t.Errorf("refusal %v", q)
		}
	})
	t.Run("offline_access brings a refresh token", func(t *testing.T) {
		cb := s.Authorize(t, feishuAuthURL(s, func(q url.Values) { q.Set("scope", "offline_access") }), Member)
		tok := feishuToken(t, s, feishuTokenBody(callbackQuery(t, cb, feishuRedirect, "code", "state").Get("code")))
		tok.expect(t, 200, map[string]any{"code": 0.0, "refresh_token_expires_in": 604800.0, "scope": "offline_access"})
		if tok.str(t, "refresh_token") == "" {
			t.Error("no refresh_token")
		}
	})
}

func TestFeishuTokenFailures(t *testing.T) {
	edited := func(f func(b map[string]string)) func(*testing.T, *Feishu, *clock) any {
		return func(t *testing.T, s *Feishu, _ *clock) any {
			b := feishuTokenBody(feishuCode(t, s, Member))
			f(b)
			return b
		}
	}
	tests := []struct {
		name string
		req  func(t *testing.T, s *Feishu, clk *clock) any
		code float64
	}{
		{"used code", func(t *testing.T, s *Feishu, _ *clock) any {
			b := feishuTokenBody(feishuCode(t, s, Member))
			feishuToken(t, s, b).expect(t, 200, map[string]any{"code": 0.0})
			return b
		}, 20065},
		{"expired code", func(t *testing.T, s *Feishu, clk *clock) any {
			b := feishuTokenBody(feishuCode(t, s, Member))
			clk.add(5*time.Minute + time.Second)
			return b
		}, 20004},
		{"unknown code", edited(func(b map[string]string) { b["code"] = "nope" }), 20003},
		{"missing code", edited(func(b map[string]string) { delete(b, "code") }), 20001},
		{"wrong secret", edited(func(b map[string]string) { b["client_secret"] = "wrong" }), 20002},
		{"unknown app", edited(func(b map[string]string) { b["client_id"] = "cli_other" }), 20048},
		{"refresh grant", edited(func(b map[string]string) { b["grant_type"] = "refresh_token" }), 20036},
		{"wrong verifier", edited(func(b map[string]string) { b["code_verifier"] = feishuVerifier + "x" }), 20049},
		{"no verifier", edited(func(b map[string]string) { delete(b, "code_verifier") }), 20049},
		{"other redirect_uri", edited(func(b map[string]string) { b["redirect_uri"] = "https://bridge.example.com/x" }), 20071},
		{"form body", func(t *testing.T, s *Feishu, _ *clock) any {
			v := url.Values{}
			for k, x := range feishuTokenBody(feishuCode(t, s, Member)) {
				v.Set(k, x)
			}
			return v
		}, 20063},
		{"user outside the availability range", func(t *testing.T, s *Feishu, _ *clock) any {
			return feishuTokenBody(feishuCode(t, s, Outsider))
		}, 20010},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, clk := newFeishu(t)
			w := feishuToken(t, s, tc.req(t, s, clk))
			w.expect(t, 400, map[string]any{"code": tc.code})
			if w.str(t, "error") == "" || w.str(t, "error_description") == "" {
				t.Errorf("error body %v lacks error or error_description", w.body)
			}
			absent(t, w.body, "access_token")
		})
	}
	t.Run("basic auth and client_secret", func(t *testing.T) {
		s, _ := newFeishu(t)
		b := feishuTokenBody(feishuCode(t, s, Member))
		h := http.Header{"Authorization": {"Basic Y2xpX2E1ZDYxMTM1MmFmOWQwMGI6ZmVpc2h1LXNlY3JldA=="}}
		send(t, "POST", s.OpenURL+"/open-apis/authen/v2/oauth/token", h, b).expect(t, 400, map[string]any{"code": 20070.0})
	})
}

func TestFeishuUserInfo(t *testing.T) {
	status := func(st string) FeishuOptions {
		return FeishuOptions{Users: map[string]FeishuUser{"gone": {OpenID: "ou_gone", TenantKey: FeishuTenant, Status: st}}}
	}
	tests := []struct {
		name   string
		opts   FeishuOptions
		user   string
		before func(s *Feishu, clk *clock, tok *string)
		status int
		code   float64
	}{
		{"no token", FeishuOptions{}, Member, func(_ *Feishu, _ *clock, tok *string) { *tok = "" }, 400, 99991661},
		{"unknown token", FeishuOptions{}, Member, func(_ *Feishu, _ *clock, tok *string) { *tok = "eyJnope" }, 200, 20005},
		{"expired token", FeishuOptions{}, Member, func(_ *Feishu, clk *clock, _ *string) { clk.add(7200 * time.Second) }, 400, 99991677},
		{"forced expiry", FeishuOptions{}, Member, func(s *Feishu, _ *clock, _ *string) {
			s.Shape(func(sh *VendorShape) { sh.ExpireToken = true })
		}, 400, 99991677},
		{"resigned", status("resigned"), "gone", nil, 200, 20021},
		{"frozen", status("frozen"), "gone", nil, 200, 20022},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			tc.opts.Now = clk.now
			s := NewFeishu(t, tc.opts)
			tok := feishuSignedIn(t, s, tc.user)
			if tc.before != nil {
				tc.before(s, clk, &tok)
			}
			h := bearer(tok)
			if tok == "" {
				h = nil
			}
			w := feishuUserInfo(t, s, h)
			w.expect(t, tc.status, map[string]any{"code": tc.code})
			if w.str(t, "msg") == "" {
				t.Errorf("error body %v lacks msg", w.body)
			}
			absent(t, w.body, "data")
		})
	}

	users := []struct {
		user      string
		ungranted []string
		want      map[string]any
		absent    []string
	}{
		{Sparse, nil, map[string]any{"user_id": "7301234567890123456", "employee_no": "000123", "tenant_key": FeishuTenant},
			[]string{"email", "mobile", "enterprise_email", "avatar_url"}},
		{OtherCorp, nil, map[string]any{"tenant_key": FeishuOtherTenant}, nil},
		{Member, []string{FeishuScopeEmail, FeishuScopePhone, FeishuScopeUserID, FeishuScopeEmployee},
			map[string]any{"open_id": "ou_caecc734c2e3328a62489fe0648c4b98779515d3"},
			[]string{"email", "mobile", "user_id", "enterprise_email", "employee_no"}},
	}
	for _, tc := range users {
		t.Run(tc.user+" fields", func(t *testing.T) {
			s, _ := newFeishu(t)
			tok := feishuSignedIn(t, s, tc.user)
			s.Shape(func(sh *VendorShape) { sh.Ungranted = tc.ungranted })
			w := feishuUserInfo(t, s, bearer(tok))
			w.expect(t, 200, map[string]any{"code": 0.0})
			data := w.body["data"].(map[string]any)
			for k, want := range tc.want {
				if data[k] != want {
					t.Errorf("data.%s = %#v, want %#v", k, data[k], want)
				}
			}
			absent(t, data, tc.absent...)
		})
	}
}

func TestFeishuHooks(t *testing.T) {
	s, _ := newFeishu(t)
	s.Shape(func(sh *VendorShape) {
		// A business error on HTTP 200, which the docs never describe for the v2 token endpoint.
		sh.Replace = map[string]http.HandlerFunc{"token": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"code": 20050, "error": "server_error"})
		}}
		sh.Edit = map[string]func(map[string]any){"user_info": func(b map[string]any) { delete(b, "data") }}
	})
	feishuToken(t, s, feishuTokenBody(feishuCode(t, s, Member))).expect(t, 200, map[string]any{"code": 20050.0})
	s.Shape(func(sh *VendorShape) { sh.Replace = nil })
	w := feishuUserInfo(t, s, bearer(feishuSignedIn(t, s, Member)))
	w.expect(t, 200, map[string]any{"code": 0.0})
	absent(t, w.body, "data")
}
