package idpstub

import (
	"cmp"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Feishu is an in-process Feishu (飞书; Lark abroad, on other hosts with the same paths) for tests of a
// Feishu preset: OAuth 2.0 with PKCE, but no ID token. Its two hosts are served under their own path
// prefixes of one loopback server:
//
//	AccountsURL (accounts.feishu.cn) GET  /open-apis/authen/v1/authorize   sign-in page       hit "authorize"
//	OpenURL     (open.feishu.cn)     POST /open-apis/authen/v2/oauth/token code → user token  hit "token"
//	                                 GET  /open-apis/authen/v1/user_info   the user           hit "user_info"
//
// The sign-in page sends the user back with code and state (state only if sent), or error=access_denied
// and state on refusal. The token endpoint takes JSON and answers flat: {code: 0, access_token, …} on
// HTTP 200, {code, error, error_description} on HTTP 400. user_info takes a Bearer token and answers
// {code, msg, data} on HTTP 200, errors included; the gateway's token codes (99991661, 99991677) carry an
// error object.
type Feishu struct {
	*vendor
	// AccountsURL stands for https://accounts.feishu.cn.
	AccountsURL string
	// OpenURL stands for https://open.feishu.cn.
	OpenURL string

	opts   FeishuOptions
	users  map[string]FeishuUser
	codes  *ledger[feishuGrant]
	tokens *ledger[feishuGrant]
}

// FeishuOptions configure a Feishu stub; zero fields take the defaults named.
type FeishuOptions struct {
	ClientID     string // App ID; default "cli_a5d611352af9d00b"
	ClientSecret string // App Secret; default "feishu-secret"
	// RedirectURI is the registered callback, matched exactly but for a ? or # suffix. Default
	// "https://bridge.example.com/callback/feishu".
	RedirectURI string
	// Users are added to the built-in directory (Member, Sparse, OtherCorp, Outsider) or replace users by name.
	Users map[string]FeishuUser
	// Now is the clock for code and token lifetimes; default time.Now.
	Now func() time.Time
}

// Feishu tenants (tenant_key) in the built-in directory.
const (
	FeishuTenant      = "736588c92lxf175d"
	FeishuOtherTenant = "2ed263bf32cf1651"
)

// Feishu permissions a test can withhold with VendorShape.Ungranted: user_info leaves out their fields,
// and a sign-in that asks for one of them fails with 20027.
const (
	FeishuScopeEmail    = "contact:user.email:readonly"       // email
	FeishuScopeUserID   = "contact:user.employee_id:readonly" // user_id
	FeishuScopePhone    = "contact:user.phone:readonly"       // mobile
	FeishuScopeEmployee = "contact:user.employee:readonly"    // enterprise_email, employee_no
)

// FeishuUser is one Feishu account. Every id is a string on the wire, however numeric it looks.
type FeishuUser struct {
	OpenID    string // per app, ou_…
	UnionID   string // per developer, on_…
	UserID    string // per tenant, admin-assigned
	TenantKey string
	Name      string
	EnName    string
	AvatarURL string
	Email     string // admin-entered contact address, unverified
	// EnterpriseEmail is the tenant's Feishu Mail mailbox.
	EnterpriseEmail string
	Mobile          string
	EmployeeNo      string
	// Status is "" for an active user, or "resigned", "frozen" or "unregistered" (user_info errors).
	Status string
	// OutsideRange puts the user outside the app's availability range (可用范围): the token endpoint answers 20010.
	OutsideRange bool
}

var feishuUsers = map[string]FeishuUser{
	Member: {OpenID: "ou_caecc734c2e3328a62489fe0648c4b98779515d3", UnionID: "on_d89jhsdhjsajkda7828enjdj328ydhhw3u43yjhdj",
		UserID: "5d9bd7a1", TenantKey: FeishuTenant, Name: "张三", EnName: "zhangsan",
		AvatarURL: "https://s1-imfile.feishucdn.com/avatar/zhangsan", Email: "zhangsan@example.com",
		EnterpriseEmail: "zhangsan@corp.example.com", Mobile: "+8613000288301", EmployeeNo: "111222333"},
	Sparse: {OpenID: "ou_7d8a6e6df7621556ce0d21922b676706", UnionID: "on_8ed6aa67826108097d9ee143816345f4",
		UserID: "7301234567890123456", TenantKey: FeishuTenant, Name: "李四", EmployeeNo: "000123"},
	OtherCorp: {OpenID: "ou_5ad573a6411d72b8305fda3a9c15c70e", UnionID: "on_94a1ee5551019f18cd73d9f111898cf2",
		UserID: "e5f2a6c8", TenantKey: FeishuOtherTenant, Name: "王五", EnName: "wangwu", Email: "wangwu@example.org",
		Mobile: "+8613900001111"},
	Outsider: {OpenID: "ou_0f9e8d7c6b5a43210f9e8d7c6b5a4321", UnionID: "on_0f9e8d7c6b5a43210f9e8d7c6b5a4321",
		UserID: "c0ffee01", TenantKey: FeishuTenant, Name: "赵六", OutsideRange: true},
}

// feishuGrant is what a code and the token it buys stand for.
type feishuGrant struct {
	user, challenge, redirect, scope string
}

// NewFeishu starts a Feishu stub that is closed when the test ends.
func NewFeishu(t testing.TB, o FeishuOptions) *Feishu {
	t.Helper()
	s := StartFeishu(o)
	t.Cleanup(s.Close)
	return s
}

// StartFeishu starts a Feishu stub on loopback outside a test (`fuyun-bridge dev`); Close stops it. A browser that
// visits its sign-in page without the stub's test header signs in as Member.
func StartFeishu(o FeishuOptions) *Feishu {
	o.ClientID = cmp.Or(o.ClientID, "cli_a5d611352af9d00b")
	o.ClientSecret = cmp.Or(o.ClientSecret, "feishu-secret")
	o.RedirectURI = cmp.Or(o.RedirectURI, "https://bridge.example.com/callback/feishu")
	v := newVendor(o.Now)
	s := &Feishu{vendor: v, AccountsURL: v.url + "/accounts", OpenURL: v.url + "/open", opts: o,
		users: directory(feishuUsers, o.Users), codes: newLedger[feishuGrant](v.now), tokens: newLedger[feishuGrant](v.now)}
	v.route("GET /accounts/open-apis/authen/v1/authorize", "authorize", s.serveAuthorize)
	v.route("POST /open/open-apis/authen/v2/oauth/token", "token", s.serveToken)
	v.route("GET /open/open-apis/authen/v1/user_info", "user_info", s.serveUserInfo)
	return s
}

// withoutSuffix drops the query and fragment, which Feishu ignores when it matches redirect URLs.
func withoutSuffix(u string) string {
	u, _, _ = strings.Cut(u, "#")
	u, _, _ = strings.Cut(u, "?")
	return u
}

func (s *Feishu) serveAuthorize(x exchange) {
	q := x.r.URL.Query()
	// The page's own failures are shown, not redirected; Feishu documents {code: 2000, message:
	// "redirect_uri unmatch"} and 20027 for a scope the app lacks. The HTTP status, and the codes for the
	// other checks, are our choice.
	fail := func(code int, msg string) {
		x.reply(http.StatusBadRequest, map[string]any{"code": code, "message": msg})
	}
	switch {
	case q.Get("client_id") != s.opts.ClientID:
		fail(20048, "The specified app does not exist.")
		return
	case q.Get("response_type") != "code":
		fail(20001, "response_type must be code")
		return
	case withoutSuffix(q.Get("redirect_uri")) != withoutSuffix(s.opts.RedirectURI):
		fail(2000, "redirect_uri unmatch")
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		// Feishu makes PKCE optional with plain the default; the stub insists on S256 because the bridge must send it.
		fail(20001, "code_challenge with code_challenge_method=S256 is required")
		return
	}
	scope := strings.Fields(q.Get("scope"))
	for _, sc := range scope {
		if !s.granted(sc) {
			fail(20027, "the app has not been granted scope "+sc)
			return
		}
	}
	name, refuse := visitor(x.r)
	if _, ok := s.users[name]; !ok {
		fail(20008, "no such user "+name)
		return
	}
	back := url.Values{}
	if q.Has("state") {
		back.Set("state", q.Get("state"))
	}
	if refuse {
		back.Set("error", "access_denied")
	} else {
		back.Set("code", s.codes.issue(feishuGrant{user: name, challenge: q.Get("code_challenge"),
			redirect: q.Get("redirect_uri"), scope: strings.Join(scope, " ")}, codeTTL))
	}
	http.Redirect(x.w, x.r, callback(q.Get("redirect_uri"), back), http.StatusFound)
}

// feishuTokenError is one documented token endpoint failure. Only server_error (20050) has a documented
// error string; the others are our choice among RFC 6749's.
type feishuTokenError struct {
	code        int
	err, reason string
}

var (
	feishuMissing     = feishuTokenError{20001, "invalid_request", "The request is missing a required parameter."}
	feishuBadSecret   = feishuTokenError{20002, "invalid_client", "The client secret is invalid."}
	feishuNoCode      = feishuTokenError{20003, "invalid_grant", "The authorization code is not found. Please note that an authorization code can only be used once."}
	feishuExpired     = feishuTokenError{20004, "invalid_grant", "The authorization code has expired."}
	feishuNotAllowed  = feishuTokenError{20010, "invalid_grant", "The user does not have permission to use this app."}
	feishuGrantType   = feishuTokenError{20036, "unsupported_grant_type", "The specified grant_type is not supported."}
	feishuNoApp       = feishuTokenError{20048, "invalid_client", "The specified app does not exist."}
	feishuPKCE        = feishuTokenError{20049, "invalid_grant", "PKCE code challenge failed."}
	feishuMalformed   = feishuTokenError{20063, "invalid_request", "The request is malformed. Please check your request."}
	feishuUsed        = feishuTokenError{20065, "invalid_grant", "The authorization code has been used. Please note that an authorization code can only be used once."}
	feishuTwoAuths    = feishuTokenError{20070, "invalid_request", "Multiple authentication methods were provided. Please only use one to proceed."}
	feishuRedirectDif = feishuTokenError{20071, "invalid_grant", "The provided redirect URI does not match the one used during authorization."}
)

// feishuTokenRequest is the documented JSON body of the token endpoint.
type feishuTokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Code         string `json:"code"`
	RedirectURI  string `json:"redirect_uri"`
	CodeVerifier string `json:"code_verifier"`
}

