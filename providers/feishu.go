package providers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// Feishu (飞书) and Lark preset data. Feishu documents only its own hosts; Lark's are the Go SDK's base URL
// (open.larksuite.com) and the accounts host public code uses, with the same paths. A Feishu app works only
// on Feishu hosts and a Lark app only on Lark's (error 20046, "应用品牌和域名品牌不一致").
const (
	FeishuAccountsURL = "https://accounts.feishu.cn"
	FeishuOpenURL     = "https://open.feishu.cn"
	LarkAccountsURL   = "https://accounts.larksuite.com"
	LarkOpenURL       = "https://open.larksuite.com"

	feishuAuthorizePath = "/open-apis/authen/v1/authorize"
	// feishuTokenPath is the v2 token endpoint. Feishu announces a v3 one (https://accounts.feishu.cn/oauth/v3/token,
	// "request parameters and response structure remain the same as v2") without publishing its page: token_url
	// selects it.
	feishuTokenPath    = "/open-apis/authen/v2/oauth/token"
	feishuUserInfoPath = "/open-apis/authen/v1/user_info"

	// FeishuScopeUserID is the permission (获取用户 user ID) without which user_info leaves out user_id.
	FeishuScopeUserID = "contact:user.employee_id:readonly"
)

// Feishu result codes the preset tells apart; every other non-zero code is a failure of the call it came from.
const (
	feishuNotInRange = 20010 // token: "The user does not have permission to use this app." (可用范围)
	// user_info: the token is not (or no longer) a valid user token. 20005 is documented on user_info; the
	// others are the gateway's (missing, invalid, malformed, expired user token).
	feishuBadToken, feishuNoToken, feishuInvalidToken, feishuMalformedToken, feishuExpiredToken = 20005, 99991661, 99991668, 99991671, 99991677
	// user_info: the user exists no longer, resigned, is frozen or never registered.
	feishuNoUser, feishuResigned, feishuFrozen, feishuUnregistered = 20008, 20021, 20022, 20023
)

// feishuHosts are the `host` values and their accounts and open hosts.
var feishuHosts = map[string][2]string{
	"feishu":    {FeishuAccountsURL, FeishuOpenURL},
	"larksuite": {LarkAccountsURL, LarkOpenURL},
}

// feishuEmailFields and feishuMobileFields are user_info's contact fields, which Feishu says are
// administrator-imported and unverified.
var (
	feishuEmailFields  = []string{"email", "enterprise_email"}
	feishuMobileFields = []string{"mobile"}
)

// feishuPreset is Feishu (飞书) and Lark: OAuth 2.0 with PKCE, no ID token. Claims are user_info's data
// object with Feishu's own names: open_id (per app), union_id (per developer), user_id (per tenant, needs
// contact:user.employee_id:readonly), tenant_key, name, en_name, avatar_url…, employee_no, and the contact
// fields email, enterprise_email and mobile.
var feishuPreset = Preset{
	Name:         "Feishu / Lark",
	NewConfig:    func() PresetConfig { return &FeishuConfig{} },
	MappingField: "user_id",
	JWTOnly:      true,
	Why:          "Feishu's user_info wraps the user in a {code, msg, data} envelope, which Fuyun's OAuth mode cannot read",
	Icon:         iconFeishu,
	Example: `- id: feishu
  type: feishu
  client_id: cli_a5d611352af9d00b              # App ID (凭证与基础信息)
  client_secret_file: /run/secrets/feishu-app-secret
  # client_secret: …                           # the value itself instead of the file (prefer the file)
  tenant_key: 736588c92lxf175d                 # your company; users of other tenants are refused
  fuyun_mode: jwt                              # Feishu works in JWT mode only
  # host: larksuite                            # Lark instead of Feishu
  # scopes: [contact:user.employee_id:readonly] # the default: user_id, the default mapping field
  # trust_email: false                         # true: map on email or enterprise_email (admin-entered, unverified)
  # trust_mobile: false                        # true: map on mobile (admin-entered, unverified)
  # accounts_url: https://accounts.feishu.cn   # the defaults follow host; tests point them at a stub
  # open_url: https://open.feishu.cn
  # token_url: https://open.feishu.cn/open-apis/authen/v2/oauth/token   # e.g. the v3 endpoint`,
}

