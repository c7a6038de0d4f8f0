package idpstub

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

const dingRedirect = "https://bridge.example.com/callback/dingtalk"

func newDing(t *testing.T) (*DingTalk, *clock) {
	clk := newClock()
	return NewDingTalk(t, DingTalkOptions{Now: clk.now}), clk
}

// dingAuthURL is the documented sign-in URL, after edit.
func dingAuthURL(s *DingTalk, edit func(url.Values)) string {
	q := url.Values{"redirect_uri": {dingRedirect}, "response_type": {"code"}, "client_id": {"dingclient123"},
		"scope": {"openid corpid"}, "state": {"st-1"}, "prompt": {"consent"}}
	return withParams(s.LoginURL+"/oauth2/auth", q, edit)
}

// dingCode signs user in and returns the authCode.
func dingCode(t *testing.T, s *DingTalk, user string) string {
	t.Helper()
	return callbackQuery(t, s.Authorize(t, dingAuthURL(s, nil), user), dingRedirect, "authCode", "code", "state").Get("authCode")
}

func dingUserToken(t *testing.T, s *DingTalk, code string) wire {
	t.Helper()
	return send(t, "POST", s.APIURL+"/v1.0/oauth2/userAccessToken", nil, map[string]string{
		"clientId": "dingclient123", "clientSecret": "dingtalk-secret", "code": code, "grantType": "authorization_code"})
}

func dingCorpToken(t *testing.T, s *DingTalk) string {
	t.Helper()
	w := send(t, "GET", s.OAPIURL+"/gettoken?appkey=dingclient123&appsecret=dingtalk-secret", nil, nil)
	w.expect(t, 200, map[string]any{"errcode": 0.0, "errmsg": "ok"})
	return w.str(t, "access_token")
}

func dingMe(t *testing.T, s *DingTalk, token string) wire {
	t.Helper()
	return send(t, "GET", s.APIURL+"/v1.0/contact/users/me", http.Header{"x-acs-dingtalk-access-token": {token}}, nil)
}

func dingTop(t *testing.T, s *DingTalk, path, token string, body any) wire {
	t.Helper()
	return send(t, "POST", s.OAPIURL+"/topapi/"+path+"?access_token="+url.QueryEscape(token), nil, body)
}

func TestDingTalkHappyPath(t *testing.T) {
	s, _ := newDing(t)
	q := callbackQuery(t, s.Authorize(t, dingAuthURL(s, nil), Member), dingRedirect, "authCode", "code", "state")
	if q.Get("authCode") == "" || q.Get("authCode") != q.Get("code") || q.Get("state") != "st-1" {
		t.Fatalf("callback %v: want authCode = code and state st-1", q)
	}

	tok := dingUserToken(t, s, q.Get("authCode"))
	tok.expect(t, 200, map[string]any{"expireIn": 7200.0, "corpId": DingTalkCorp})
	if tok.str(t, "accessToken") == "" || tok.str(t, "refreshToken") == "" {
		t.Fatalf("token response %v", tok.body)
	}

	me := dingMe(t, s, tok.str(t, "accessToken"))
	me.expect(t, 200, map[string]any{"unionId": "z21HjQliSzpw0YWCiiSr1jgiEiE", "nick": "zhangsan",
		"mobile": "15012349144", "stateCode": "86", "email": "zhangsan@example.com"})
	absent(t, me.body, "userId", "userid")

	corp := send(t, "POST", s.APIURL+"/v1.0/oauth2/accessToken", nil,
		map[string]string{"appKey": "dingclient123", "appSecret": "dingtalk-secret"})
	corp.expect(t, 200, map[string]any{"expireIn": 7200.0})

	byUnion := dingTop(t, s, "user/getbyunionid", corp.str(t, "accessToken"), map[string]string{"unionid": me.str(t, "unionId")})
	byUnion.expect(t, 200, map[string]any{"errcode": 0.0, "errmsg": "ok"})
	res := byUnion.body["result"].(map[string]any)
	if res["userid"] != "zhangsan" || res["contact_type"] != 0.0 {
		t.Fatalf("getbyunionid result %v", res)
	}

	// topapi bodies are documented as form fields; both encodings are accepted.
	detail := dingTop(t, s, "v2/user/get", corp.str(t, "accessToken"), url.Values{"userid": {"zhangsan"}, "language": {"zh_CN"}})
	detail.expect(t, 200, map[string]any{"errcode": 0.0})
	d := detail.body["result"].(map[string]any)
	for k, want := range map[string]any{"name": "张三", "mobile": "15012349144", "email": "zhangsan@example.com",
		"org_email": "zhangsan@corp.example.com", "active": true, "unionid": "z21HjQliSzpw0YWCiiSr1jgiEiE"} {
		if d[k] != want {
			t.Errorf("v2/user/get %s = %v, want %v", k, d[k], want)
		}
	}

	expectHits(t, s.vendor, map[string]int{"authorize": 1, "userAccessToken": 1, "contactUser": 1, "accessToken": 1,
		"getbyunionid": 1, "userGet": 1, "gettoken": 0})
}

