package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// dingEnv is a DingTalk stub and a dingtalk provider configured against it, on one clock.
type dingEnv struct {
	s   *idpstub.DingTalk
	p   testProvider
	clk *clock
}

// dingTalkEnv builds the pair; edit changes the provider's configuration, rt (when not nil) wraps its
// HTTP transport.
func dingTalkEnv(t *testing.T, edit func(*DingTalkConfig), rt func(http.RoundTripper) http.RoundTripper) *dingEnv {
	t.Helper()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s := idpstub.NewDingTalk(t, idpstub.DingTalkOptions{ClientID: testClientID, ClientSecret: testSecret, Now: clk.now})
	cfg := &DingTalkConfig{ClientID: testClientID, ClientSecret: testSecret, CorpID: idpstub.DingTalkCorp,
		LoginURL: s.LoginURL, APIURL: s.APIURL, OAPIURL: s.OAPIURL}
	if edit != nil {
		edit(cfg)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if rt != nil {
		client.Transport = rt(http.DefaultTransport)
	}
	p, err := Build(TypeDingTalk, Common{ID: "dingtalk", RedirectURL: testRedirect}, cfg, Options{HTTPClient: client, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return &dingEnv{s: s, p: testProvider{p}, clk: clk}
}

// authorize signs user in on the stub's login page; edit may change the authorization URL's query first.
func (e *dingEnv) authorize(t *testing.T, user string, edit func(url.Values)) url.Values {
	t.Helper()
	raw, err := e.p.AuthCodeURL(context.Background(), authRequest())
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		u, _ := url.Parse(raw)
		q := u.Query()
		edit(q)
		u.RawQuery = q.Encode()
		raw = u.String()
	}
	return dingCallbackQuery(t, e.s.Authorize(t, raw, user))
}

func (e *dingEnv) callback(q url.Values) (*Identity, error) {
	return e.p.Callback(context.Background(), CallbackRequest{Query: q, CodeVerifier: testVerifier, Nonce: "nonce-xyz"})
}

// login is authorize then callback.
func (e *dingEnv) login(t *testing.T, user string) (*Identity, error) {
	t.Helper()
	return e.callback(e.authorize(t, user, nil))
}

func dingCallbackQuery(t *testing.T, cb string) url.Values {
	t.Helper()
	u, err := url.Parse(cb)
	if err != nil || !strings.HasPrefix(cb, "https://bridge.example.com/callback/idp?") {
		t.Fatalf("callback %q", cb)
	}
	return u.Query()
}

// dingNoPin drops the login page's corpId: the user holds the authorization URL and may edit it, so the token
// answer's corpId must be checked all the same.
func dingNoPin(q url.Values) { q.Del("corpId") }

// dingEnvelope replaces an oapi answer with an errcode envelope.
func dingEnvelope(errcode int, errmsg string) func(map[string]any) {
	return func(b map[string]any) {
		delete(b, "result")
		b["errcode"], b["errmsg"] = errcode, errmsg
	}
}

// dingStripHeader is a transport that loses DingTalk's token header, as a client sending Bearer would.
type dingStripHeader struct{ base http.RoundTripper }

func (s dingStripHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del("x-acs-dingtalk-access-token")
	return s.base.RoundTrip(r)
}

func TestDingTalkAuthCodeURL(t *testing.T) {
	e := dingTalkEnv(t, nil, nil)
	raw, err := e.p.AuthCodeURL(context.Background(), authRequest())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	if got := u.Scheme + "://" + u.Host + u.Path; got != e.s.LoginURL+"/oauth2/auth" {
		t.Errorf("endpoint %s", got)
	}
	want := url.Values{"client_id": {testClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"},
		"scope": {"openid corpid"}, "prompt": {"consent"}, "state": {"state-abc"}, "corpId": {idpstub.DingTalkCorp}}
	if got := u.Query(); !dingEqualValues(got, want) {
		t.Errorf("query %v, want %v (no PKCE, nonce nor exclusive login)", got, want)
	}
	if !strings.Contains(u.RawQuery, "scope=openid%20corpid") {
		t.Errorf("scope's space is not %%20-encoded: %s", u.RawQuery)
	}

	ex := dingTalkEnv(t, func(c *DingTalkConfig) { c.ExclusiveLogin = true }, nil)
	raw, _ = ex.p.AuthCodeURL(context.Background(), authRequest())
	u, _ = url.Parse(raw)
	if q := u.Query(); q.Get("exclusiveLogin") != "true" || q.Get("exclusiveCorpId") != idpstub.DingTalkCorp {
		t.Errorf("exclusive_login: query %v", q)
	}
	if _, err := e.p.AuthCodeURL(context.Background(), AuthRequest{CodeVerifier: testVerifier}); err == nil {
		t.Error("a login without state was accepted")
	}
}

func dingEqualValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if strings.Join(a[k], "\x00") != strings.Join(v, "\x00") {
			return false
		}
	}
	return true
}

func TestDingTalkCallback(t *testing.T) {
	e := dingTalkEnv(t, nil, nil)
	id, err := e.login(t, idpstub.Member)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "zhangsan" || id.Provider != "dingtalk" || id.AccessToken == "" || id.Unpinned != "" {
		t.Errorf("identity %+v", id)
	}
	want := map[string]any{
		"corpId": idpstub.DingTalkCorp, "unionId": "z21HjQliSzpw0YWCiiSr1jgiEiE", "openId": "Ww8DiPiSf1jvO1xJiEiE",
		"nick": "zhangsan", "email": "zhangsan@example.com", "mobile": "15012349144", "stateCode": "86",
		"userid": "zhangsan", "name": "张三", "title": "坐席", "job_number": "A1001", "org_email": "zhangsan@corp.example.com",
		"email_verified": false, "mobile_verified": false,
	}
	for k, v := range want {
		if id.Claims[k] != v {
			t.Errorf("claim %s = %#v, want %#v", k, id.Claims[k], v)
		}
	}
	// The code arrives as authCode; DingTalk sends the same value as code, which is accepted alone too.
	q := e.authorize(t, idpstub.Member, nil)
	q.Del("authCode")
	if _, err := e.callback(q); err != nil {
		t.Errorf("callback with code only: %v", err)
	}

	t.Run("numeric-looking ids stay strings", func(t *testing.T) {
		id, err := e.login(t, idpstub.Sparse)
		if err != nil {
			t.Fatal(err)
		}
		if id.Subject != "012345678901234567890" || id.Claims["unionId"] != "9007199254740993123" {
			t.Errorf("subject %q, unionId %#v", id.Subject, id.Claims["unionId"])
		}
		for _, k := range []string{"email", "mobile", "mobile_verified", "org_email"} {
			if _, ok := id.Claims[k]; ok {
				t.Errorf("claim %s present for a user without it", k)
			}
		}
	})
	t.Run("trust opt-in", func(t *testing.T) {
		e := dingTalkEnv(t, func(c *DingTalkConfig) { c.ContactTrust = ContactTrust{TrustEmail: true, TrustMobile: true} }, nil)
		id, err := e.login(t, idpstub.Member)
		if err != nil || id.Claims["email_verified"] != true || id.Claims["mobile_verified"] != true {
			t.Fatalf("%v %v", err, id)
		}
	})
	t.Run("without the mobile permissions", func(t *testing.T) {
		e := dingTalkEnv(t, nil, nil)
		e.s.Shape(func(sh *idpstub.VendorShape) {
			sh.Ungranted = []string{idpstub.DingTalkPermContactMobile, idpstub.DingTalkPermEmployeeMobile}
		})
		id, err := e.login(t, idpstub.Member)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := id.Claims["mobile"]; ok {
			t.Errorf("mobile %v without permission", id.Claims["mobile"])
		}
	})
	t.Run("enterprise lookup off", func(t *testing.T) {
		e := dingTalkEnv(t, func(c *DingTalkConfig) { off := false; c.EnterpriseLookup = &off }, nil)
		id, err := e.login(t, idpstub.Member)
		if err != nil {
			t.Fatal(err)
		}
		if id.Subject != "z21HjQliSzpw0YWCiiSr1jgiEiE" || id.Claims["userid"] != nil || id.Unpinned != "" {
			t.Errorf("identity %+v", id)
		}
		if n := e.s.Hits("accessToken") + e.s.Hits("getbyunionid") + e.s.Hits("userGet"); n != 0 {
			t.Errorf("%d enterprise calls with the lookup off", n)
		}
	})
}

// TestDingTalkRefusals: one row per way a login is refused, each with its stable code and safe detail.
func TestDingTalkRefusals(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		authURL func(url.Values)
		config  func(*DingTalkConfig)
		rt      func(http.RoundTripper) http.RoundTripper
		shape   func(e *dingEnv)               // before the login
		between func(e *dingEnv, q url.Values) // between the login page and the callback
		code    string
		detail  string
	}{
		{name: "other company", user: idpstub.OtherCorp, authURL: dingNoPin, code: CodeTenantNotAllowed, detail: idpstub.DingTalkOtherCorp},
		{name: "no organisation", user: idpstub.Outsider, authURL: dingNoPin, code: CodeTenantNotAllowed},
		{name: "not a member (60121)", shape: func(e *dingEnv) {
			e.s.Shape(func(sh *idpstub.VendorShape) {
				sh.Edit = map[string]func(map[string]any){"getbyunionid": dingEnvelope(60121, "找不到该用户")}
			})
		}, code: CodeTenantNotAllowed, detail: "60121"},
		{name: "outside the visible range (50002)", shape: func(e *dingEnv) {
			e.s.Shape(func(sh *idpstub.VendorShape) {
				sh.Edit = map[string]func(map[string]any){"getbyunionid": dingEnvelope(50002, "企业员工不在授权范围")}
			})
		}, code: CodeTenantNotAllowed, detail: "50002"},
		{name: "envelope error on HTTP 200", shape: func(e *dingEnv) {
			e.s.Shape(func(sh *idpstub.VendorShape) {
				sh.Edit = map[string]func(map[string]any){"userGet": dingEnvelope(-1, "系统繁忙")}
			})
		}, code: CodeUserinfoFailed, detail: "-1"},
		{name: "token answer with a code on HTTP 200", shape: func(e *dingEnv) {
			e.s.Shape(func(sh *idpstub.VendorShape) {
				sh.Edit = map[string]func(map[string]any){"userAccessToken": func(b map[string]any) {
					delete(b, "accessToken")
					b["code"] = "unauthorized.client"
				}}
			})
		}, code: CodeTokenFailed, detail: "unauthorized.client"},
		{name: "HTTP 4xx error shape", shape: func(e *dingEnv) {
			e.s.Shape(func(sh *idpstub.VendorShape) {
				sh.Replace = map[string]http.HandlerFunc{"contactUser": func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusNotFound)
					_, _ = io.WriteString(w, `{"code":"invalidParameter.user.notFound","message":"找不到该用户","requestid":"8B9F5AF0"}`)
				}}
			})
		}, code: CodeUserinfoFailed, detail: "invalidParameter.user.notFound"},
		{name: "token header missing", rt: func(b http.RoundTripper) http.RoundTripper { return dingStripHeader{b} },
			code: CodeUserinfoFailed, detail: "AuthenticationFailed.MissingParameter"},
		{name: "used code", between: func(e *dingEnv, q url.Values) {
			if _, err := e.callback(q); err != nil {
				panic(err)
			}
		}, code: CodeTokenFailed, detail: "invalidCode"},
		{name: "expired code", between: func(e *dingEnv, _ url.Values) { e.clk.add(5*time.Minute + time.Second) },
			code: CodeTokenFailed, detail: "invalidCode"},
		{name: "wrong secret", config: func(c *DingTalkConfig) { c.ClientSecret = "wrong" }, code: CodeTokenFailed, detail: "invalidClientIdOrSecret"},
		{name: "missing permission Contact.User.Read", shape: func(e *dingEnv) {
			e.s.Shape(func(sh *idpstub.VendorShape) { sh.Ungranted = []string{idpstub.DingTalkPermContactRead} })
		}, code: CodeUserinfoFailed, detail: "Forbidden.AccessDenied.AccessTokenPermissionDenied"},
		{name: "user token expired at once", shape: func(e *dingEnv) {
			e.s.Shape(func(sh *idpstub.VendorShape) { sh.ExpireToken = true })
		}, code: CodeUserinfoFailed, detail: "InvalidAuthentication"},
		{name: "IdP error", between: func(_ *dingEnv, q url.Values) {
			q.Del("authCode")
			q.Del("code")
			q.Set("error", "access_denied")
		}, code: CodeIdPError, detail: "access_denied"},
		{name: "no code", between: func(_ *dingEnv, q url.Values) { q.Del("authCode"); q.Del("code") }, code: CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := dingTalkEnv(t, tc.config, tc.rt)
			if tc.shape != nil {
				tc.shape(e)
			}
			q := e.authorize(t, cmp.Or(tc.user, idpstub.Member), tc.authURL)
			if tc.between != nil {
				tc.between(e, q)
			}
			id, err := e.callback(q)
			wantCode(t, err, tc.code)
			if id != nil {
				t.Errorf("an identity with the error: %+v", id)
			}
			if pe := (*Error)(nil); !errors.As(err, &pe) || pe.Detail != tc.detail {
				t.Errorf("error %v, want detail %q", err, tc.detail)
			}
		})
	}
	t.Run("refused on the login page", func(t *testing.T) {
		e := dingTalkEnv(t, nil, nil)
		raw, _ := e.p.AuthCodeURL(context.Background(), authRequest())
		_, err := e.callback(dingCallbackQuery(t, e.s.Refuse(t, raw)))
		wantCode(t, err, CodeIdPError)
	})
}