var iconFeishu = mustIcon("feishu")

// FeishuConfig is the `feishu` type's configuration.
type FeishuConfig struct {
	// Client is the App ID and App Secret; scopes default to FeishuScopeUserID.
	Client `yaml:",inline"`
	// TenantKey is the company whose users may sign in (user_info's tenant_key); required.
	TenantKey string `yaml:"tenant_key"`
	// Host is feishu (default) or larksuite.
	Host string `yaml:"host"`
	// AccountsURL and OpenURL override the host's accounts and open bases (tests); TokenURL the whole token
	// endpoint (Feishu's v3 endpoint).
	AccountsURL string `yaml:"accounts_url"`
	OpenURL     string `yaml:"open_url"`
	TokenURL    string `yaml:"token_url"`
	// ContactTrust opts in to mapping on email, enterprise_email or mobile.
	ContactTrust `yaml:",inline"`
}

func (c *FeishuConfig) ApplyDefaults() {
	c.Client.defaults([]string{FeishuScopeUserID})
	if c.Host == "" {
		c.Host = "feishu"
	}
}

func (c *FeishuConfig) Validate() []FieldError {
	errs := c.Client.validate(false)
	if c.ClientSecret == "" && c.ClientSecretFile == "" {
		errs = append(errs, FieldError{"client_secret", "required for type feishu: the app's App Secret (or client_secret_file)"})
	}
	switch tk := c.TenantKey; {
	case tk == "":
		errs = append(errs, FieldError{"tenant_key", "required for type feishu: your company's tenant_key, which every signing-in user must have"})
	case strings.TrimSpace(tk) != tk || strings.ContainsAny(tk, " \t\r\n"):
		errs = append(errs, FieldError{"tenant_key", fmt.Sprintf("tenant_key %q must not contain spaces", tk)})
	}
	if _, ok := feishuHosts[c.Host]; !ok {
		errs = append(errs, FieldError{"host", fmt.Sprintf("unknown host %q (want feishu or larksuite)", c.Host)})
	}
	for _, u := range [][2]string{{"accounts_url", c.AccountsURL}, {"open_url", c.OpenURL}, {"token_url", c.TokenURL}} {
		if u[1] == "" {
			continue
		}
		if err := CheckEndpointURL(u[0], u[1], true); err != nil {
			errs = append(errs, FieldError{u[0], err.Error()})
		}
	}
	return errs
}

// GuardMapping refuses a mapping on Feishu's contact fields without the opt-in. Feishu says of them:
// "手机号和邮箱信息为管理员导入的用户联系方式，未经过用户本人实时验证，不建议开发者直接将其作为业务系统的登录凭证"
// (mobile and email are contact details imported by administrators and not verified with the user; do not
// use them as login credentials as they are).
func (c *FeishuConfig) GuardMapping(m MappingView) (errs, warnings []FieldError) {
	return c.ContactTrust.guard(TypeFeishu, m, feishuEmailFields, feishuMobileFields), nil
}

// Build makes the Feishu provider.
func (c *FeishuConfig) Build(common Common, opts Options) (Provider, error) {
	hosts := feishuHosts[c.Host]
	accounts := strings.TrimSuffix(cmp.Or(c.AccountsURL, hosts[0]), "/")
	open := strings.TrimSuffix(cmp.Or(c.OpenURL, hosts[1]), "/")
	return &feishuProvider{
		base: newBase(common, opts),
		conf: &oauth2.Config{ClientID: c.ClientID, RedirectURL: common.RedirectURL, Scopes: c.Scopes,
			Endpoint: oauth2.Endpoint{AuthURL: accounts + feishuAuthorizePath}},
		secret:      c.ClientSecret,
		tokenURL:    cmp.Or(c.TokenURL, open+feishuTokenPath),
		userInfoURL: open + feishuUserInfoPath,
		tenantKey:   c.TenantKey,
		trust:       c.ContactTrust,
	}, nil
}

