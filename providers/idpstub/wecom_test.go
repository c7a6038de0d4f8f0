package idpstub

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const weComRedirect = "https://bridge.example.com/callback/wecom"

func newWeCom(t *testing.T) (*WeCom, *clock) {
	clk := newClock()
	return NewWeCom(t, WeComOptions{Now: clk.now}), clk
}

// weComOAuthURL is the documented in-client OAuth URL with snsapi_privateinfo and the agentid, after edit.
func weComOAuthURL(s *WeCom, edit func(url.Values)) string {
	q := url.Values{"appid": {WeComCorp}, "redirect_uri": {weComRedirect}, "response_type": {"code"},
		"scope": {"snsapi_privateinfo"}, "state": {"STATE123"}, "agentid": {"1000002"}}
	return withParams(s.OAuthURL+"/connect/oauth2/authorize", q, edit)
}

// weComLoginURL is the documented browser login URL, after edit.
func weComLoginURL(s *WeCom, edit func(url.Values)) string {
	q := url.Values{"login_type": {"CorpApp"}, "appid": {WeComCorp}, "agentid": {"1000002"},
		"redirect_uri": {weComRedirect}, "state": {"STATE123"}}
	return withParams(s.LoginURL+"/wwlogin/sso/login", q, edit)
}

func weComCode(t *testing.T, s *WeCom, user string) string {
	t.Helper()
	return callbackQuery(t, s.Authorize(t, weComOAuthURL(s, nil), user), weComRedirect, "code", "state").Get("code")
}

func weComToken(t *testing.T, s *WeCom) string {
	t.Helper()
	w := send(t, "GET", s.APIURL+"/cgi-bin/gettoken?corpid="+WeComCorp+"&corpsecret=wecom-secret", nil, nil)
	w.expect(t, 200, map[string]any{"errcode": 0.0, "errmsg": "ok"})
	return w.str(t, "access_token")
}

func weComUserInfo(t *testing.T, s *WeCom, token, code string) wire {
	t.Helper()
	return send(t, "GET", s.APIURL+"/cgi-bin/auth/getuserinfo?"+url.Values{"access_token": {token}, "code": {code}}.Encode(), nil, nil)
}

func weComDetail(t *testing.T, s *WeCom, token, ticket string) wire {
	t.Helper()
	return send(t, "POST", s.APIURL+"/cgi-bin/auth/getuserdetail?access_token="+url.QueryEscape(token), nil,
		map[string]string{"user_ticket": ticket})
}

func weComUserGet(t *testing.T, s *WeCom, token, userid string) wire {
	t.Helper()
	return send(t, "GET", s.APIURL+"/cgi-bin/user/get?"+url.Values{"access_token": {token}, "userid": {userid}}.Encode(), nil, nil)
}

func TestWeComHappyPath(t *testing.T) {
	s, _ := newWeCom(t)
	q := callbackQuery(t, s.Authorize(t, weComOAuthURL(s, nil), Member), weComRedirect, "code", "state")
	if q.Get("state") != "STATE123" {
		t.Errorf("state %q", q.Get("state"))
	}
	tok := weComToken(t, s)
	info := weComUserInfo(t, s, tok, q.Get("code"))
	info.expect(t, 200, map[string]any{"errcode": 0.0, "errmsg": "ok", "userid": "zhangsan"})
	absent(t, info.body, "openid", "external_userid")

	detail := weComDetail(t, s, tok, info.str(t, "user_ticket"))
	detail.expect(t, 200, map[string]any{"errcode": 0.0, "userid": "zhangsan", "gender": "1", "mobile": "13800000000",
		"email": "zhangsan@example.com", "biz_mail": "zhangsan@corp.example.com"})
	absent(t, detail.body, "name")

	member := weComUserGet(t, s, tok, "ZhangSan") // userids are case-insensitive
	member.expect(t, 200, map[string]any{"errcode": 0.0, "userid": "zhangsan", "name": "张三", "main_department": 1.0})
	absent(t, member.body, "mobile", "email", "avatar", "gender", "biz_mail")

	// A second sign-in reuses the cached corp token.
	weComUserInfo(t, s, tok, weComCode(t, s, Member)).expect(t, 200, map[string]any{"errcode": 0.0})
	expectHits(t, s.vendor, map[string]int{"authorize": 2, "gettoken": 1, "getuserinfo": 2, "getuserdetail": 1, "userGet": 1})
}