// TestDingTalkCorpToken: the corp token is fetched once and shared by logins, and fetched anew when topapi
// calls it expired.
func TestDingTalkCorpToken(t *testing.T) {
	e := dingTalkEnv(t, nil, nil)
	for range 3 {
		if _, err := e.login(t, idpstub.Member); err != nil {
			t.Fatal(err)
		}
	}
	if e.s.Hits("accessToken") != 1 || e.s.Hits("getbyunionid") != 3 {
		t.Errorf("3 logins: %d corp-token fetches, %d lookups; want 1 and 3", e.s.Hits("accessToken"), e.s.Hits("getbyunionid"))
	}
	// Expire the cached corp token once users/me has answered (so that the user token is not the one hit).
	e.s.Shape(func(sh *idpstub.VendorShape) {
		sh.Edit = map[string]func(map[string]any){"contactUser": func(map[string]any) {
			e.s.Shape(func(sh *idpstub.VendorShape) { sh.ExpireToken = true })
		}}
	})
	if _, err := e.login(t, idpstub.Member); err != nil {
		t.Fatalf("login after the corp token expired: %v", err)
	}
	if e.s.Hits("accessToken") != 2 || e.s.Hits("getbyunionid") != 5 {
		t.Errorf("after 42001: %d corp-token fetches, %d lookups; want 2 and 5 (one refused, one retried)", e.s.Hits("accessToken"), e.s.Hits("getbyunionid"))
	}

	for _, tc := range []struct {
		body string
		want bool
	}{
		{`{"errcode":40014}`, true}, {`{"errcode":42001}`, true}, {`{"errcode":40001}`, true},
		{`{"errcode":88,"sub_code":"40014"}`, true}, {`{"errcode":88,"sub_code":"42001"}`, true},
		{`{"errcode":88,"sub_code":"40000"}`, false}, {`{"errcode":60121}`, false},
	} {
		obj, _ := decodeClaims([]byte(tc.body))
		code, _, _ := errcodeEnvelope(obj, false)
		if got := dingCorpTokenRefused(code, obj); got != tc.want {
			t.Errorf("%s: refused = %v", tc.body, got)
		}
	}
}