// feishuProvider signs users in with Feishu's web login: authorize (PKCE S256), the v2 token endpoint
// (JSON, flat answer), then user_info (a {code, msg, data} envelope), pinned to one tenant_key. There is no
// application token: the token endpoint takes the App Secret itself, so nothing is cached between logins.
type feishuProvider struct {
	base
	conf        *oauth2.Config // the authorization URL only: the token call is not RFC 6749's form post
	secret      string
	tokenURL    string
	userInfoURL string
	tenantKey   string
	trust       ContactTrust
}

var _ UserInfoer = (*feishuProvider)(nil)

// AuthCodeURL builds Feishu's authorization URL with state and PKCE S256 (Feishu's default method is plain,
// so the method is always sent). Feishu has no ID token and documents no login_hint: the nonce and hint are
// not sent.
func (p *feishuProvider) AuthCodeURL(_ context.Context, a AuthRequest) (string, error) {
	if err := p.checkAuthRequest(a, false); err != nil {
		return "", err
	}
	return p.conf.AuthCodeURL(a.State, oauth2.S256ChallengeOption(a.CodeVerifier)), nil
}

// Callback redeems the code with the PKCE verifier and reads the user from user_info.
func (p *feishuProvider) Callback(ctx context.Context, c CallbackRequest) (*Identity, error) {
	code, err := AuthorizationResponse(c.Query, "code")
	if err != nil {
		return nil, err
	}
	if c.CodeVerifier == "" {
		return nil, Errorf(CodeTokenFailed, "login state holds no PKCE code verifier")
	}
	tok, err := p.redeem(ctx, code, c.CodeVerifier)
	if err != nil {
		return nil, err
	}
	id, err := p.UserInfo(ctx, tok)
	if err != nil && ErrorCode(err) == CodeInvalidToken {
		err = &Error{Code: CodeUserinfoFailed, Err: fmt.Errorf("user_info refused the token just issued: %w", err), Detail: detailOf(err)}
	}
	return id, err
}

// feishuTokenRequest is the v2 token endpoint's JSON body; the App Secret goes in the body, never also as
// HTTP Basic (20070).
type feishuTokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Code         string `json:"code"`
	RedirectURI  string `json:"redirect_uri"`
	CodeVerifier string `json:"code_verifier"`
}

// redeem trades the code for a user_access_token. A code is single-use: the call is never retried.
func (p *feishuProvider) redeem(ctx context.Context, code, verifier string) (string, error) {
	res, err := callAPI(ctx, p.rt.client, apiCall{Method: http.MethodPost, URL: p.tokenURL, Stage: StageToken,
		Body: feishuTokenRequest{GrantType: "authorization_code", ClientID: p.conf.ClientID, ClientSecret: p.secret,
			Code: code, RedirectURI: p.conf.RedirectURL, CodeVerifier: verifier}})
	if err != nil {
		return "", Errorf(CodeTokenFailed, "token request: %w", err)
	}
	return p.tokenAnswer(res)
}

// tokenAnswer reads the token endpoint's flat answer: success is code 0 on HTTP 200 with an access_token;
// failures are documented on HTTP 400 (500, 503) as {code, error, error_description}, and a non-zero code is
// a failure whatever the status.
func (p *feishuProvider) tokenAnswer(res *apiResult) (string, error) {
	code, _, err := envelope(res.Object, "code", "msg", false)
	if err != nil {
		return "", Errorf(CodeTokenFailed, "token endpoint answered %d: %v", res.Status, err)
	}
	if code != 0 {
		errName, _ := res.Object["error"].(string)
		desc, _ := res.Object["error_description"].(string)
		e := &Error{Code: CodeTokenFailed, Detail: strconv.FormatInt(code, 10),
			Err: fmt.Errorf("token endpoint answered %d with code %d error=%q: %q", res.Status, code, clip(errName, 64), clip(desc, 200))}
		if code == feishuNotInRange {
			e.Code = CodeTenantNotAllowed
			e.Err = fmt.Errorf("not a member of tenant %s for this app: the user is outside the app's availability range (可用范围, Feishu code 20010)", p.tenantKey)
		}
		return "", e
	}
	if res.Status != http.StatusOK {
		return "", Errorf(CodeTokenFailed, "token endpoint answered %d with code 0", res.Status)
	}
	tok, ok := res.Object["access_token"].(string)
	if !ok || tok == "" {
		return "", Errorf(CodeTokenFailed, "token endpoint answered code 0 without an access_token")
	}
	return tok, nil
}

