package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DingTalk (钉钉) hosts; login_url, api_url and oapi_url override them for tests.
const (
	DingTalkLoginURL = "https://login.dingtalk.com"
	DingTalkAPIURL   = "https://api.dingtalk.com"
	DingTalkOAPIURL  = "https://oapi.dingtalk.com"
)

// dingTalkScope asks for the organisation the user signs in under: only with corpid does the user-token
// answer carry corpId, which the preset pins. DingTalk accepts exactly "openid" or "openid corpid".
const dingTalkScope = "openid corpid"

// Claims that only the enterprise lookup (topapi, with the corp token) provides.
var dingTalkEnterpriseClaims = []string{"userid", "name", "title", "job_number", "org_email"}

var iconDingTalk = mustIcon("dingtalk")

// dingTalkPreset is DingTalk's web login for an internal app (企业内部应用). It is not OpenID Connect: no
// ID token, camelCase JSON, a custom token header. Claims carry DingTalk's own field names:
//
//	corpId                                              the organisation the user signed in under (= corp_id)
//	unionId, openId, nick, avatarUrl, email, mobile, stateCode   from /v1.0/contact/users/me
//	userid, name, title, job_number, org_email          from topapi/v2/user/get (enterprise_lookup)
//
// The subject is userid (the id within the company) when the lookup runs, else unionId.
var dingTalkPreset = Preset{
	Name:         "DingTalk (钉钉)",
	NewConfig:    func() PresetConfig { return &DingTalkConfig{} },
	MappingField: "userid",
	JWTOnly:      true,
	Why: "DingTalk's user endpoint takes the access token in its own x-acs-dingtalk-access-token header, " +
		"not the Bearer header Fuyun's OAuth mode sends",
	Icon: iconDingTalk,
	Example: `- id: dingtalk
  type: dingtalk
  client_id: <AppKey (Client ID) of the internal app>
  client_secret_file: /run/secrets/dingtalk-app-secret   # AppSecret (Client Secret)
  # client_secret: …                 # the value itself instead of the file (prefer the file)
  corp_id: ding5e2f8c9d0a1b3c4d      # your organisation's corpId: users of other organisations are refused
  fuyun_mode: jwt                    # DingTalk works in JWT mode only
  # enterprise_lookup: true          # default: userid, job_number, org_email via topapi (needs qyapi_get_member)
  # exclusive_login: false           # true: DingTalk's exclusive-account login page for corp_id (专属账号)
  # trust_email: false               # email and org_email are not verified by DingTalk
  # trust_mobile: false              # nor is mobile
  # login_url: https://login.dingtalk.com   # the defaults; tests point them at a stub
  # api_url: https://api.dingtalk.com
  # oapi_url: https://oapi.dingtalk.com
  mapping:
    field: userid                    # or job_number; unionId when enterprise_lookup is false`,
}

// DingTalkConfig is the `dingtalk` type's configuration. There is no scopes key: the preset needs exactly
// "openid corpid".
type DingTalkConfig struct {
	// ClientID is the app's AppKey (now called Client ID).
	ClientID string `yaml:"client_id"`
	// ClientSecret is the AppSecret; the config package reads client_secret_file into it.
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// CorpID is the organisation whose members may sign in.
	CorpID string `yaml:"corp_id"`
	// EnterpriseLookup reads the user's userid, job number and company mailbox with the app's corp token;
	// default true.
	EnterpriseLookup *bool `yaml:"enterprise_lookup"`
	// ExclusiveLogin sends the login page straight to the organisation's own sign-in for 专属账号
	// (exclusive accounts); only for organisations that have them enabled.
	ExclusiveLogin bool         `yaml:"exclusive_login"`
	ContactTrust   ContactTrust `yaml:",inline"`
	LoginURL       string       `yaml:"login_url"`
	APIURL         string       `yaml:"api_url"`
	OAPIURL        string       `yaml:"oapi_url"`
}

