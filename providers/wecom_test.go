package providers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// wecomState is an alphanumeric state, as WeCom's in-client page demands.
const wecomState = "State0123456789abcdefABCDEF"

// wecomSetup starts a WeCom stub and builds a provider for it. edit changes the configuration; a
// configuration that Validate refuses (login: in_client) is built directly, as the in-client code is.
func wecomSetup(t *testing.T, o idpstub.WeComOptions, edit func(*WeComConfig)) (*idpstub.WeCom, *wecomProvider, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	o.Now = clk.now
	s := idpstub.NewWeCom(t, o)
	cfg := &WeComConfig{CorpID: idpstub.WeComCorp, AgentID: "1000002", Secret: "wecom-secret",
		LoginURL: s.LoginURL, OAuthURL: s.OAuthURL, APIURL: s.APIURL}
	if edit != nil {
		edit(cfg)
	}
	cfg.ApplyDefaults()
	p, err := cfg.Build(Common{ID: "wecom", Type: TypeWeCom, RedirectURL: testRedirect},
		Options{HTTPClient: &http.Client{Timeout: 5 * time.Second}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, p.(*wecomProvider), clk
}

// wecomCallback signs user in on the stub's page and returns the callback request the bridge would pass on.
func wecomCallback(t *testing.T, s *idpstub.WeCom, p *wecomProvider, user string) CallbackRequest {
	t.Helper()
	u, err := p.AuthCodeURL(context.Background(), AuthRequest{State: wecomState, Nonce: "nonce", CodeVerifier: testVerifier})
	if err != nil {
		t.Fatal(err)
	}
	back, err := url.Parse(s.Authorize(t, u, user))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Query().Get("state"); got != wecomState {
		t.Fatalf("state came back as %q", got)
	}
	return CallbackRequest{Query: back.Query(), CodeVerifier: testVerifier, Nonce: "nonce"}
}

func TestWeComAuthCodeURL(t *testing.T) {
	for _, tc := range []struct {
		login, scope string
		want         string // path, then the query in order
	}{
		{WeComLoginWeb, "", "/login/wwlogin/sso/login?agentid=1000002&appid=" + idpstub.WeComCorp + "&login_type=CorpApp&redirect_uri=" +
			url.QueryEscape(testRedirect) + "&state=" + wecomState},
		{WeComLoginInClient, WeComScopePrivate, "/open/connect/oauth2/authorize?appid=" + idpstub.WeComCorp + "&redirect_uri=" +
			url.QueryEscape(testRedirect) + "&response_type=code&scope=snsapi_privateinfo&state=" + wecomState + "&agentid=1000002#wechat_redirect"},
	} {
		t.Run(tc.login, func(t *testing.T) {
			s, p, _ := wecomSetup(t, idpstub.WeComOptions{}, func(c *WeComConfig) { c.Login, c.Scope = tc.login, tc.scope })
			u, err := p.AuthCodeURL(context.Background(), AuthRequest{State: wecomState, Nonce: "n", CodeVerifier: testVerifier})
			if err != nil || u != strings.TrimSuffix(s.LoginURL, "/login")+tc.want {
				t.Fatalf("AuthCodeURL = %q, %v\nwant %q", u, err, tc.want)
			}
		})
	}
	// The bridge's base64url state would be refused by WeCom's in-client page: say so instead of sending it.
	_, p, _ := wecomSetup(t, idpstub.WeComOptions{}, func(c *WeComConfig) { c.Login = WeComLoginInClient })
	if _, err := p.AuthCodeURL(context.Background(), AuthRequest{State: "ab-cd_ef", CodeVerifier: testVerifier}); err == nil {
		t.Error("in_client accepted a state with '-' and '_'")
	}
}

func TestWeComCallback(t *testing.T) {
	errcode := func(code int) func(map[string]any) {
		return func(b map[string]any) { clear(b); b["errcode"], b["errmsg"] = code, "refused" }
	}
	tests := []struct {
		name   string
		opts   idpstub.WeComOptions
		config func(*WeComConfig)
		user   string
		shape  func(*idpstub.VendorShape)
		before func(*clock)                                      // between sign-in and callback
		call   func(*testing.T, *wecomProvider, CallbackRequest) // replaces the single Callback
		code   string                                            // wanted error code, "" for success
		detail string
		check  func(*testing.T, *Identity)
	}{
		{name: "member", user: idpstub.Member, check: func(t *testing.T, id *Identity) {
			if id.Subject != "zhangsan" || id.Claims["corpid"] != idpstub.WeComCorp || id.Claims["email_verified"] != false || id.Claims["email"] != nil {
				t.Errorf("identity %+v", id)
			}
		}},
		{name: "numeric-looking userid stays a string", user: idpstub.Sparse, check: func(t *testing.T, id *Identity) {
			if id.Subject != "18612345678901234567" || id.Claims["userid"] != "18612345678901234567" {
				t.Errorf("identity %+v", id)
			}
		}},
		{name: "profile adds name and departments", user: idpstub.Member, config: func(c *WeComConfig) { c.Profile = true },
			check: func(t *testing.T, id *Identity) {
				d, _ := id.Claims["department"].([]any)
				if id.Claims["name"] != "张三" || len(d) != 2 || d[1] != json.Number("2") || id.Claims["mobile"] != nil {
					t.Errorf("claims %v", id.Claims)
				}
			}},
		{name: "member of a linked company", user: idpstub.OtherCorp, code: CodeTenantNotAllowed},
		{name: "not a member", user: idpstub.Outsider, code: CodeTenantNotAllowed},
		{name: "envelope error on HTTP 200", user: idpstub.Member,
			shape: func(v *idpstub.VendorShape) { v.Edit = map[string]func(map[string]any){"getuserinfo": errcode(-1)} },
			code:  CodeTokenFailed, detail: "-1"},
		{name: "HTTP 4xx", user: idpstub.Member,
			shape: func(v *idpstub.VendorShape) {
				v.Replace = map[string]http.HandlerFunc{"getuserinfo": func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(http.StatusForbidden)
					_, _ = w.Write([]byte(`{"errcode":0,"userid":"zhangsan"}`))
				}}
			}, code: CodeTokenFailed, detail: "HTTP 403"},
		{name: "answer without userid or openid", user: idpstub.Member,
			shape: func(v *idpstub.VendorShape) {
				v.Edit = map[string]func(map[string]any){"getuserinfo": func(b map[string]any) { delete(b, "userid") }}
			}, code: CodeTokenFailed},
		{name: "used code", user: idpstub.Member, code: CodeTokenFailed, detail: "40029",
			call: func(t *testing.T, p *wecomProvider, c CallbackRequest) {
				if _, err := p.Callback(context.Background(), c); err != nil {
					t.Fatal(err)
				}
				_, err := p.Callback(context.Background(), c)
				wantWeCom(t, err, CodeTokenFailed, "40029")
			}},
		{name: "expired code", user: idpstub.Member, before: func(c *clock) { c.add(6 * time.Minute) }, code: CodeTokenFailed, detail: "40029"},
		{name: "wrong secret", user: idpstub.Member, config: func(c *WeComConfig) { c.Secret = "wrong" }, code: CodeIdPUnavailable, detail: "40001"},
		{name: "outbound IP not trusted", user: idpstub.Member, code: CodeIdPUnavailable, detail: "60020",
			shape: func(v *idpstub.VendorShape) { v.Edit = map[string]func(map[string]any){"gettoken": errcode(60020)} }},
		{name: "redirect domain not trusted", opts: idpstub.WeComOptions{TrustedHost: "other.example.com"}, user: idpstub.Member,
			code: CodeTokenFailed, detail: "50001"},
		{name: "member outside the visible range (user/get)", user: idpstub.Member, config: func(c *WeComConfig) { c.Profile = true },
			shape: func(v *idpstub.VendorShape) { v.Edit = map[string]func(map[string]any){"userGet": errcode(60011)} },
			code:  CodeUserinfoFailed, detail: "60011"},
		{name: "a token refused twice is not retried again", user: idpstub.Member,
			shape: func(v *idpstub.VendorShape) { v.Edit = map[string]func(map[string]any){"getuserinfo": errcode(40014)} },
			code:  CodeTokenFailed, detail: "40014"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p, clock := wecomSetup(t, tt.opts, tt.config)
			c := wecomCallback(t, s, p, tt.user)
			if tt.shape != nil {
				s.Shape(tt.shape)
			}
			if tt.before != nil {
				tt.before(clock)
			}
			if tt.call != nil {
				tt.call(t, p, c)
				return
			}
			id, err := p.Callback(context.Background(), c)
			if tt.code != "" {
				wantWeCom(t, err, tt.code, tt.detail)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, id)
		})
	}
}