func TestDingTalkReadyAndUserInfo(t *testing.T) {
	ctx := context.Background()
	e := dingTalkEnv(t, nil, nil)
	if err := e.p.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	bad := dingTalkEnv(t, func(c *DingTalkConfig) { c.ClientSecret = "wrong" }, nil)
	err := bad.p.Ready(ctx)
	wantCode(t, err, CodeIdPUnavailable)
	if pe := err.(*Error); pe.Detail != "invalidClientIdOrSecret" {
		t.Errorf("detail %q", pe.Detail)
	}

	id, err := e.login(t, idpstub.Member)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.p.UserInfo(ctx, id.AccessToken)
	if err != nil || got.Subject != "zhangsan" || got.Unpinned != "" || got.Claims["job_number"] != "A1001" {
		t.Fatalf("UserInfo = %+v, %v", got, err)
	}
	for _, tok := range []string{"", "unknown-token"} {
		_, err = e.p.UserInfo(ctx, tok)
		wantCode(t, err, CodeInvalidToken)
	}

	off := dingTalkEnv(t, func(c *DingTalkConfig) { no := false; c.EnterpriseLookup = &no }, nil)
	if err := off.p.Ready(ctx); err != nil || off.s.Hits("accessToken") != 0 {
		t.Errorf("Ready with the lookup off: %v, %d fetches", err, off.s.Hits("accessToken"))
	}
	id, err = off.login(t, idpstub.Member)
	if err != nil {
		t.Fatal(err)
	}
	got, err = off.p.UserInfo(ctx, id.AccessToken)
	if err != nil || got.Subject != "z21HjQliSzpw0YWCiiSr1jgiEiE" || got.Unpinned == "" {
		t.Errorf("UserInfo without lookup = %+v, %v; want unionId and Unpinned", got, err)
	}
}

