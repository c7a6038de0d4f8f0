package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
	"golang.org/x/oauth2"
)

const (
	feishuAppID    = "cli_a5d611352af9d00b"
	feishuSecret   = "feishu-secret"
	feishuRedirect = "https://bridge.example.com/callback/feishu"
)

// feishuSetup is a Feishu stub and a provider configured against it; edit may change the configuration.
type feishuSetup struct {
	stub  *idpstub.Feishu
	p     *feishuProvider
	clock *clock
}

func newFeishuSetup(t *testing.T, o idpstub.FeishuOptions, edit func(*FeishuConfig)) feishuSetup {
	t.Helper()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	o.Now = clk.now
	s := idpstub.NewFeishu(t, o)
	cfg := &FeishuConfig{Client: Client{ClientID: feishuAppID, ClientSecret: feishuSecret},
		TenantKey: idpstub.FeishuTenant, AccountsURL: s.AccountsURL, OpenURL: s.OpenURL}
	if edit != nil {
		edit(cfg)
	}
	p, err := Build(TypeFeishu, Common{ID: "feishu", RedirectURL: feishuRedirect}, cfg,
		Options{HTTPClient: &http.Client{Timeout: 5 * time.Second}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return feishuSetup{stub: s, p: p.(*feishuProvider), clock: clk}
}

// signIn runs AuthCodeURL and the stub's sign-in page for user and returns the callback request.
func (f feishuSetup) signIn(t *testing.T, user string) CallbackRequest {
	t.Helper()
	u, err := f.p.AuthCodeURL(context.Background(), authRequest())
	if err != nil {
		t.Fatal(err)
	}
	cb, err := url.Parse(f.stub.Authorize(t, u, user))
	if err != nil {
		t.Fatal(err)
	}
	return CallbackRequest{Query: cb.Query(), CodeVerifier: testVerifier, Nonce: "nonce-xyz"}
}

func (f feishuSetup) login(t *testing.T, user string) (*Identity, error) {
	t.Helper()
	return f.p.Callback(context.Background(), f.signIn(t, user))
}

func TestFeishuAuthCodeURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  FeishuConfig
		base string
	}{
		{"feishu", FeishuConfig{}, FeishuAccountsURL},
		{"larksuite", FeishuConfig{Host: "larksuite"}, LarkAccountsURL},
		{"accounts_url", FeishuConfig{AccountsURL: "http://127.0.0.1:9/accounts/"}, "http://127.0.0.1:9/accounts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Client = Client{ClientID: feishuAppID, ClientSecret: feishuSecret}
			cfg.TenantKey = idpstub.FeishuTenant
			p, err := Build(TypeFeishu, Common{ID: "feishu", RedirectURL: feishuRedirect}, &cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := p.AuthCodeURL(context.Background(), authRequest())
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(raw)
			if got := u.Scheme + "://" + u.Host + u.Path; got != tc.base+"/open-apis/authen/v1/authorize" {
				t.Errorf("authorize endpoint %s", got)
			}
			want := url.Values{"client_id": {feishuAppID}, "redirect_uri": {feishuRedirect}, "response_type": {"code"},
				"scope": {FeishuScopeUserID}, "state": {"state-abc"}, "code_challenge_method": {"S256"},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(testVerifier)}}
			if q := u.Query(); !equalValues(q, want) {
				t.Errorf("query %v\nwant  %v", q, want)
			}
		})
	}
	t.Run("no verifier", func(t *testing.T) {
		f := newFeishuSetup(t, idpstub.FeishuOptions{}, nil)
		a := authRequest()
		a.CodeVerifier = ""
		if _, err := f.p.AuthCodeURL(context.Background(), a); err == nil {
			t.Error("a login without a PKCE verifier was started")
		}
	})
}

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestFeishuCallbackMember(t *testing.T) {
	for _, trust := range []bool{false, true} {
		f := newFeishuSetup(t, idpstub.FeishuOptions{RedirectURI: feishuRedirect}, func(c *FeishuConfig) {
			c.Scopes = []string{FeishuScopeUserID, idpstub.FeishuScopeEmail, idpstub.FeishuScopePhone}
			c.TrustEmail, c.TrustMobile = trust, trust
		})
		id, err := f.login(t, idpstub.Member)
		if err != nil {
			t.Fatal(err)
		}
		if id.Subject != "on_d89jhsdhjsajkda7828enjdj328ydhhw3u43yjhdj" || id.Provider != "feishu" || !strings.HasPrefix(id.AccessToken, "eyJ") {
			t.Errorf("identity %+v", id)
		}
		for k, want := range map[string]any{"user_id": "5d9bd7a1", "tenant_key": idpstub.FeishuTenant,
			"open_id": "ou_caecc734c2e3328a62489fe0648c4b98779515d3", "name": "张三", "email": "zhangsan@example.com",
			"mobile": "+8613000288301", "email_verified": trust, "mobile_verified": trust} {
			if id.Claims[k] != want {
				t.Errorf("trust %v: claim %s = %v, want %v", trust, k, id.Claims[k], want)
			}
		}
		// No application token: one token and one user_info call per login, nothing else.
		for name, want := range map[string]int{"authorize": 1, "token": 1, "user_info": 1} {
			if got := f.stub.Hits(name); got != want {
				t.Errorf("hits %s = %d, want %d", name, got, want)
			}
		}
	}
}

