package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WeCom (企业微信) hosts: the browser sign-in page, the in-client OAuth page and the server API.
const (
	WeComLoginURL = "https://login.work.weixin.qq.com"
	WeComOAuthURL = "https://open.weixin.qq.com"
	WeComAPIURL   = "https://qyapi.weixin.qq.com"
)

// WeCom sign-in flows (`login:`) and in-client scopes (`scope:`).
const (
	WeComLoginWeb      = "web"       // the browser sign-in page (企业微信Web登录), wwlogin
	WeComLoginInClient = "in_client" // OAuth inside the WeCom app's webview
	WeComScopeBase     = "snsapi_base"
	WeComScopePrivate  = "snsapi_privateinfo"
)

// WeCom errcodes the preset acts on (global error codes, document 90313).
const (
	weComInvalidToken = 40014 // 不合法的access_token
	weComTokenExpired = 42001 // access_token已过期
	weComInvalidCode  = 40029 // 不合法的oauth_code: unknown, used and expired codes alike
	weComUntrustedURL = 50001 // redirect_url未登记可信域名
	weComNoVisibility = 60011 // 指定的成员/部门/标签参数无权限 (outside the app's visible range)
	weComUntrustedIP  = 60020 // 不安全的访问IP: the bridge's outbound IP is not in 企业可信IP
)

// weComState is what WeCom's in-client OAuth page (document 96441) accepts as state: "a-zA-Z0-9的参数值,
// 长度不可超过128个字节".
var weComState = regexp.MustCompile(`^[a-zA-Z0-9]{1,128}$`)

// weComDetailFields are getuserdetail's sensitive fields (document 96443), claims under the same names; the
// admin selects them in the app and the user consents with snsapi_privateinfo.
var weComDetailFields = []string{"gender", "avatar", "qr_code", "mobile", "email", "biz_mail", "address"}

// weComProfileFields are the claims taken from user/get (document 96255) with `profile: true`. Apps created
// after 2022-06-20 no longer get avatar, gender, mobile, email, biz_mail, qr_code or address there.
var weComProfileFields = []string{"name", "alias", "department", "main_department", "position", "mobile", "email", "biz_mail"}

var iconWeCom = mustIcon("wecom")

// wecomPreset is WeCom (企业微信) with a self-built app (企业自建应用).
//
// Claims, under WeCom's own names: userid (the Subject, unique in the company and case-insensitive),
// corpid (the configured company, which every identity belongs to); from getuserdetail when the sign-in
// yields a user_ticket: gender, avatar, qr_code, mobile, email, biz_mail, address; with profile: true, from
// user/get: name, alias, department, main_department, position (and mobile, email, biz_mail for apps
// created before 2022-06-20). email_verified and mobile_verified are the trust_email / trust_mobile opt-ins.
var wecomPreset = Preset{
	Name:         "WeCom (企业微信)",
	NewConfig:    func() PresetConfig { return &WeComConfig{} },
	MappingField: "userid",
	JWTOnly:      true,
	Why:          "WeCom has no user endpoint that accepts a Bearer token: a user is read with the company's access token in the query, and the answer is wrapped in an {errcode, errmsg} envelope",
	Icon:         iconWeCom,
	Example: `- id: wecom
  type: wecom
  corp_id: ww1a2b3c4d5e6f7a8b          # 我的企业 → 企业信息 → 企业ID
  agent_id: "1000002"                  # the self-built app's AgentId
  secret_file: /run/secrets/wecom-app-secret   # the app's Secret
  # secret: …                          # the value itself instead of the file (prefer the file)
  fuyun_mode: jwt                      # WeCom works in JWT mode only
  # login: web                         # web (default): 企业微信 web login; in_client is refused (see docs)
  # scope: snsapi_base                 # in_client only
  # profile: false                     # true: also read name, department, position (user/get)
  # trust_email: false                 # email and biz_mail are not verified by WeCom
  # trust_mobile: false
  # login_url: https://login.work.weixin.qq.com   # the defaults; tests point them at a stub
  # oauth_url: https://open.weixin.qq.com
  # api_url: https://qyapi.weixin.qq.com
  mapping: {field: userid}`,
}

// WeComConfig is the `wecom` type's configuration.
type WeComConfig struct {
	// CorpID is the company (企业ID); only its members sign in.
	CorpID string `yaml:"corp_id"`
	// AgentID is the self-built app's AgentId.
	AgentID string `yaml:"agent_id"`
	// Secret is the app's Secret (gettoken's corpsecret); the config package reads secret_file into it.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// Login is web (default) or in_client.
	Login string `yaml:"login"`
	// Scope is the in-client OAuth scope: snsapi_base (default) or snsapi_privateinfo.
	Scope string `yaml:"scope"`
	// Profile reads the member's name and departments with user/get after sign-in.
	Profile      bool `yaml:"profile"`
	ContactTrust `yaml:",inline"`
	// LoginURL, OAuthURL and APIURL override the hosts (tests).
	LoginURL string `yaml:"login_url"`
	OAuthURL string `yaml:"oauth_url"`
	APIURL   string `yaml:"api_url"`
}