// wantWeCom is wantCode with the Detail shown to the user.
func wantWeCom(t *testing.T, err error, code, detail string) {
	t.Helper()
	wantCode(t, err, code)
	if pe := err.(*Error); detail != "" && pe.Detail != detail {
		t.Fatalf("detail = %q (%v), want %q", pe.Detail, err, detail)
	}
	if strings.Contains(err.Error(), "wecom-secret") || strings.Contains(err.Error(), "access_token=") {
		t.Fatalf("error leaks a secret or token: %v", err)
	}
}

func TestWeComCallbackRefusals(t *testing.T) {
	_, p, _ := wecomSetup(t, idpstub.WeComOptions{}, nil)
	_, err := p.Callback(context.Background(), CallbackRequest{Query: url.Values{"error": {"access_denied"}, "state": {wecomState}}})
	wantCode(t, err, CodeIdPError)
	// WeCom's refusal is a redirect with state only.
	s, p, _ := wecomSetup(t, idpstub.WeComOptions{}, nil)
	u, _ := p.AuthCodeURL(context.Background(), AuthRequest{State: wecomState, CodeVerifier: testVerifier})
	back, _ := url.Parse(s.Refuse(t, u))
	_, err = p.Callback(context.Background(), CallbackRequest{Query: back.Query()})
	wantCode(t, err, CodeInvalidRequest)
}