func TestWeComBrowserLogin(t *testing.T) {
	s, _ := newWeCom(t)
	q := callbackQuery(t, s.Authorize(t, weComLoginURL(s, nil), Member), weComRedirect, "code", "state", "appid")
	if q.Get("appid") != WeComCorp {
		t.Errorf("appid %q", q.Get("appid"))
	}
	info := weComUserInfo(t, s, weComToken(t, s), q.Get("code"))
	info.expect(t, 200, map[string]any{"errcode": 0.0, "userid": "zhangsan"})
	absent(t, info.body, "user_ticket")
	expectHits(t, s.vendor, map[string]int{"login": 1, "authorize": 0})
}

func TestWeComSignIn(t *testing.T) {
	s, _ := newWeCom(t)
	t.Run("oauth", func(t *testing.T) {
		expectRefused(t, map[string]func(url.Values){
			"wrong appid":         func(q url.Values) { q.Set("appid", WeComOtherCorp) },
			"response_type token": func(q url.Values) { q.Set("response_type", "token") },
			"snsapi_userinfo":     func(q url.Values) { q.Set("scope", "snsapi_userinfo") },
			"wrong agentid":       func(q url.Values) { q.Set("agentid", "1000003") },
			"state with symbols":  func(q url.Values) { q.Set("state", "a-b") },
			"state too long":      func(q url.Values) { q.Set("state", strings.Repeat("a", 129)) },
			"relative redirect":   func(q url.Values) { q.Set("redirect_uri", "/callback") },
		}, func(edit func(url.Values)) string { return weComOAuthURL(s, edit) })
	})
	t.Run("wwlogin", func(t *testing.T) {
		expectRefused(t, map[string]func(url.Values){
			"ServiceApp": func(q url.Values) { q.Set("login_type", "ServiceApp") },
			"no agentid": func(q url.Values) { q.Del("agentid") },
		}, func(edit func(url.Values)) string { return weComLoginURL(s, edit) })
	})
	t.Run("empty state is still sent", func(t *testing.T) {
		cb := s.Authorize(t, weComOAuthURL(s, func(q url.Values) { q.Del("state") }), Member)
		callbackQuery(t, cb, weComRedirect, "code", "state")
	})
	for _, page := range []func(*WeCom, func(url.Values)) string{weComOAuthURL, weComLoginURL} {
		q := callbackQuery(t, s.Refuse(t, page(s, nil)), weComRedirect, "state")
		if q.Get("state") != "STATE123" {
			t.Errorf("refusal %v", q)
		}
	}
	for scope, edit := range map[string]func(url.Values){
		"snsapi_base":                  func(q url.Values) { q.Set("scope", "snsapi_base") },
		"snsapi_privateinfo, no agent": func(q url.Values) { q.Del("agentid") },
	} {
		t.Run(scope+" gives no user_ticket", func(t *testing.T) {
			cb := s.Authorize(t, weComOAuthURL(s, edit), Member)
			info := weComUserInfo(t, s, weComToken(t, s), callbackQuery(t, cb, weComRedirect, "code", "state").Get("code"))
			info.expect(t, 200, map[string]any{"errcode": 0.0, "userid": "zhangsan"})
			absent(t, info.body, "user_ticket")
		})
	}
}