// TestFeishuNumbersKeepDigits: a user_id that looks like a 19-digit number keeps its digits, whether Feishu
// sends it as a string (documented) or as a number.
func TestFeishuNumbersKeepDigits(t *testing.T) {
	f := newFeishuSetup(t, idpstub.FeishuOptions{}, nil)
	id, err := f.login(t, idpstub.Sparse)
	if err != nil || id.Claims["user_id"] != "7301234567890123456" {
		t.Fatalf("sparse user: %+v, %v", id, err)
	}
	f.stub.Shape(func(sh *idpstub.VendorShape) {
		sh.Edit = map[string]func(map[string]any){"user_info": func(b map[string]any) {
			b["data"].(map[string]any)["user_id"] = json.Number("7301234567890123457")
		}}
	})
	id, err = f.login(t, idpstub.Sparse)
	if err != nil || id.Claims["user_id"] != json.Number("7301234567890123457") {
		t.Fatalf("numeric user_id: %+v, %v", id, err)
	}
}

// TestFeishuRefusals: every way a Feishu login is refused, one case each.
func TestFeishuRefusals(t *testing.T) {
	edit := func(endpoint string, f func(map[string]any)) func(*idpstub.VendorShape) {
		return func(sh *idpstub.VendorShape) { sh.Edit = map[string]func(map[string]any){endpoint: f} }
	}
	tests := []struct {
		name   string
		user   string
		opts   idpstub.FeishuOptions
		config func(*FeishuConfig)
		shape  func(*idpstub.VendorShape)
		// callback changes the callback request (or spends its code) before Callback runs.
		callback func(t *testing.T, f feishuSetup, c *CallbackRequest)
		code     string
		detail   string
		msg      string // substring of the error
	}{
		{name: "user of another tenant", user: idpstub.OtherCorp, code: CodeTenantNotAllowed, msg: idpstub.FeishuOtherTenant},
		{name: "outside the availability range (non-member)", user: idpstub.Outsider, code: CodeTenantNotAllowed, detail: "20010", msg: "not a member of tenant " + idpstub.FeishuTenant},
		{name: "resigned user", user: "gone", code: CodeTenantNotAllowed, detail: "20021", msg: "not a member of tenant",
			opts: idpstub.FeishuOptions{Users: map[string]idpstub.FeishuUser{"gone": {UnionID: "on_x", UserID: "x", TenantKey: idpstub.FeishuTenant, Status: "resigned"}}}},
		{name: "token envelope error on HTTP 200", shape: edit("token", func(b map[string]any) { b["code"] = 20050 }), code: CodeTokenFailed, detail: "20050"},
		{name: "token code 0 without access_token", shape: edit("token", func(b map[string]any) { delete(b, "access_token") }), code: CodeTokenFailed, msg: "without an access_token"},
		{name: "token answer without code", shape: edit("token", func(b map[string]any) { delete(b, "code") }), code: CodeTokenFailed, msg: "no code"},
		{name: "token code as a string", shape: edit("token", func(b map[string]any) { b["code"] = "0" }), code: CodeTokenFailed, msg: "not a number"},
		{name: "token endpoint not JSON", shape: func(sh *idpstub.VendorShape) {
			sh.Replace = map[string]http.HandlerFunc{"token": func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "<html>", http.StatusBadGateway) }}
		}, code: CodeTokenFailed},
		{name: "user_info envelope error on HTTP 200", shape: edit("user_info", func(b map[string]any) { b["code"], b["msg"] = 20050, "System error"; delete(b, "data") }), code: CodeUserinfoFailed, detail: "20050"},
		{name: "user_info without data", shape: edit("user_info", func(b map[string]any) { delete(b, "data") }), code: CodeUserinfoFailed, msg: "without a data object"},
		{name: "used code (HTTP 400 shape)", callback: func(t *testing.T, f feishuSetup, c *CallbackRequest) {
			if _, err := f.p.Callback(context.Background(), *c); err != nil {
				t.Fatal(err)
			}
		}, code: CodeTokenFailed, detail: "20065", msg: "error=\"invalid_grant\""},
		{name: "expired code", callback: func(_ *testing.T, f feishuSetup, _ *CallbackRequest) { f.clock.add(6 * time.Minute) }, code: CodeTokenFailed, detail: "20004"},
		{name: "unknown code", callback: func(_ *testing.T, _ feishuSetup, c *CallbackRequest) { c.Query.Set("code", "forged") }, code: CodeTokenFailed, detail: "20003"},
		{name: "wrong PKCE verifier", callback: func(_ *testing.T, _ feishuSetup, c *CallbackRequest) {
			c.CodeVerifier = strings.Repeat("v", 43)
		}, code: CodeTokenFailed, detail: "20049"},
		{name: "no PKCE verifier in the login state", callback: func(_ *testing.T, _ feishuSetup, c *CallbackRequest) { c.CodeVerifier = "" }, code: CodeTokenFailed, msg: "PKCE"},
		{name: "wrong App Secret", config: func(c *FeishuConfig) { c.ClientSecret = "wrong" }, code: CodeTokenFailed, detail: "20002"},
		{name: "user_id permission missing", config: func(c *FeishuConfig) { c.Scopes = []string{idpstub.FeishuScopeEmail} },
			shape: func(sh *idpstub.VendorShape) { sh.Ungranted = []string{idpstub.FeishuScopeUserID} },
			code:  CodeUserinfoFailed, msg: FeishuScopeUserID},
		{name: "user refuses consent (error=)", callback: func(t *testing.T, f feishuSetup, c *CallbackRequest) {
			u, _ := f.p.AuthCodeURL(context.Background(), authRequest())
			cb, _ := url.Parse(f.stub.Refuse(t, u))
			c.Query = cb.Query()
		}, code: CodeIdPError, detail: "access_denied"},
		{name: "neither code nor error", callback: func(_ *testing.T, _ feishuSetup, c *CallbackRequest) { c.Query = url.Values{"state": {"x"}} }, code: CodeInvalidRequest},
		{name: "token just issued refused by user_info", shape: edit("user_info", func(b map[string]any) { b["code"] = 20005; delete(b, "data") }), code: CodeUserinfoFailed, detail: "20005"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFeishuSetup(t, tt.opts, tt.config)
			user := cmp.Or(tt.user, idpstub.Member)
			c := f.signIn(t, user)
			if tt.callback != nil {
				tt.callback(t, f, &c)
			}
			if tt.shape != nil {
				f.stub.Shape(tt.shape)
			}
			id, err := f.p.Callback(context.Background(), c)
			if id != nil {
				t.Fatalf("an identity for a refused login: %+v", id)
			}
			wantCode(t, err, tt.code)
			if got := detailOf(err); got != tt.detail {
				t.Errorf("detail = %q, want %q (%v)", got, tt.detail, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), feishuSecret) || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("error leaks a secret or token: %v", err)
			}
		})
	}
}