// TestWeComCorpToken: one corp token serves many logins; a token WeCom calls expired is replaced once and
// the call repeated, without spending the code; Ready proves the credentials.
func TestWeComCorpToken(t *testing.T) {
	s, p, clock := wecomSetup(t, idpstub.WeComOptions{}, nil)
	if err := p.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := p.Callback(context.Background(), wecomCallback(t, s, p, idpstub.Member)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Hits("gettoken"); n != 1 {
		t.Fatalf("gettoken hits = %d after Ready and two logins, want 1 (cached)", n)
	}
	s.Shape(func(v *idpstub.VendorShape) { v.ExpireToken = true })
	if _, err := p.Callback(context.Background(), wecomCallback(t, s, p, idpstub.Member)); err != nil {
		t.Fatalf("login after WeCom expired the token: %v", err)
	}
	if g, u := s.Hits("gettoken"), s.Hits("getuserinfo"); g != 2 || u != 4 {
		t.Fatalf("gettoken %d getuserinfo %d, want 2 and 4 (one refetch, one repeated call)", g, u)
	}
	// Past its lifetime (less the margin), the cached token is replaced before use.
	clock.add(2 * time.Hour)
	if err := p.Ready(context.Background()); err != nil || s.Hits("gettoken") != 3 {
		t.Fatalf("Ready after 2h: %v, gettoken hits %d, want 3", err, s.Hits("gettoken"))
	}

	for _, tc := range []struct {
		name   string
		edit   func(*WeComConfig)
		detail string
	}{
		{"wrong secret", func(c *WeComConfig) { c.Secret = "wrong" }, "40001"},
		{"wrong corp_id", func(c *WeComConfig) { c.CorpID = "wwffffffffffffffff" }, "40013"},
	} {
		_, p, _ := wecomSetup(t, idpstub.WeComOptions{}, tc.edit)
		wantWeCom(t, p.Ready(context.Background()), CodeIdPUnavailable, tc.detail)
	}
}

// TestWeComInClient: the in-client flow with snsapi_privateinfo yields a user_ticket and getuserdetail's
// consented fields; trust_email / trust_mobile mark them; a field the admin did not select is absent.
func TestWeComInClient(t *testing.T) {
	inClient := func(c *WeComConfig) {
		c.Login, c.Scope, c.ContactTrust = WeComLoginInClient, WeComScopePrivate, ContactTrust{TrustEmail: true, TrustMobile: true}
	}
	s, p, _ := wecomSetup(t, idpstub.WeComOptions{}, inClient)
	id, err := p.Callback(context.Background(), wecomCallback(t, s, p, idpstub.Member))
	if err != nil {
		t.Fatal(err)
	}
	c := id.Claims
	if c["email"] != "zhangsan@example.com" || c["biz_mail"] != "zhangsan@corp.example.com" || c["mobile"] != "13800000000" ||
		c["gender"] != "1" || c["email_verified"] != true || c["mobile_verified"] != true || s.Hits("getuserdetail") != 1 {
		t.Fatalf("claims %v", c)
	}

	s, p, _ = wecomSetup(t, idpstub.WeComOptions{}, inClient)
	s.Shape(func(v *idpstub.VendorShape) {
		v.Ungranted = []string{idpstub.WeComFieldEmail, idpstub.WeComFieldMobile}
	})
	id, err = p.Callback(context.Background(), wecomCallback(t, s, p, idpstub.Member))
	if err != nil || id.Claims["email"] != nil || id.Claims["mobile"] != nil || id.Claims["mobile_verified"] != nil {
		t.Fatalf("ungranted fields: %v, %v", id, err)
	}

	s, p, _ = wecomSetup(t, idpstub.WeComOptions{}, inClient)
	s.Shape(func(v *idpstub.VendorShape) {
		v.Edit = map[string]func(map[string]any){"getuserdetail": func(b map[string]any) { b["userid"] = "lisi" }}
	})
	_, err = p.Callback(context.Background(), wecomCallback(t, s, p, idpstub.Member))
	wantCode(t, err, CodeUserinfoFailed)
}

func TestWeComConfig(t *testing.T) {
	valid := func() *WeComConfig {
		return &WeComConfig{CorpID: idpstub.WeComCorp, AgentID: "1000002", Secret: "s"}
	}
	for _, tc := range []struct {
		name string
		edit func(*WeComConfig)
		key  string // the key of the first error, "-" for none
	}{
		{"valid", func(*WeComConfig) {}, "-"},
		{"corp_id missing", func(c *WeComConfig) { c.CorpID = "" }, "corp_id"},
		{"agent_id missing", func(c *WeComConfig) { c.AgentID = " " }, "agent_id"},
		{"secret missing", func(c *WeComConfig) { c.Secret = "" }, "secret"},
		{"corp_id with a slash", func(c *WeComConfig) { c.CorpID = "ww/1" }, "corp_id"},
		{"in_client refused: the bridge's state is not alphanumeric", func(c *WeComConfig) { c.Login = WeComLoginInClient }, "login"},
		{"unknown login", func(c *WeComConfig) { c.Login = "qr" }, "login"},
		{"scope with a web login", func(c *WeComConfig) { c.Scope = WeComScopePrivate }, "scope"},
		{"plain http api_url", func(c *WeComConfig) { c.APIURL = "http://qyapi.example.com" }, "api_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.edit(c)
			c.ApplyDefaults()
			errs := c.Validate()
			switch {
			case tc.key == "-" && len(errs) > 0:
				t.Fatalf("Validate = %v", errs)
			case tc.key != "-" && (len(errs) == 0 || errs[0].Key != tc.key):
				t.Fatalf("Validate = %v, want an error on %s", errs, tc.key)
			}
		})
	}
}