func TestDingTalkSignIn(t *testing.T) {
	s, _ := newDing(t)
	refused := map[string]func(url.Values){
		"wrong client_id":       func(q url.Values) { q.Set("client_id", "dingother") },
		"no client_id":          func(q url.Values) { q.Del("client_id") },
		"response_type token":   func(q url.Values) { q.Set("response_type", "token") },
		"foreign redirect":      func(q url.Values) { q.Set("redirect_uri", "https://evil.example.net/callback/dingtalk") },
		"scope without openid":  func(q url.Values) { q.Set("scope", "corpid") },
		"unknown scope":         func(q url.Values) { q.Set("scope", "openid email") },
		"no prompt":             func(q url.Values) { q.Del("prompt") },
		"corpId pins other org": func(q url.Values) { q.Set("corpId", DingTalkOtherCorp) },
	}
	expectRefused(t, refused, func(edit func(url.Values)) string { return dingAuthURL(s, edit) })
	t.Run("same domain, other path", func(t *testing.T) {
		other := "https://bridge.example.com/other"
		cb := s.Authorize(t, dingAuthURL(s, func(q url.Values) { q.Set("redirect_uri", other) }), Member)
		callbackQuery(t, cb, other, "authCode", "code", "state")
	})
	t.Run("personal scopes and no state", func(t *testing.T) {
		cb := s.Authorize(t, dingAuthURL(s, func(q url.Values) {
			q.Set("scope", "openid Contact.User.Read Contact.User.mobile")
			q.Del("state")
		}), Member)
		callbackQuery(t, cb, dingRedirect, "authCode", "code")
	})
	t.Run("refusal", func(t *testing.T) {
		q := callbackQuery(t, s.Refuse(t, dingAuthURL(s, nil)), dingRedirect, "error", "state")
		if q.Get("error") != "access_denied" || q.Get("state") != "st-1" {
			t.Errorf("refusal %v", q)
		}
	})
}

func TestDingTalkUserAccessTokenFailures(t *testing.T) {
	type body = map[string]string
	good := func(code string) body {
		return body{"clientId": "dingclient123", "clientSecret": "dingtalk-secret", "code": code, "grantType": "authorization_code"}
	}
	tests := []struct {
		name   string
		req    func(t *testing.T, s *DingTalk, clk *clock) any
		status int
		code   string
	}{
		{"used code", func(t *testing.T, s *DingTalk, _ *clock) any {
			c := dingCode(t, s, Member)
			dingUserToken(t, s, c).expect(t, 200, nil)
			return good(c)
		}, 400, "invalidCode"},
		{"expired code", func(t *testing.T, s *DingTalk, clk *clock) any {
			c := dingCode(t, s, Member)
			clk.add(5*time.Minute + time.Second)
			return good(c)
		}, 400, "invalidCode"},
		{"unknown code", func(*testing.T, *DingTalk, *clock) any { return good("nope") }, 400, "invalidCode"},
		{"wrong secret", func(t *testing.T, s *DingTalk, _ *clock) any {
			b := good(dingCode(t, s, Member))
			b["clientSecret"] = "wrong"
			return b
		}, 400, "invalidClientIdOrSecret"},
		{"wrong client", func(t *testing.T, s *DingTalk, _ *clock) any {
			b := good(dingCode(t, s, Member))
			b["clientId"] = "dingother"
			return b
		}, 400, "invalidClientIdOrSecret"},
		{"form body", func(t *testing.T, s *DingTalk, _ *clock) any {
			return url.Values{"clientId": {"dingclient123"}, "clientSecret": {"dingtalk-secret"},
				"code": {dingCode(t, s, Member)}, "grantType": {"authorization_code"}}
		}, 400, "invalidParameter"},
		{"refresh grant", func(t *testing.T, s *DingTalk, _ *clock) any {
			b := good("")
			b["grantType"], b["refreshToken"] = "refresh_token", "abcd"
			return b
		}, 400, "invalidParameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, clk := newDing(t)
			w := send(t, "POST", s.APIURL+"/v1.0/oauth2/userAccessToken", nil, tc.req(t, s, clk))
			w.expect(t, tc.status, map[string]any{"code": tc.code})
			if w.str(t, "message") == "" || w.str(t, "requestid") == "" {
				t.Errorf("error envelope %v lacks message or requestid", w.body)
			}
		})
	}
}