func (s *Feishu) serveToken(x exchange) {
	g, fail := s.redeem(x.r)
	if fail != nil {
		x.reply(http.StatusBadRequest, map[string]any{"code": fail.code, "error": fail.err, "error_description": fail.reason})
		return
	}
	body := map[string]any{"code": 0, "access_token": "eyJ" + s.tokens.issue(g, tokenTTL),
		"expires_in": int64(tokenTTL.Seconds()), "token_type": "Bearer", "scope": g.scope}
	if slices.Contains(strings.Fields(g.scope), "offline_access") {
		// Refreshing is documented but not modelled: the refresh token is not redeemable here.
		body["refresh_token"], body["refresh_token_expires_in"] = "eyJ"+random(), 604800
	}
	x.reply(http.StatusOK, body)
}

// redeem runs the token endpoint's documented checks and spends the code.
func (s *Feishu) redeem(r *http.Request) (feishuGrant, *feishuTokenError) {
	var req feishuTokenRequest
	if !decodeJSON(r, &req) {
		return feishuGrant{}, &feishuMalformed
	}
	_, _, basic := r.BasicAuth()
	switch {
	case basic && req.ClientSecret != "":
		return feishuGrant{}, &feishuTwoAuths
	case req.GrantType == "" || req.ClientID == "" || req.ClientSecret == "" || req.Code == "":
		return feishuGrant{}, &feishuMissing
	case req.GrantType != "authorization_code": // refresh_token is documented but not modelled
		return feishuGrant{}, &feishuGrantType
	case req.ClientID != s.opts.ClientID:
		return feishuGrant{}, &feishuNoApp
	case req.ClientSecret != s.opts.ClientSecret:
		return feishuGrant{}, &feishuBadSecret
	}
	g, st := s.codes.redeem(req.Code)
	switch {
	case st == unknown:
		return g, &feishuNoCode
	case st == used:
		return g, &feishuUsed
	case st == expired:
		return g, &feishuExpired
	case req.RedirectURI != "" && req.RedirectURI != g.redirect:
		return g, &feishuRedirectDif
	case oauth2.S256ChallengeFromVerifier(req.CodeVerifier) != g.challenge:
		// A missing verifier also lands here: Feishu requires it under PKCE but names no code for its absence.
		return g, &feishuPKCE
	case s.users[g.user].OutsideRange:
		return g, &feishuNotAllowed
	}
	return g, nil
}