func (c *DingTalkConfig) ApplyDefaults() {
	if c.EnterpriseLookup == nil {
		yes := true
		c.EnterpriseLookup = &yes
	}
	for _, u := range []struct {
		v   *string
		def string
	}{{&c.LoginURL, DingTalkLoginURL}, {&c.APIURL, DingTalkAPIURL}, {&c.OAPIURL, DingTalkOAPIURL}} {
		if *u.v == "" {
			*u.v = u.def
		}
	}
}

func (c *DingTalkConfig) Validate() []FieldError {
	var errs []FieldError
	if strings.TrimSpace(c.ClientID) == "" {
		errs = append(errs, FieldError{"client_id", "required: the app's AppKey (Client ID)"})
	}
	switch id := c.CorpID; {
	case id == "":
		errs = append(errs, FieldError{"corp_id", "required for type dingtalk: your organisation's corpId (开发者后台 首页), so that users of other organisations are refused"})
	case strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }) || len(id) > 64:
		errs = append(errs, FieldError{"corp_id", fmt.Sprintf("corp_id %q must be one token of at most 64 characters, such as ding5e2f8c9d0a1b3c4d", id)})
	}
	return append(errs, endpointErrors([2]string{"login_url", c.LoginURL}, [2]string{"api_url", c.APIURL}, [2]string{"oapi_url", c.OAPIURL})...)
}

// GuardMapping refuses a mapping that cannot work or is not safe: the enterprise claims without the lookup
// that provides them, and an unverified email or mobile without the opt-in.
func (c *DingTalkConfig) GuardMapping(m MappingView) (errs, warnings []FieldError) {
	if !c.lookup() {
		for _, f := range append([]string{m.Field}, m.Fallbacks...) {
			if slices.Contains(dingTalkEnterpriseClaims, f) {
				errs = append(errs, FieldError{"mapping.field", fmt.Sprintf("%s comes from DingTalk's enterprise lookup, and enterprise_lookup is false: map on unionId (the default field is userid, so set mapping.field), or set enterprise_lookup: true", f)})
			}
		}
	}
	errs = append(errs, c.ContactTrust.guard(TypeDingTalk, m, []string{"email", "org_email"}, []string{"mobile"})...)
	if m.Field == "nick" || slices.Contains(m.Fallbacks, "nick") {
		warnings = append(warnings, FieldError{"mapping.field", "nick is the DingTalk nickname the user chooses; it is neither unique nor stable: map on userid or unionId"})
	}
	return errs, warnings
}

func (c *DingTalkConfig) lookup() bool { return c.EnterpriseLookup == nil || *c.EnterpriseLookup }

// Build makes the DingTalk provider.
func (c *DingTalkConfig) Build(common Common, opts Options) (Provider, error) {
	p := &dingTalk{base: newBase(common, opts), cfg: *c, lookup: c.lookup(),
		loginURL: strings.TrimSuffix(c.LoginURL, "/"), apiURL: strings.TrimSuffix(c.APIURL, "/"), oapiURL: strings.TrimSuffix(c.OAPIURL, "/")}
	p.corpToken = &appToken{fetch: p.fetchCorpToken, now: p.rt.now}
	return p, nil
}

// dingTalk is one DingTalk internal app.
type dingTalk struct {
	base
	cfg                       DingTalkConfig
	lookup                    bool
	loginURL, apiURL, oapiURL string
	corpToken                 *appToken
}

var (
	_ UserInfoer = (*dingTalk)(nil)
	_ Readier    = (*dingTalk)(nil)
)

// AuthCodeURL builds the login page's URL. DingTalk has no PKCE, nonce nor login_hint: the bridge's verifier
// and nonce are not sent (the code is bound to the app's secret instead). corpId names the one organisation
// the user may pick; the token answer's corpId is checked all the same, since the user holds this URL.
func (p *dingTalk) AuthCodeURL(_ context.Context, a AuthRequest) (string, error) {
	if err := p.checkAuthRequest(a, false); err != nil {
		return "", err
	}
	q := url.Values{
		"client_id": {p.cfg.ClientID}, "redirect_uri": {p.c.RedirectURL}, "response_type": {"code"},
		"scope": {dingTalkScope}, "prompt": {"consent"}, "state": {a.State}, "corpId": {p.cfg.CorpID},
	}
	if p.cfg.ExclusiveLogin {
		q.Set("exclusiveLogin", "true")
		q.Set("exclusiveCorpId", p.cfg.CorpID)
	}
	// The documentation asks for the scope's space URL-encoded (openid%20corpid); Encode writes "+".
	return p.loginURL + "/oauth2/auth?" + strings.ReplaceAll(q.Encode(), "+", "%20"), nil
}