// TestWeComGuardMapping: WeCom's email, biz_mail and mobile are administrator data; mapping on them needs
// the opt-in. A field a web sign-in cannot yield is a warning.
func TestWeComGuardMapping(t *testing.T) {
	for _, tc := range []struct {
		name           string
		cfg            WeComConfig
		m              MappingView
		errs, warnings int
	}{
		{"userid", WeComConfig{Login: WeComLoginWeb}, MappingView{Field: "userid"}, 0, 0},
		{"email without trust_email", WeComConfig{Login: WeComLoginWeb, Profile: true}, MappingView{Field: "email"}, 1, 0},
		{"biz_mail fallback without trust_email", WeComConfig{Login: WeComLoginWeb, Profile: true}, MappingView{Field: "userid", Fallbacks: []string{"biz_mail"}}, 1, 0},
		{"mobile without trust_mobile", WeComConfig{Login: WeComLoginWeb, Profile: true, ContactTrust: ContactTrust{TrustEmail: true}}, MappingView{Field: "mobile"}, 1, 0},
		{"email with trust_email", WeComConfig{Login: WeComLoginWeb, Profile: true, ContactTrust: ContactTrust{TrustEmail: true}}, MappingView{Field: "email"}, 0, 0},
		{"name without profile", WeComConfig{Login: WeComLoginWeb}, MappingView{Field: "name"}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs, warnings := tc.cfg.GuardMapping(tc.m)
			if len(errs) != tc.errs || len(warnings) != tc.warnings {
				t.Fatalf("GuardMapping = %v, %v; want %d errors, %d warnings", errs, warnings, tc.errs, tc.warnings)
			}
		})
	}
}