func (c *WeComConfig) ApplyDefaults() {
	if c.Login == "" {
		c.Login = WeComLoginWeb
	}
	if c.Login == WeComLoginInClient && c.Scope == "" {
		c.Scope = WeComScopeBase
	}
}

func (c *WeComConfig) Validate() []FieldError {
	var errs []FieldError
	for _, k := range [][2]string{{"corp_id", c.CorpID}, {"agent_id", c.AgentID}, {"secret", c.Secret}} {
		switch {
		case strings.TrimSpace(k[1]) == "":
			errs = append(errs, FieldError{k[0], "required for type wecom"})
		case k[0] != "secret" && strings.ContainsFunc(k[1], func(r rune) bool { return r <= ' ' || r == '/' }):
			errs = append(errs, FieldError{k[0], fmt.Sprintf("%q must not contain spaces, control characters or '/'", k[1])})
		}
	}
	switch c.Login {
	case WeComLoginWeb:
		if c.Scope != "" {
			errs = append(errs, FieldError{"scope", "applies to login: in_client only; the web sign-in has no scope"})
		}
	case WeComLoginInClient:
		// The bridge's state is 32 random bytes in base64url: about 3 logins in 4 carry a '-' or '_', which
		// WeCom's in-client page refuses. Refused here rather than failing most logins at random.
		errs = append(errs, FieldError{"login", "in_client is not supported yet: WeCom's in-client OAuth accepts a state of a-zA-Z0-9 only, and the bridge's state is base64url (with '-' and '_'); use login: web"})
		if c.Scope != WeComScopeBase && c.Scope != WeComScopePrivate {
			errs = append(errs, FieldError{"scope", fmt.Sprintf("%q: want snsapi_base or snsapi_privateinfo", c.Scope)})
		}
	default:
		errs = append(errs, FieldError{"login", fmt.Sprintf("%q: want web or in_client", c.Login)})
	}
	return append(errs, endpointErrors([2]string{"login_url", c.LoginURL}, [2]string{"oauth_url", c.OAuthURL}, [2]string{"api_url", c.APIURL})...)
}

// GuardMapping refuses a mapping on email, biz_mail or mobile without the opt-in: WeCom's are kept by the
// company's administrators and carry no verification. It warns when the mapping names a field the
// configured sign-in cannot yield: a web sign-in gives userid only, unless profile adds user/get's fields.
func (c *WeComConfig) GuardMapping(m MappingView) (errs, warnings []FieldError) {
	errs = c.ContactTrust.guard(TypeWeCom, m, []string{"email", "biz_mail"}, []string{"mobile"})
	if c.Login == WeComLoginInClient || c.Profile {
		return errs, nil
	}
	for _, f := range append([]string{m.Field}, m.Fallbacks...) {
		if f != "" && f != "userid" && f != "corpid" {
			warnings = append(warnings, FieldError{"mapping.field", fmt.Sprintf("%s: a WeCom web sign-in yields only userid and corpid; set profile: true to read user/get's fields (apps created after 2022-06-20 get no email or mobile there)", f)})
		}
	}
	return errs, warnings
}

// Build makes the WeCom provider. WeCom has no PKCE and no nonce: the bridge's verifier and nonce are not
// sent, and the code is bound to the app by the corp token that redeems it.
func (c *WeComConfig) Build(common Common, opts Options) (Provider, error) {
	p := &wecomProvider{base: newBase(common, opts), cfg: *c,
		loginURL: strings.TrimSuffix(cmp.Or(c.LoginURL, WeComLoginURL), "/"),
		oauthURL: strings.TrimSuffix(cmp.Or(c.OAuthURL, WeComOAuthURL), "/"),
		apiURL:   strings.TrimSuffix(cmp.Or(c.APIURL, WeComAPIURL), "/")}
	p.token = &appToken{fetch: p.fetchToken, now: p.rt.now}
	return p, nil
}

// wecomProvider signs members of one company in through a self-built app.
type wecomProvider struct {
	base
	cfg                        WeComConfig
	loginURL, oauthURL, apiURL string
	token                      *appToken
}

var _ Readier = (*wecomProvider)(nil)

// Ready fetches the corp token (or confirms the cached one): it proves corp_id, secret and the 企业可信IP.
func (p *wecomProvider) Ready(ctx context.Context) error {
	_, err := p.token.get(ctx)
	return err
}