// Callback reads authCode (DingTalk also sends the same value as code), redeems it, pins the organisation
// and reads the user.
func (p *dingTalk) Callback(ctx context.Context, c CallbackRequest) (*Identity, error) {
	code, err := AuthorizationResponse(c.Query, "authCode", "code")
	if err != nil {
		return nil, err
	}
	tok, err := p.redeem(ctx, code)
	if err != nil {
		return nil, err
	}
	id, err := p.identity(ctx, tok.accessToken)
	var pe *Error
	if errors.As(err, &pe) && pe.Code == CodeInvalidToken {
		return nil, &Error{Code: CodeUserinfoFailed, Err: fmt.Errorf("the access token just issued was refused: %w", pe.Err), Detail: pe.Detail}
	}
	if err != nil {
		return nil, err
	}
	id.Claims["corpId"] = tok.corpID
	id.Unpinned = ""
	return id, nil
}

// UserInfo says who holds a DingTalk user access token. Without the enterprise lookup nothing proves the
// organisation (users/me carries no corpId), and the identity says so.
func (p *dingTalk) UserInfo(ctx context.Context, accessToken string) (*Identity, error) {
	if accessToken == "" {
		return nil, Errorf(CodeInvalidToken, "access token is empty")
	}
	return p.identity(ctx, accessToken)
}

// Ready fetches the corp token when the enterprise lookup needs it, which proves AppKey and AppSecret.
func (p *dingTalk) Ready(ctx context.Context) error {
	if !p.lookup {
		return nil
	}
	_, err := p.corpToken.get(ctx)
	return err
}

// identity reads users/me and, with the lookup, the employee record.
func (p *dingTalk) identity(ctx context.Context, accessToken string) (*Identity, error) {
	me, err := p.contactMe(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	claims := dingTalkFields(me, "unionId", "openId", "nick", "avatarUrl", "email", "mobile", "stateCode")
	unionID, ok := claims["unionId"].(string)
	if !ok {
		return nil, Errorf(CodeUserinfoFailed, "DingTalk users/me has no unionId")
	}
	id := &Identity{Provider: p.c.ID, Subject: unionID, Claims: claims, AccessToken: accessToken}
	if p.lookup {
		emp, err := p.employee(ctx, unionID)
		if err != nil {
			return nil, err
		}
		for k, v := range emp {
			if _, have := claims[k]; !have {
				claims[k] = v
			}
		}
		id.Subject = emp["userid"].(string)
	} else {
		id.Unpinned = "DingTalk's users/me carries no organisation and enterprise_lookup is false"
	}
	p.cfg.ContactTrust.mark(claims, "mobile")
	return id, nil
}

// dingTalkFields copies the named fields of obj that are non-empty strings or integers, as strings.
func dingTalkFields(obj map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := stringField(obj, k); ok {
			out[k] = v
		}
	}
	return out
}

// dingUserToken is the user-token answer's part the preset uses.
type dingUserToken struct{ accessToken, corpID string }

// redeem exchanges the authCode for a user token and pins the organisation.
func (p *dingTalk) redeem(ctx context.Context, code string) (*dingUserToken, error) {
	res, err := callAPI(ctx, p.rt.client, apiCall{Method: "POST", URL: p.apiURL + "/v1.0/oauth2/userAccessToken", Stage: StageToken,
		Body: map[string]string{"clientId": p.cfg.ClientID, "clientSecret": p.cfg.ClientSecret, "code": code, "grantType": "authorization_code"}})
	if err != nil {
		return nil, Errorf(CodeTokenFailed, "DingTalk userAccessToken: %w", err)
	}
	return p.userToken(res)
}