// TestFeishuUserInfo is the backend API path: a user_access_token a CRM already holds.
func TestFeishuUserInfo(t *testing.T) {
	f := newFeishuSetup(t, idpstub.FeishuOptions{}, nil)
	ctx := context.Background()
	tok, err := f.p.redeem(ctx, f.signIn(t, idpstub.Member).Query.Get("code"), testVerifier)
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.p.UserInfo(ctx, tok)
	if err != nil || id.Subject != "on_d89jhsdhjsajkda7828enjdj328ydhhw3u43yjhdj" || id.Claims["user_id"] != "5d9bd7a1" {
		t.Fatalf("UserInfo = %+v, %v", id, err)
	}
	for _, tc := range []struct{ name, token, code, detail string }{
		{"empty", "", CodeInvalidToken, ""},
		{"unknown", "eyJforged", CodeInvalidToken, "20005"},
	} {
		_, err := f.p.UserInfo(ctx, tc.token)
		wantCode(t, err, tc.code)
		if got := detailOf(err); got != tc.detail {
			t.Errorf("%s: detail %q, want %q", tc.name, got, tc.detail)
		}
	}
	f.stub.Shape(func(sh *idpstub.VendorShape) { sh.ExpireToken = true })
	_, err = f.p.UserInfo(ctx, tok)
	wantCode(t, err, CodeInvalidToken)
	if detailOf(err) != "99991677" {
		t.Errorf("expired token: %v", err)
	}

	other := newFeishuSetup(t, idpstub.FeishuOptions{}, nil)
	tok, err = other.p.redeem(ctx, other.signIn(t, idpstub.OtherCorp).Query.Get("code"), testVerifier)
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.p.UserInfo(ctx, tok)
	wantCode(t, err, CodeTenantNotAllowed)
}