func TestWeComFailures(t *testing.T) {
	// Each case returns the URL (and JSON body, for POST) of one call; every error is HTTP 200.
	type call struct {
		method, url string
		body        any
	}
	info := func(tok, code string) call {
		return call{"GET", "/cgi-bin/auth/getuserinfo?" + url.Values{"access_token": {tok}, "code": {code}}.Encode(), nil}
	}
	tests := []struct {
		name    string
		call    func(t *testing.T, s *WeCom, clk *clock) call
		errcode float64
	}{
		{"used code", func(t *testing.T, s *WeCom, _ *clock) call {
			tok, code := weComToken(t, s), weComCode(t, s, Member)
			weComUserInfo(t, s, tok, code).expect(t, 200, map[string]any{"errcode": 0.0})
			return info(tok, code)
		}, 40029},
		{"expired code", func(t *testing.T, s *WeCom, clk *clock) call {
			tok, code := weComToken(t, s), weComCode(t, s, Member)
			clk.add(5*time.Minute + time.Second)
			return info(tok, code)
		}, 40029},
		{"unknown code", func(t *testing.T, s *WeCom, _ *clock) call { return info(weComToken(t, s), "nope") }, 40029},
		{"missing code", func(t *testing.T, s *WeCom, _ *clock) call { return info(weComToken(t, s), "") }, 41008},
		{"untrusted redirect host", func(t *testing.T, s *WeCom, _ *clock) call {
			cb := s.Authorize(t, weComOAuthURL(s, func(q url.Values) { q.Set("redirect_uri", "https://bridge.example.com:8443/cb") }), Member)
			code, _ := url.Parse(cb)
			return info(weComToken(t, s), code.Query().Get("code"))
		}, 50001},
		{"missing token", func(t *testing.T, s *WeCom, _ *clock) call { return info("", weComCode(t, s, Member)) }, 41001},
		{"invalid token", func(t *testing.T, s *WeCom, _ *clock) call { return info("nope", weComCode(t, s, Member)) }, 40014},
		{"token past expires_in", func(t *testing.T, s *WeCom, clk *clock) call {
			tok := weComToken(t, s)
			clk.add(7200 * time.Second)
			return info(tok, weComCode(t, s, Member))
		}, 42001},
		{"wrong secret", func(*testing.T, *WeCom, *clock) call {
			return call{"GET", "/cgi-bin/gettoken?corpid=" + WeComCorp + "&corpsecret=wrong", nil}
		}, 40001},
		{"wrong corpid", func(*testing.T, *WeCom, *clock) call {
			return call{"GET", "/cgi-bin/gettoken?corpid=" + WeComOtherCorp + "&corpsecret=wecom-secret", nil}
		}, 40013},
		{"missing corpid", func(*testing.T, *WeCom, *clock) call { return call{"GET", "/cgi-bin/gettoken?corpsecret=x", nil} }, 41002},
		{"missing secret", func(*testing.T, *WeCom, *clock) call {
			return call{"GET", "/cgi-bin/gettoken?corpid=" + WeComCorp, nil}
		}, 41004},
		{"unknown user_ticket", func(t *testing.T, s *WeCom, _ *clock) call {
			return call{"POST", "/cgi-bin/auth/getuserdetail?access_token=" + weComToken(t, s), map[string]string{"user_ticket": "nope"}}
		}, 40029},
		{"expired user_ticket", func(t *testing.T, s *WeCom, clk *clock) call {
			tok := weComToken(t, s)
			ticket := weComUserInfo(t, s, tok, weComCode(t, s, Member)).str(t, "user_ticket")
			clk.add(1800 * time.Second)
			tok = weComToken(t, s)
			return call{"POST", "/cgi-bin/auth/getuserdetail?access_token=" + tok, map[string]string{"user_ticket": ticket}}
		}, 40029},
		{"unknown userid", func(t *testing.T, s *WeCom, _ *clock) call {
			return call{"GET", "/cgi-bin/user/get?access_token=" + weComToken(t, s) + "&userid=nobody", nil}
		}, 60111},
		{"linked company's userid", func(t *testing.T, s *WeCom, _ *clock) call {
			return call{"GET", "/cgi-bin/user/get?access_token=" + weComToken(t, s) + "&userid=lisi", nil}
		}, 60111},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, clk := newWeCom(t)
			c := tc.call(t, s, clk)
			w := send(t, c.method, s.APIURL+c.url, nil, c.body)
			w.expect(t, 200, map[string]any{"errcode": tc.errcode})
			if w.str(t, "errmsg") == "" || w.str(t, "errmsg") == "ok" {
				t.Errorf("errmsg %q", w.str(t, "errmsg"))
			}
		})
	}
}