func (p *wecomProvider) AuthCodeURL(_ context.Context, a AuthRequest) (string, error) {
	if err := p.checkAuthRequest(a, false); err != nil {
		return "", err
	}
	if p.cfg.Login == WeComLoginInClient {
		if !weComState.MatchString(a.State) {
			return "", fmt.Errorf("provider %s: WeCom's in-client OAuth accepts a state of 1 to 128 of a-zA-Z0-9 only", p.c.ID)
		}
		// In the order document 96441 shows; #wechat_redirect tells the client to add the user's identity.
		return p.oauthURL + "/connect/oauth2/authorize?appid=" + url.QueryEscape(p.cfg.CorpID) +
			"&redirect_uri=" + url.QueryEscape(p.c.RedirectURL) + "&response_type=code&scope=" + url.QueryEscape(p.cfg.Scope) +
			"&state=" + url.QueryEscape(a.State) + "&agentid=" + url.QueryEscape(p.cfg.AgentID) + "#wechat_redirect", nil
	}
	return p.loginURL + "/wwlogin/sso/login?" + url.Values{
		"login_type": {"CorpApp"}, "appid": {p.cfg.CorpID}, "agentid": {p.cfg.AgentID},
		"redirect_uri": {p.c.RedirectURL}, "state": {a.State},
	}.Encode(), nil
}

// Callback spends the code with the corp token (auth/getuserinfo), refuses whoever is not a member of the
// company, and reads the consented fields (auth/getuserdetail) and, with profile, the member (user/get). The
// callback's appid (the legacy scan page adds it) is ignored.
func (p *wecomProvider) Callback(ctx context.Context, c CallbackRequest) (*Identity, error) {
	code, err := AuthorizationResponse(c.Query, "code")
	if err != nil {
		return nil, err
	}
	res, err := p.call(ctx, StageToken, CodeTokenFailed, http.MethodGet, "/cgi-bin/auth/getuserinfo", url.Values{"code": {code}}, nil)
	if err != nil {
		return nil, err
	}
	userid, ticket, err := weComUserInfo(p.cfg.CorpID, res)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{"userid": userid, "corpid": p.cfg.CorpID}
	if ticket != "" {
		res, err := p.call(ctx, StageUserinfo, CodeUserinfoFailed, http.MethodPost, "/cgi-bin/auth/getuserdetail", nil, map[string]string{"user_ticket": ticket})
		if err != nil {
			return nil, err
		}
		if err := weComFields(claims, res, "getuserdetail", weComDetailFields); err != nil {
			return nil, err
		}
	}
	if p.cfg.Profile {
		res, err := p.call(ctx, StageUserinfo, CodeUserinfoFailed, http.MethodGet, "/cgi-bin/user/get", url.Values{"userid": {userid}}, nil)
		if err != nil {
			return nil, err
		}
		if err := weComFields(claims, res, "user/get", weComProfileFields); err != nil {
			return nil, err
		}
	}
	p.cfg.ContactTrust.mark(claims, "mobile")
	return &Identity{Provider: p.c.ID, Subject: userid, Claims: claims}, nil
}

// call makes one API call with the corp token in the query. When WeCom answers that the token is invalid
// or expired (it may end a token early, document 91039), the token is dropped and the call made once more
// with a fresh one: a refused token does not spend the code. Transport failures, non-200 answers and
// bodies that are not JSON objects are failCode; the envelope is the caller's to read.
func (p *wecomProvider) call(ctx context.Context, stage, failCode, method, path string, q url.Values, body any) (*apiResult, error) {
	for attempt := 1; ; attempt++ {
		tok, err := p.token.get(ctx)
		if err != nil {
			return nil, err
		}
		qq := url.Values{"access_token": {tok}}
		maps.Copy(qq, q)
		res, err := callAPI(ctx, p.rt.client, apiCall{Method: method, URL: p.apiURL + path + "?" + qq.Encode(), Body: body, Stage: stage})
		if err != nil {
			return nil, Errorf(failCode, "wecom %s: %w", path, err)
		}
		if res.Status != http.StatusOK {
			return nil, &Error{Code: failCode, Err: fmt.Errorf("wecom %s answered HTTP %d", path, res.Status), Detail: "HTTP " + strconv.Itoa(res.Status)}
		}
		if code, _, _ := errcodeEnvelope(res.Object, false); (code == weComInvalidToken || code == weComTokenExpired) && attempt == 1 {
			p.token.invalidate(tok)
			continue
		}
		return res, nil
	}
}

// fetchToken is gettoken (document 91039): the app's corp token and its lifetime.
func (p *wecomProvider) fetchToken(ctx context.Context) (string, time.Duration, error) {
	q := url.Values{"corpid": {p.cfg.CorpID}, "corpsecret": {p.cfg.Secret}}
	res, err := callAPI(ctx, p.rt.client, apiCall{Method: http.MethodGet, URL: p.apiURL + "/cgi-bin/gettoken?" + q.Encode(), Stage: StageToken})
	if err != nil {
		return "", 0, Errorf(CodeIdPUnavailable, "wecom gettoken: %w", err)
	}
	return weComToken(res)
}