// FuzzWeComEnvelope: any answer body yields an error or a well-formed result, never a panic, and never a
// result when errcode is not 0.
func FuzzWeComEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"errcode":0,"errmsg":"ok","userid":"zhangsan","user_ticket":"t"}`,
		`{"errcode":0,"errmsg":"ok","openid":"o","external_userid":"e"}`,
		`{"errcode":0,"userid":"wwf0e1d2c3b4a59687/lisi"}`,
		`{"errcode":40029,"errmsg":"invalid code","userid":"zhangsan"}`,
		`{"errcode":0,"access_token":"tok","expires_in":7200}`,
		`{"errcode":"0","access_token":"tok","expires_in":7200.5}`,
		`{"userid":12345678901234567890}`,
		`[]`, `null`, `{"errcode":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		obj, err := decodeClaims(body)
		if err != nil {
			return
		}
		res := &apiResult{Status: http.StatusOK, Object: obj}
		code, _, envErr := errcodeEnvelope(obj, false)
		ok := envErr == nil && code == 0
		if userid, _, err := weComUserInfo(idpstub.WeComCorp, res); err == nil {
			if !ok || userid == "" || strings.Contains(userid, "/") {
				t.Fatalf("getuserinfo %s accepted as userid %q", body, userid)
			}
		} else if ErrorCode(err) == "" {
			t.Fatalf("error without a code: %v", err)
		}
		if tok, ttl, err := weComToken(res); err == nil && (!ok || tok == "" || ttl <= 0) {
			t.Fatalf("gettoken %s accepted: %q %v", body, tok, ttl)
		}
		claims := map[string]any{"userid": "zhangsan"}
		if err := weComFields(claims, res, "getuserdetail", weComDetailFields); err == nil && !ok {
			t.Fatalf("getuserdetail %s accepted", body)
		}
	})
}