// userToken judges a userAccessToken answer.
func (p *dingTalk) userToken(res *apiResult) (*dingUserToken, error) {
	if err := dingGatewayError(res, CodeTokenFailed, "userAccessToken"); err != nil {
		return nil, err
	}
	at, ok := stringField(res.Object, "accessToken")
	if !ok {
		return nil, Errorf(CodeTokenFailed, "DingTalk userAccessToken answered without accessToken")
	}
	corp, _ := res.Object["corpId"].(string)
	switch {
	case corp == "":
		return nil, Errorf(CodeTenantNotAllowed, "the user is not a member of %s: DingTalk named no organisation for the sign-in", p.cfg.CorpID)
	case corp != p.cfg.CorpID:
		return nil, &Error{Code: CodeTenantNotAllowed, Err: fmt.Errorf("the user signed in under organisation %q, not a member of %s", clip(corp, 64), p.cfg.CorpID), Detail: clip(corp, 64)}
	}
	return &dingUserToken{accessToken: at, corpID: corp}, nil
}

// dingGatewayError reads api.dingtalk.com's error shape: an HTTP 4xx/5xx with {code, message, requestid}, code a
// string that is safe to show. A 200 carrying a code is treated alike.
func dingGatewayError(res *apiResult, errCode, what string) error {
	code, _ := res.Object["code"].(string)
	if res.Status == 200 && code == "" {
		return nil
	}
	msg, _ := res.Object["message"].(string)
	rid, _ := res.Object["requestid"].(string)
	return &Error{Code: errCode, Detail: clip(code, 64),
		Err: fmt.Errorf("DingTalk %s answered %d code=%q message=%q requestid=%q", what, res.Status, clip(code, 64), clip(msg, 200), clip(rid, 64))}
}

// contactMe reads /v1.0/contact/users/me with the user token in DingTalk's own header.
func (p *dingTalk) contactMe(ctx context.Context, accessToken string) (map[string]any, error) {
	res, err := callAPI(ctx, p.rt.client, apiCall{Method: "GET", URL: p.apiURL + "/v1.0/contact/users/me", Stage: StageUserinfo,
		Header: http.Header{http.CanonicalHeaderKey("x-acs-dingtalk-access-token"): {accessToken}}})
	if err != nil {
		return nil, Errorf(CodeUserinfoFailed, "DingTalk users/me: %w", err)
	}
	code, _ := res.Object["code"].(string)
	// InvalidAuthentication (400) and 401 are a missing or expired token; 403 is a missing permission.
	errCode := CodeUserinfoFailed
	if res.Status == 401 || code == "InvalidAuthentication" {
		errCode = CodeInvalidToken
	}
	if err := dingGatewayError(res, errCode, "users/me"); err != nil {
		return nil, err
	}
	return res.Object, nil
}

// fetchCorpToken gets the internal app's corp token (POST /v1.0/oauth2/accessToken).
func (p *dingTalk) fetchCorpToken(ctx context.Context) (string, time.Duration, error) {
	res, err := callAPI(ctx, p.rt.client, apiCall{Method: "POST", URL: p.apiURL + "/v1.0/oauth2/accessToken", Stage: StageToken,
		Body: map[string]string{"appKey": p.cfg.ClientID, "appSecret": p.cfg.ClientSecret}})
	if err != nil {
		return "", 0, Errorf(CodeIdPUnavailable, "DingTalk corp token: %w", err)
	}
	if err := dingGatewayError(res, CodeIdPUnavailable, "corp token (oauth2/accessToken)"); err != nil {
		return "", 0, err
	}
	tok, _ := stringField(res.Object, "accessToken")
	ttl, _ := stringField(res.Object, "expireIn")
	secs, err := strconv.ParseInt(ttl, 10, 32)
	if tok == "" || err != nil || secs <= 0 {
		return "", 0, Errorf(CodeIdPUnavailable, "DingTalk corp token answer lacks accessToken or a positive expireIn")
	}
	return tok, time.Duration(secs) * time.Second, nil
}

// Warm opens a connection to the API hosts a login calls.
func (p *dingTalk) Warm(ctx context.Context) error {
	return warmOrigins(ctx, p.rt.client, p.apiURL, p.oapiURL)
}