func TestWeComCorpTokenRefetch(t *testing.T) {
	s, _ := newWeCom(t)
	old := weComToken(t, s)
	s.Shape(func(sh *VendorShape) { sh.ExpireToken = true })
	weComUserInfo(t, s, old, weComCode(t, s, Member)).expect(t, 200, map[string]any{"errcode": 42001.0})
	fresh := weComToken(t, s)
	if fresh == old {
		t.Fatal("gettoken answered the expired token again")
	}
	weComUserInfo(t, s, fresh, weComCode(t, s, Member)).expect(t, 200, map[string]any{"errcode": 0.0})
	weComUserInfo(t, s, old, weComCode(t, s, Member)).expect(t, 200, map[string]any{"errcode": 42001.0})
	expectHits(t, s.vendor, map[string]int{"gettoken": 2, "getuserinfo": 3})
}

func TestWeComUsers(t *testing.T) {
	tests := []struct {
		user      string
		ungranted []string
		info      map[string]any // getuserinfo fields
		detail    map[string]any // getuserdetail fields, nil when there is no user_ticket
		absent    []string       // getuserdetail fields left out
	}{
		{Sparse, nil, map[string]any{"userid": "18612345678901234567"},
			map[string]any{"userid": "18612345678901234567", "gender": "2"}, []string{"mobile", "email", "biz_mail", "address"}},
		{OtherCorp, nil, map[string]any{"userid": WeComOtherCorp + "/lisi", "user_ticket": nil}, nil, nil},
		{Outsider, nil, map[string]any{"userid": nil, "openid": "oAAAAAAAzGQ2Kl3aGuyRa7U7n9dw",
			"external_userid": "wmAAAAAAAA9oD5Ri_P2eGmcrVUBMKzpQ", "user_ticket": nil}, nil, nil},
		{Member, []string{WeComFieldGender, WeComFieldMobile, WeComFieldEmail, WeComFieldAvatar}, map[string]any{"userid": "zhangsan"},
			map[string]any{"gender": "0", "avatar": "http://wx.qlogo.cn/mmhead/default/0", "biz_mail": "zhangsan@corp.example.com"},
			[]string{"mobile", "email"}},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			s, _ := newWeCom(t)
			s.Shape(func(sh *VendorShape) { sh.Ungranted = tc.ungranted })
			tok := weComToken(t, s)
			info := weComUserInfo(t, s, tok, weComCode(t, s, tc.user))
			info.expect(t, 200, tc.info)
			if tc.detail == nil {
				return
			}
			d := weComDetail(t, s, tok, info.str(t, "user_ticket"))
			d.expect(t, 200, tc.detail)
			absent(t, d.body, tc.absent...)
		})
	}
	t.Run("configured user", func(t *testing.T) {
		s := NewWeCom(t, WeComOptions{CorpID: "wwcustom", Users: map[string]WeComUser{Member: {UserID: "agent7", CorpID: "wwcustom", Name: "A7"}}})
		q := url.Values{"appid": {"wwcustom"}, "redirect_uri": {weComRedirect}, "response_type": {"code"}, "scope": {"snsapi_base"}}
		code := callbackQuery(t, s.Authorize(t, withParams(s.OAuthURL+"/connect/oauth2/authorize", q, nil), Member),
			weComRedirect, "code", "state").Get("code")
		tok := send(t, "GET", s.APIURL+"/cgi-bin/gettoken?corpid=wwcustom&corpsecret=wecom-secret", nil, nil).str(t, "access_token")
		weComUserInfo(t, s, tok, code).expect(t, 200, map[string]any{"userid": "agent7"})
	})
}

func TestWeComHooks(t *testing.T) {
	s, _ := newWeCom(t)
	s.Shape(func(sh *VendorShape) {
		sh.Edit = map[string]func(map[string]any){"gettoken": func(b map[string]any) { b["expires_in"] = "7200" }}
		sh.Replace = map[string]http.HandlerFunc{"getuserinfo": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"errcode": -1, "errmsg": "system busy"})
		}}
	})
	w := send(t, "GET", s.APIURL+"/cgi-bin/gettoken?corpid="+WeComCorp+"&corpsecret=wecom-secret", nil, nil)
	w.expect(t, 200, map[string]any{"expires_in": "7200"})
	weComUserInfo(t, s, w.str(t, "access_token"), weComCode(t, s, Member)).expect(t, 200, map[string]any{"errcode": -1.0})
}