func TestDingTalkUsers(t *testing.T) {
	tests := []struct {
		user       string
		scope      string
		corpID     any // the token response's corpId, nil when absent
		mobile     any
		topapiCode float64 // getbyunionid errcode with the app's corp token
	}{
		{Member, "openid corpid", DingTalkCorp, "15012349144", 0},
		{Member, "openid", nil, "15012349144", 0},
		{Sparse, "openid corpid", DingTalkCorp, nil, 0},
		{OtherCorp, "openid corpid", DingTalkOtherCorp, "13900001111", 60121},
		{Outsider, "openid corpid", nil, "13700002222", 60121},
	}
	for _, tc := range tests {
		t.Run(tc.user+" "+tc.scope, func(t *testing.T) {
			s, _ := newDing(t)
			cb := s.Authorize(t, dingAuthURL(s, func(q url.Values) { q.Set("scope", tc.scope) }), tc.user)
			tok := dingUserToken(t, s, callbackQuery(t, cb, dingRedirect, "authCode", "code", "state").Get("code"))
			tok.expect(t, 200, map[string]any{"corpId": tc.corpID})
			me := dingMe(t, s, tok.str(t, "accessToken"))
			me.expect(t, 200, map[string]any{"mobile": tc.mobile})
			union := me.str(t, "unionId")
			w := dingTop(t, s, "user/getbyunionid", dingCorpToken(t, s), map[string]string{"unionid": union})
			w.expect(t, 200, map[string]any{"errcode": tc.topapiCode})
		})
	}
	t.Run("sparse ids stay strings and optional fields are absent", func(t *testing.T) {
		s, _ := newDing(t)
		me := dingMe(t, s, dingUserToken(t, s, dingCode(t, s, Sparse)).str(t, "accessToken"))
		me.expect(t, 200, map[string]any{"unionId": "9007199254740993123", "openId": "9007199254740993456"})
		absent(t, me.body, "email", "mobile", "stateCode")
		d := dingTop(t, s, "v2/user/get", dingCorpToken(t, s), map[string]string{"userid": "012345678901234567890"})
		d.expect(t, 200, map[string]any{"errcode": 0.0})
		res := d.body["result"].(map[string]any)
		if res["userid"] != "012345678901234567890" {
			t.Errorf("userid %#v", res["userid"])
		}
		absent(t, res, "email", "mobile", "org_email")
	})
	t.Run("configured user", func(t *testing.T) {
		extra := DingTalkUser{UnionID: "u-extra", UserID: "agent7", CorpID: DingTalkCorp, Nick: "agent7"}
		s := NewDingTalk(t, DingTalkOptions{Users: map[string]DingTalkUser{"agent7": extra}})
		me := dingMe(t, s, dingUserToken(t, s, dingCode(t, s, "agent7")).str(t, "accessToken"))
		me.expect(t, 200, map[string]any{"unionId": "u-extra", "nick": "agent7"})
	})
}