// TestFeishuStages: both outbound calls of a login are tagged for the bridge's upstream metrics.
func TestFeishuStages(t *testing.T) {
	f := newFeishuSetup(t, idpstub.FeishuOptions{}, nil)
	rec := &stageRecorder{}
	f.p.rt.client = &http.Client{Timeout: 5 * time.Second, Transport: rec}
	if _, err := f.login(t, idpstub.Member); err != nil {
		t.Fatal(err)
	}
	want := []string{StageToken + " /open/open-apis/authen/v2/oauth/token", StageUserinfo + " /open/open-apis/authen/v1/user_info"}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Equal(rec.seen, want) {
		t.Errorf("calls %q, want %q", rec.seen, want)
	}
}

func TestFeishuConfig(t *testing.T) {
	valid := func() *FeishuConfig {
		return &FeishuConfig{Client: Client{ClientID: feishuAppID, ClientSecret: feishuSecret}, TenantKey: idpstub.FeishuTenant}
	}
	tests := []struct {
		name string
		edit func(*FeishuConfig)
		key  string // "" = valid
	}{
		{"valid", func(*FeishuConfig) {}, ""},
		{"larksuite", func(c *FeishuConfig) { c.Host = "larksuite" }, ""},
		{"secret from a file", func(c *FeishuConfig) { c.ClientSecret, c.ClientSecretFile = "", "/run/secrets/x" }, ""},
		{"v3 token endpoint", func(c *FeishuConfig) { c.TokenURL = "https://accounts.feishu.cn/oauth/v3/token" }, ""},
		{"no tenant_key", func(c *FeishuConfig) { c.TenantKey = "" }, "tenant_key"},
		{"tenant_key with spaces", func(c *FeishuConfig) { c.TenantKey = " 736588c92lxf175d" }, "tenant_key"},
		{"no client_id", func(c *FeishuConfig) { c.ClientID = "" }, "client_id"},
		{"no secret", func(c *FeishuConfig) { c.ClientSecret = "" }, "client_secret"},
		{"unknown host", func(c *FeishuConfig) { c.Host = "lark" }, "host"},
		{"plain http accounts_url", func(c *FeishuConfig) { c.AccountsURL = "http://accounts.feishu.cn" }, "accounts_url"},
		{"open_url with a query", func(c *FeishuConfig) { c.OpenURL = "https://open.feishu.cn/?x=1" }, "open_url"},
		{"token_url with user info", func(c *FeishuConfig) { c.TokenURL = "https://u:p@open.feishu.cn/t" }, "token_url"},
		{"bad scope", func(c *FeishuConfig) { c.Scopes = []string{"a b"} }, "scopes[0]"},
	}
	for _, tt := range tests {
		c := valid()
		tt.edit(c)
		c.ApplyDefaults()
		errs := c.Validate()
		switch {
		case tt.key == "" && len(errs) > 0:
			t.Errorf("%s: %v", tt.name, errs)
		case tt.key != "" && (len(errs) != 1 || errs[0].Key != tt.key):
			t.Errorf("%s: errors %v, want one for %s", tt.name, errs, tt.key)
		}
	}
	c := valid()
	c.ApplyDefaults()
	if c.Host != "feishu" || !slices.Equal(c.Scopes, []string{FeishuScopeUserID}) {
		t.Errorf("defaults: host %q scopes %v", c.Host, c.Scopes)
	}
}