func TestDingTalkConfig(t *testing.T) {
	valid := func() *DingTalkConfig {
		c := &DingTalkConfig{ClientID: "dingapp", ClientSecret: "s", CorpID: idpstub.DingTalkCorp}
		c.ApplyDefaults()
		return c
	}
	if errs := valid().Validate(); len(errs) != 0 {
		t.Fatalf("valid config: %v", errs)
	}
	c := valid()
	if *c.EnterpriseLookup != true || c.APIURL != DingTalkAPIURL || c.LoginURL != DingTalkLoginURL || c.OAPIURL != DingTalkOAPIURL {
		t.Errorf("defaults %+v", c)
	}
	for _, tc := range []struct {
		edit func(*DingTalkConfig)
		key  string
	}{
		{func(c *DingTalkConfig) { c.CorpID = "" }, "corp_id"},
		{func(c *DingTalkConfig) { c.CorpID = "ding corp" }, "corp_id"},
		{func(c *DingTalkConfig) { c.ClientID = " " }, "client_id"},
		{func(c *DingTalkConfig) { c.APIURL = "http://api.example.com" }, "api_url"},
		{func(c *DingTalkConfig) { c.OAPIURL = "https://user:pw@oapi.example.com" }, "oapi_url"},
		{func(c *DingTalkConfig) { c.LoginURL = "ftp://login.example.com" }, "login_url"},
	} {
		c := valid()
		tc.edit(c)
		if errs := c.Validate(); len(errs) != 1 || errs[0].Key != tc.key {
			t.Errorf("want one error on %s, got %v", tc.key, errs)
		}
	}

	off := func(c *DingTalkConfig) { no := false; c.EnterpriseLookup = &no }
	for _, tc := range []struct {
		name     string
		edit     func(*DingTalkConfig)
		m        MappingView
		errWith  string // "" = no error
		warnings int
	}{
		{"default userid", nil, MappingView{Field: "userid"}, "", 0},
		{"job_number", nil, MappingView{Field: "job_number"}, "", 0},
		{"lookup off, default userid", off, MappingView{Field: "userid"}, "enterprise_lookup", 0},
		{"lookup off, job_number fallback", off, MappingView{Field: "unionId", Fallbacks: []string{"job_number"}}, "enterprise_lookup", 0},
		{"lookup off, unionId", off, MappingView{Field: "unionId"}, "", 0},
		{"email without opt-in", nil, MappingView{Field: "email"}, "trust_email", 0},
		{"org_email without opt-in", nil, MappingView{Field: "org_email"}, "trust_email", 0},
		{"mobile without opt-in", nil, MappingView{Field: "mobile"}, "trust_mobile", 0},
		{"org_email with opt-in", func(c *DingTalkConfig) { c.ContactTrust.TrustEmail = true }, MappingView{Field: "org_email"}, "", 0},
		{"nick", nil, MappingView{Field: "nick"}, "", 1},
	} {
		c := valid()
		if tc.edit != nil {
			tc.edit(c)
		}
		errs, warns := c.GuardMapping(tc.m)
		switch {
		case tc.errWith == "" && len(errs) != 0, tc.errWith != "" && (len(errs) != 1 || !strings.Contains(errs[0].Msg, tc.errWith)):
			t.Errorf("%s: errors %v, want one naming %q", tc.name, errs, tc.errWith)
		case len(warns) != tc.warnings:
			t.Errorf("%s: warnings %v", tc.name, warns)
		}
	}
}