func TestDingTalkContactUserFailures(t *testing.T) {
	tests := []struct {
		name      string
		ungranted []string
		header    func(user, corp string) http.Header
		path      string
		status    int
		code      string
	}{
		{"no header", nil, func(string, string) http.Header { return nil }, "me", 400, "AuthenticationFailed.MissingParameter"},
		{"bearer instead of header", nil, func(u, _ string) http.Header { return http.Header{"Authorization": {"Bearer " + u}} },
			"me", 400, "AuthenticationFailed.MissingParameter"},
		{"unknown token", nil, func(string, string) http.Header { return http.Header{"x-acs-dingtalk-access-token": {"nope"}} },
			"me", 400, "InvalidAuthentication"},
		{"corp token", nil, func(_, c string) http.Header { return http.Header{"x-acs-dingtalk-access-token": {c}} },
			"me", 403, "Forbidden.AccessDenied.AccessTokenPermissionDenied"},
		{"without Contact.User.Read", []string{DingTalkPermContactRead},
			func(u, _ string) http.Header { return http.Header{"x-acs-dingtalk-access-token": {u}} },
			"me", 403, "Forbidden.AccessDenied.AccessTokenPermissionDenied"},
		{"unknown unionId", nil, func(u, _ string) http.Header { return http.Header{"x-acs-dingtalk-access-token": {u}} },
			"nobody", 404, "invalidParameter.user.notFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newDing(t)
			user := dingUserToken(t, s, dingCode(t, s, Member)).str(t, "accessToken")
			s.Shape(func(sh *VendorShape) { sh.Ungranted = tc.ungranted })
			w := send(t, "GET", s.APIURL+"/v1.0/contact/users/"+tc.path, tc.header(user, dingCorpToken(t, s)), nil)
			w.expect(t, tc.status, map[string]any{"code": tc.code})
		})
	}
	t.Run("expired user token", func(t *testing.T) {
		s, clk := newDing(t)
		user := dingUserToken(t, s, dingCode(t, s, Member)).str(t, "accessToken")
		clk.add(7200 * time.Second)
		dingMe(t, s, user).expect(t, 400, map[string]any{"code": "InvalidAuthentication"})
	})
	t.Run("without Contact.User.mobile", func(t *testing.T) {
		s, _ := newDing(t)
		s.Shape(func(sh *VendorShape) { sh.Ungranted = []string{DingTalkPermContactMobile} })
		me := dingMe(t, s, dingUserToken(t, s, dingCode(t, s, Member)).str(t, "accessToken"))
		me.expect(t, 200, map[string]any{"email": "zhangsan@example.com"})
		absent(t, me.body, "mobile", "stateCode")
	})
}

func TestDingTalkTopapi(t *testing.T) {
	tests := []struct {
		name      string
		ungranted []string
		path      string
		token     func(t *testing.T, s *DingTalk) string
		body      any
		errcode   float64
		subCode   any
		absent    []string
	}{
		{"user token refused", nil, "user/getbyunionid", func(t *testing.T, s *DingTalk) string {
			return dingUserToken(t, s, dingCode(t, s, Member)).str(t, "accessToken")
		}, map[string]string{"unionid": "z21HjQliSzpw0YWCiiSr1jgiEiE"}, 88, "40014", nil},
		{"blank token", nil, "v2/user/get", func(*testing.T, *DingTalk) string { return "" },
			map[string]string{"userid": "zhangsan"}, 88, "40000", nil},
		{"missing unionid", nil, "user/getbyunionid", dingCorpToken, map[string]string{}, 400002, nil, nil},
		{"unknown unionid", nil, "user/getbyunionid", dingCorpToken, map[string]string{"unionid": "nobody"}, 60121, nil, nil},
		{"missing userid", nil, "v2/user/get", dingCorpToken, url.Values{}, 400002, nil, nil},
		{"userid of another org", nil, "v2/user/get", dingCorpToken, map[string]string{"userid": "wangwu"}, 33012, nil, nil},
		{"without employee mobile", []string{DingTalkPermEmployeeMobile}, "v2/user/get", dingCorpToken,
			map[string]string{"userid": "zhangsan"}, 0, nil, []string{"mobile"}},
		{"without personal info", []string{DingTalkPermPersonalInfo}, "v2/user/get", dingCorpToken,
			map[string]string{"userid": "zhangsan"}, 0, nil, []string{"email", "work_place"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newDing(t)
			s.Shape(func(sh *VendorShape) { sh.Ungranted = tc.ungranted })
			w := dingTop(t, s, tc.path, tc.token(t, s), tc.body)
			w.expect(t, 200, map[string]any{"errcode": tc.errcode, "sub_code": tc.subCode})
			if w.str(t, "errmsg") == "" || w.str(t, "request_id") == "" {
				t.Errorf("envelope %v lacks errmsg or request_id", w.body)
			}
			if tc.absent != nil {
				absent(t, w.body["result"].(map[string]any), tc.absent...)
			}
		})
	}
}