// user_info failures: the 2000x codes are documented on HTTP 200; the gateway's token codes carry no
// documented HTTP status, and 400 is our choice.
func (s *Feishu) serveUserInfo(x exchange) {
	fail := func(status, code int, msg string) {
		body := map[string]any{"code": code, "msg": msg}
		if status != http.StatusOK {
			body["error"] = map[string]any{"log_id": strings.ToUpper(hexID(34))}
		}
		x.reply(status, body)
	}
	tok, ok := strings.CutPrefix(x.r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		fail(http.StatusBadRequest, 99991661, "Missing access token for authorization. Please make a request with token attached.")
		return
	}
	g, st := present(s.vendor, s.tokens, strings.TrimPrefix(tok, "eyJ"))
	switch {
	case st == expired:
		fail(http.StatusBadRequest, 99991677, "Authentication token expired.")
		return
	case st != valid || !strings.HasPrefix(tok, "eyJ"):
		fail(http.StatusOK, 20005, "The user access token passed is invalid. Please check the value")
		return
	}
	u := s.users[g.user]
	switch u.Status {
	case "resigned":
		fail(http.StatusOK, 20021, "User resigned")
		return
	case "frozen":
		fail(http.StatusOK, 20022, "User frozen")
		return
	case "unregistered":
		fail(http.StatusOK, 20023, "User not registered")
		return
	}
	data := map[string]any{"name": u.Name, "en_name": u.EnName, "avatar_url": u.AvatarURL,
		"avatar_thumb": thumb(u.AvatarURL, "thumb"), "avatar_middle": thumb(u.AvatarURL, "middle"),
		"avatar_big": thumb(u.AvatarURL, "big"), "open_id": u.OpenID, "union_id": u.UnionID, "tenant_key": u.TenantKey}
	for scope, fields := range map[string]map[string]any{
		FeishuScopeEmail:    {"email": u.Email},
		FeishuScopeUserID:   {"user_id": u.UserID},
		FeishuScopePhone:    {"mobile": u.Mobile},
		FeishuScopeEmployee: {"enterprise_email": u.EnterpriseEmail, "employee_no": u.EmployeeNo},
	} {
		if s.granted(scope) {
			maps.Copy(data, fields)
		}
	}
	x.reply(http.StatusOK, map[string]any{"code": 0, "msg": "success", "data": omitEmpty(data)})
}

// thumb is an avatar's sized variant, empty when there is no avatar.
func thumb(avatar, size string) string {
	if avatar == "" {
		return ""
	}
	return avatar + "_" + size
}