// FuzzDingTalkEnvelope answers one of the five DingTalk calls of a login with any status and body (the others
// answer as documented): the login ends in an error or a well-formed identity, never in a panic, and never in
// an identity when that answer carried an error (a gateway code, a non-zero errcode or a non-200 status).
func FuzzDingTalkEnvelope(f *testing.F) {
	for i, body := range []string{
		`{"accessToken":"u1","refreshToken":"r","expireIn":7200,"corpId":"dingcorp"}`,
		`{"accessToken":"c1","expireIn":7200}`,
		`{"unionId":"u-1","nick":"n","mobile":"150"}`,
		`{"errcode":0,"errmsg":"ok","result":{"userid":"zhangsan","contact_type":0}}`,
		`{"errcode":0,"result":{"userid":"zhangsan","unionid":"u-1","job_number":12345678901234567890}}`,
		`{"errcode":88,"sub_code":"42001","errmsg":"x"}`,
		`{"code":"invalidCode","message":"无效的授权码","requestid":"R"}`,
		`{"errcode":"0","result":{"userid":1}}`,
		`{"accessToken":"u1","corpId":"other"}`,
		`{"errcode":0,"result":{"userid":"zhangsan","unionid":"someone-else"}}`,
	} {
		f.Add(uint8(i), 200, body)
	}
	f.Add(uint8(0), 400, `{"code":"invalidClientIdOrSecret"}`)
	f.Fuzz(func(t *testing.T, target uint8, status int, body string) {
		if status < 200 || status > 599 {
			status = 200
		}
		fake := &fakeDingTalk{target: dingFuzzPaths[int(target)%len(dingFuzzPaths)], status: status, body: body}
		cfg := &DingTalkConfig{ClientID: "app", ClientSecret: "secret", CorpID: "dingcorp"}
		cfg.ApplyDefaults()
		p, err := cfg.Build(Common{ID: "d", Type: TypeDingTalk, RedirectURL: testRedirect}, Options{HTTPClient: &http.Client{Transport: fake}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := p.Callback(context.Background(), CallbackRequest{Query: url.Values{"authCode": {"c"}}})
		if err != nil {
			if ErrorCode(err) == "" {
				t.Fatalf("error without a stable code: %v", err)
			}
			return
		}
		if id.Subject == "" || id.Claims["corpId"] != "dingcorp" || id.Claims["unionId"] == nil {
			t.Fatalf("ill-formed identity %+v", id)
		}
		if status != 200 {
			t.Fatalf("identity although %s answered %d", fake.target, status)
		}
		var obj map[string]any
		d := json.NewDecoder(strings.NewReader(body))
		d.UseNumber()
		if d.Decode(&obj) == nil {
			if c, _ := obj["code"].(string); c != "" {
				t.Fatalf("identity although %s answered code %q", fake.target, c)
			}
			if n, ok := obj["errcode"].(json.Number); ok && n.String() != "0" && strings.HasPrefix(fake.target, "/topapi") {
				t.Fatalf("identity although %s answered errcode %s", fake.target, n)
			}
		}
	})
}

var dingFuzzPaths = []string{"/v1.0/oauth2/userAccessToken", "/v1.0/oauth2/accessToken", "/v1.0/contact/users/me",
	"/topapi/user/getbyunionid", "/topapi/v2/user/get"}

// fakeDingTalk answers every DingTalk call in process: the target path with status and body, the others as
// documented.
type fakeDingTalk struct {
	target string
	status int
	body   string
}

func (f *fakeDingTalk) RoundTrip(r *http.Request) (*http.Response, error) {
	status, body := 200, ""
	switch p := r.URL.Path; {
	case p == f.target:
		status, body = f.status, f.body
	case p == "/v1.0/oauth2/userAccessToken":
		body = `{"accessToken":"u1","refreshToken":"r","expireIn":7200,"corpId":"dingcorp"}`
	case p == "/v1.0/oauth2/accessToken":
		body = `{"accessToken":"c1","expireIn":7200}`
	case p == "/v1.0/contact/users/me":
		body = `{"unionId":"u-1","nick":"n"}`
	case p == "/topapi/user/getbyunionid":
		body = `{"errcode":0,"errmsg":"ok","result":{"userid":"zhangsan","contact_type":0}}`
	case p == "/topapi/v2/user/get":
		body = `{"errcode":0,"errmsg":"ok","result":{"userid":"zhangsan","unionid":"u-1","name":"张三"}}`
	default:
		status, body = 404, `{"code":"InvalidAction.NotFound"}`
	}
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}