func TestDingTalkCorpToken(t *testing.T) {
	t.Run("cached while it lives", func(t *testing.T) {
		s, _ := newDing(t)
		a := dingCorpToken(t, s)
		b := send(t, "POST", s.APIURL+"/v1.0/oauth2/accessToken", nil,
			map[string]string{"appKey": "dingclient123", "appSecret": "dingtalk-secret"}).str(t, "accessToken")
		if a != b || s.Hits("gettoken") != 1 || s.Hits("accessToken") != 1 {
			t.Errorf("tokens %q %q, hits %d %d", a, b, s.Hits("gettoken"), s.Hits("accessToken"))
		}
	})
	t.Run("forced expiry, then refetch", func(t *testing.T) {
		s, _ := newDing(t)
		old := dingCorpToken(t, s)
		s.Shape(func(sh *VendorShape) { sh.ExpireToken = true })
		body := map[string]string{"userid": "zhangsan"}
		w := dingTop(t, s, "v2/user/get", old, body)
		w.expect(t, 200, map[string]any{"errcode": 88.0, "sub_code": "42001"})
		dingTop(t, s, "v2/user/get", old, body).expect(t, 200, map[string]any{"sub_code": "42001"})
		fresh := dingCorpToken(t, s)
		if fresh == old {
			t.Fatal("gettoken answered the expired token again")
		}
		dingTop(t, s, "v2/user/get", fresh, body).expect(t, 200, map[string]any{"errcode": 0.0})
	})
	t.Run("expires after expires_in", func(t *testing.T) {
		s, clk := newDing(t)
		tok := dingCorpToken(t, s)
		clk.add(7200 * time.Second)
		dingTop(t, s, "v2/user/get", tok, map[string]string{"userid": "zhangsan"}).expect(t, 200, map[string]any{"sub_code": "42001"})
	})
	bad := []struct {
		name    string
		query   string
		errcode float64
	}{
		{"wrong secret", "appkey=dingclient123&appsecret=wrong", 40096},
		{"missing secret", "appkey=dingclient123", 40035},
	}
	for _, tc := range bad {
		t.Run("gettoken "+tc.name, func(t *testing.T) {
			s, _ := newDing(t)
			send(t, "GET", s.OAPIURL+"/gettoken?"+tc.query, nil, nil).expect(t, 200, map[string]any{"errcode": tc.errcode})
		})
	}
	t.Run("accessToken wrong secret", func(t *testing.T) {
		s, _ := newDing(t)
		send(t, "POST", s.APIURL+"/v1.0/oauth2/accessToken", nil, map[string]string{"appKey": "dingclient123", "appSecret": "x"}).
			expect(t, 400, map[string]any{"code": "invalidClientIdOrSecret"})
	})
}

func TestDingTalkHooks(t *testing.T) {
	s, _ := newDing(t)
	s.Shape(func(sh *VendorShape) {
		sh.Edit = map[string]func(map[string]any){"userAccessToken": func(b map[string]any) { b["expireIn"] = "7200" }}
		sh.Replace = map[string]http.HandlerFunc{"contactUser": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusBadGateway, map[string]any{"code": "ServiceUnavailable"})
		}}
	})
	tok := dingUserToken(t, s, dingCode(t, s, Member))
	tok.expect(t, 200, map[string]any{"expireIn": "7200"})
	dingMe(t, s, tok.str(t, "accessToken")).expect(t, 502, map[string]any{"code": "ServiceUnavailable"})
	if s.Hits("contactUser") != 1 {
		t.Errorf("a replaced endpoint still counts its hit: %d", s.Hits("contactUser"))
	}
}