// TestFeishuGuardMapping: email, enterprise_email and mobile are administrator-entered; mapping on them is a
// configuration error without the opt-in.
func TestFeishuGuardMapping(t *testing.T) {
	tests := []struct {
		name  string
		trust ContactTrust
		m     MappingView
		bad   bool
	}{
		{"user_id", ContactTrust{}, MappingView{Field: "user_id"}, false},
		{"employee_no", ContactTrust{}, MappingView{Field: "employee_no"}, false},
		{"email", ContactTrust{}, MappingView{Field: "email"}, true},
		{"enterprise_email fallback", ContactTrust{}, MappingView{Field: "user_id", Fallbacks: []string{"enterprise_email"}}, true},
		{"mobile", ContactTrust{TrustEmail: true}, MappingView{Field: "mobile"}, true},
		{"email trusted", ContactTrust{TrustEmail: true}, MappingView{Field: "email"}, false},
		{"mobile trusted", ContactTrust{TrustMobile: true}, MappingView{Field: "mobile"}, false},
	}
	for _, tt := range tests {
		c := &FeishuConfig{ContactTrust: tt.trust}
		errs, _ := c.GuardMapping(tt.m)
		if (len(errs) > 0) != tt.bad {
			t.Errorf("%s: %v", tt.name, errs)
		}
		if tt.bad && (errs[0].Key != "mapping.field" || !strings.Contains(errs[0].Msg, "feishu's")) {
			t.Errorf("%s: %v", tt.name, errs)
		}
	}
}

// FuzzFeishuEnvelope: any answer of the token endpoint or user_info gives an error or a well-formed identity
// of the configured tenant, never an identity or token for a non-zero code, and never panics.
func FuzzFeishuEnvelope(f *testing.F) {
	for _, seed := range []string{
		`{"code":0,"access_token":"eyJabc","token_type":"Bearer","expires_in":7200}`,
		`{"code":20003,"error":"invalid_grant","error_description":"x"}`,
		`{"code":0,"msg":"success","data":{"union_id":"on_1","user_id":"5d9bd7a1","tenant_key":"736588c92lxf175d","mobile":"+86130"}}`,
		`{"code":20005,"msg":"invalid","data":{"union_id":"on_1","user_id":"1","tenant_key":"736588c92lxf175d"}}`,
		`{"code":99991677,"msg":"expired","error":{"log_id":"x"}}`,
		`{"code":1e3,"data":{}}`, `{"code":"0"}`, `{"data":null}`, `[]`, `{"code":0,"data":{"user_id":12345678901234567890}}`,
	} {
		f.Add([]byte(seed), 200)
	}
	p := &feishuProvider{base: newBase(Common{ID: "feishu", Type: TypeFeishu}, Options{}), tenantKey: idpstub.FeishuTenant}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		obj, err := decodeClaims(body)
		if err != nil {
			return
		}
		res := &apiResult{Status: status, Object: obj}
		nonZero := false
		if code, _, err := envelope(obj, "code", "msg", false); err != nil || code != 0 {
			nonZero = true
		}
		if tok, err := p.tokenAnswer(res); err == nil && (nonZero || tok == "" || status != 200) {
			t.Fatalf("token %q from %s (status %d)", tok, body, status)
		}
		id, err := p.identity(res, "eyJtoken")
		if err != nil {
			if ErrorCode(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if nonZero || status != 200 || id.Subject == "" || id.Claims["tenant_key"] != idpstub.FeishuTenant {
			t.Fatalf("identity %+v from %s (status %d)", id, body, status)
		}
		if _, ok := stringField(id.Claims, "user_id"); !ok {
			t.Fatalf("identity without user_id from %s", body)
		}
	})
}