// weComToken reads gettoken's answer. Every refusal is CodeIdPUnavailable: no login can succeed until the
// configuration (corp_id, secret, 企业可信IP) or WeCom is fixed.
func weComToken(res *apiResult) (string, time.Duration, error) {
	if err := weComOK(res, CodeIdPUnavailable, "gettoken"); err != nil {
		var pe *Error
		if errors.As(err, &pe) && slices.Contains([]string{"40001", "40013", "40091", "41002", "41004"}, pe.Detail) {
			pe.Err = fmt.Errorf("%w (check corp_id and the app's secret, and that the app is enabled)", pe.Err)
		}
		return "", 0, err
	}
	tok, _ := res.Object["access_token"].(string)
	n, _ := res.Object["expires_in"].(json.Number)
	secs, err := n.Int64()
	if tok == "" || err != nil || secs <= 0 {
		return "", 0, Errorf(CodeIdPUnavailable, "wecom gettoken answered without access_token or a positive expires_in")
	}
	return tok, time.Duration(secs) * time.Second, nil
}

// weComOK checks an answer's envelope: errcode 0, or an error of code failCode (60020, the untrusted IP, is
// CodeIdPUnavailable whatever the call) whose Detail is the errcode.
func weComOK(res *apiResult, failCode, what string) error {
	code, msg, err := errcodeEnvelope(res.Object, false)
	if err != nil {
		return Errorf(failCode, "wecom %s: %w", what, err)
	}
	if code == 0 {
		return nil
	}
	e := &Error{Code: failCode, Err: fmt.Errorf("wecom %s answered errcode %d: %q", what, code, clip(msg, 200)), Detail: strconv.FormatInt(code, 10)}
	switch code {
	case weComUntrustedIP:
		e.Code = CodeIdPUnavailable
		e.Err = fmt.Errorf("%w: add the bridge's outbound IP to the app's 企业可信IP", e.Err)
	case weComInvalidCode:
		e.Err = fmt.Errorf("%w: the code is unknown, already used or older than 5 minutes", e.Err)
	case weComUntrustedURL:
		e.Err = fmt.Errorf("%w: the redirect URI's host is not the app's trusted domain (可信域名 / 授权回调域)", e.Err)
	case weComNoVisibility:
		e.Err = fmt.Errorf("%w: the member is outside the app's visible range (可见范围)", e.Err)
	}
	return e
}

// weComUserInfo reads auth/getuserinfo's answer (documents 96442, 98177): a member of corp has userid (and
// a user_ticket after an snsapi_privateinfo consent); anyone else is refused.
func weComUserInfo(corp string, res *apiResult) (userid, ticket string, err error) {
	if err := weComOK(res, CodeTokenFailed, "getuserinfo"); err != nil {
		return "", "", err
	}
	userid, ok := stringField(res.Object, "userid")
	if !ok {
		if _, ok := stringField(res.Object, "openid"); ok {
			return "", "", Errorf(CodeTenantNotAllowed, "the user is not a member of corp %s (WeCom answered an openid)", corp)
		}
		return "", "", Errorf(CodeTokenFailed, "wecom getuserinfo answered neither userid nor openid")
	}
	// A member of a linked company (互联企业/上下游) comes as CorpId/userid.
	if other, _, linked := strings.Cut(userid, "/"); linked {
		return "", "", Errorf(CodeTenantNotAllowed, "the user is a member of linked corp %s, not a member of corp %s", clip(other, 64), corp)
	}
	ticket, _ = res.Object["user_ticket"].(string)
	return userid, ticket, nil
}

// weComFields copies fields of a member answer (getuserdetail, user/get) into claims, keeping what is
// already there; the answer must be about the same userid.
func weComFields(claims map[string]any, res *apiResult, what string, fields []string) error {
	if err := weComOK(res, CodeUserinfoFailed, what); err != nil {
		return err
	}
	if got, _ := stringField(res.Object, "userid"); !strings.EqualFold(got, claims["userid"].(string)) {
		return Errorf(CodeUserinfoFailed, "wecom %s answered about userid %q, not %q", what, clip(got, 64), claims["userid"])
	}
	for _, f := range fields {
		v, ok := res.Object[f]
		if _, set := claims[f]; set || !ok || v == nil || v == "" {
			continue
		}
		claims[f] = v
	}
	return nil
}

// Warm opens a connection to the API host a login calls.
func (p *wecomProvider) Warm(ctx context.Context) error {
	return warmOrigins(ctx, p.rt.client, p.apiURL)
}