// UserInfo reads who holds a user_access_token (a CRM back end's, for POST /api/v1/token, or one just
// issued) and pins the tenant.
func (p *feishuProvider) UserInfo(ctx context.Context, accessToken string) (*Identity, error) {
	if accessToken == "" {
		return nil, Errorf(CodeInvalidToken, "access token is empty")
	}
	res, err := callAPI(ctx, p.rt.client, apiCall{Method: http.MethodGet, URL: p.userInfoURL, Stage: StageUserinfo,
		Header: http.Header{"Authorization": {"Bearer " + accessToken}}})
	if err != nil {
		return nil, Errorf(CodeUserinfoFailed, "user_info request: %w", err)
	}
	return p.identity(res, accessToken)
}

// identity reads user_info's {code, msg, data} answer (HTTP 200 for its documented errors too) into an
// Identity of the configured tenant.
//
// Subject is union_id: Feishu assigns it, it needs no permission, and it stays the same across the
// developer's apps (for a company's own app, the company's), so re-creating the app keeps it. open_id changes
// with each app; user_id is assigned by the company's administrators, can be edited and is reused on
// re-hire — good for mapping to an agent, not as the identity's key.
func (p *feishuProvider) identity(res *apiResult, accessToken string) (*Identity, error) {
	code, msg, err := envelope(res.Object, "code", "msg", false)
	if err != nil {
		return nil, Errorf(CodeUserinfoFailed, "user_info answered %d: %v", res.Status, err)
	}
	if code != 0 {
		e := &Error{Code: CodeUserinfoFailed, Detail: strconv.FormatInt(code, 10),
			Err: fmt.Errorf("user_info answered %d with code %d: %q", res.Status, code, clip(msg, 200))}
		switch code {
		case feishuBadToken, feishuNoToken, feishuInvalidToken, feishuMalformedToken, feishuExpiredToken:
			e.Code = CodeInvalidToken
		case feishuNoUser, feishuResigned, feishuFrozen, feishuUnregistered:
			e.Code = CodeTenantNotAllowed
			e.Err = fmt.Errorf("the user is not a member of tenant %s: user_info answered code %d %q", p.tenantKey, code, clip(msg, 200))
		}
		return nil, e
	}
	if res.Status != http.StatusOK {
		return nil, Errorf(CodeUserinfoFailed, "user_info answered %d with code 0", res.Status)
	}
	data, ok := res.Object["data"].(map[string]any)
	if !ok {
		return nil, Errorf(CodeUserinfoFailed, "user_info answered code 0 without a data object")
	}
	if tk, _ := data["tenant_key"].(string); tk != p.tenantKey {
		return nil, Errorf(CodeTenantNotAllowed, "the user belongs to tenant %q, not to tenant_key %s", clip(tk, 64), p.tenantKey)
	}
	if _, ok := stringField(data, "user_id"); !ok {
		return nil, Errorf(CodeUserinfoFailed, "user_info has no user_id: grant the app the permission %s (获取用户 user ID) and keep it in scopes", FeishuScopeUserID)
	}
	sub, ok := stringField(data, "union_id")
	if !ok {
		return nil, Errorf(CodeUserinfoFailed, "user_info has no union_id")
	}
	p.trust.mark(data, feishuMobileFields...)
	return &Identity{Provider: p.c.ID, Subject: sub, Claims: data, AccessToken: accessToken}, nil
}

// detailOf is the Detail of a provider error, or "".
func detailOf(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Detail
	}
	return ""
}

// Warm opens a connection to the token and user_info hosts.
func (p *feishuProvider) Warm(ctx context.Context) error {
	return warmOrigins(ctx, p.rt.client, p.tokenURL, p.userInfoURL)
}
