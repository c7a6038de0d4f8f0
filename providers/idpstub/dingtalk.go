package idpstub

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// DingTalk is an in-process DingTalk (钉钉) for tests of a DingTalk preset. Its login is OAuth 2.0-like but
// not OpenID Connect: no ID token, camelCase JSON bodies, a custom token header, and three hosts, each
// served under its own path prefix of one loopback server:
//
//	LoginURL (login.dingtalk.com) GET  /oauth2/auth                     sign-in page         hit "authorize"
//	APIURL   (api.dingtalk.com)   POST /v1.0/oauth2/userAccessToken     code → user token    hit "userAccessToken"
//	                              POST /v1.0/oauth2/accessToken         app (corp) token     hit "accessToken"
//	                              GET  /v1.0/contact/users/{unionId|me} the user's profile   hit "contactUser"
//	OAPIURL  (oapi.dingtalk.com)  GET  /gettoken                        legacy corp token    hit "gettoken"
//	                              POST /topapi/user/getbyunionid        unionid → userid     hit "getbyunionid"
//	                              POST /topapi/v2/user/get              employee details     hit "userGet"
//
// The sign-in page sends the user back with authCode and code (the same value) and state, or with error
// and state on refusal. api.dingtalk.com fails with HTTP 4xx and {code, message, requestid}, code a
// string; oapi.dingtalk.com fails with HTTP 200 and {errcode, errmsg}, and topapi wraps token errors in
// errcode 88 with a string sub_code (40014 invalid, 42001 expired).
type DingTalk struct {
	*vendor
	// LoginURL stands for https://login.dingtalk.com.
	LoginURL string
	// APIURL stands for https://api.dingtalk.com.
	APIURL string
	// OAPIURL stands for https://oapi.dingtalk.com.
	OAPIURL string

	opts       DingTalkOptions
	users      map[string]DingTalkUser
	codes      *ledger[dingGrant]
	userTokens *ledger[dingGrant]
	corpTokens *ledger[struct{}]
}

// DingTalkOptions configure a DingTalk stub; zero fields take the defaults named.
type DingTalkOptions struct {
	ClientID     string // AppKey, now called Client ID; default "dingclient123"
	ClientSecret string // default "dingtalk-secret"
	// CorpID is the organisation that owns the internal app; default DingTalkCorp.
	CorpID string
	// RedirectURI is the registered callback; DingTalk matches only its domain. Default
	// "https://bridge.example.com/callback/dingtalk".
	RedirectURI string
	// Users are added to the built-in directory (Member, Sparse, OtherCorp, Outsider) or replace users by name.
	Users map[string]DingTalkUser
	// Now is the clock for code and token lifetimes; default time.Now.
	Now func() time.Time
}

// DingTalk organisations (corpId) in the built-in directory.
const (
	DingTalkCorp      = "ding5e2f8c9d0a1b3c4d"
	DingTalkOtherCorp = "ding0f9e8d7c6b5a4321"
)

// DingTalk permissions a test can withhold with VendorShape.Ungranted.
const (
	DingTalkPermContactRead    = "Contact.User.Read"   // users/me answers 403 without it
	DingTalkPermContactMobile  = "Contact.User.mobile" // mobile and stateCode in users/me
	DingTalkPermEmployeeMobile = "企业员工手机号信息"           // mobile in topapi/v2/user/get
	DingTalkPermPersonalInfo   = "邮箱等个人信息"             // email, work_place, remark, extension in topapi/v2/user/get
)

// DingTalkUser is one DingTalk account. Every id is a string on the wire, however numeric it looks.
type DingTalkUser struct {
	UnionID string // stable for one developer account
	OpenID  string
	UserID  string // the id within CorpID; empty for a user of no organisation
	CorpID  string // the organisation the user signs in under; empty for none
	Nick    string // users/me nick
	Name    string // topapi name
	Avatar  string
	Mobile  string
	// StateCode is the mobile's country code ("86").
	StateCode string
	Email     string // personal email, unverified
	OrgEmail  string // company mailbox
	Title     string
	JobNumber string
	WorkPlace string
	DeptIDs   []int64
	Admin     bool
}

var dingTalkUsers = map[string]DingTalkUser{
	Member: {UnionID: "z21HjQliSzpw0YWCiiSr1jgiEiE", OpenID: "Ww8DiPiSf1jvO1xJiEiE", UserID: "zhangsan", CorpID: DingTalkCorp,
		Nick: "zhangsan", Name: "张三", Avatar: "https://static-legacy.dingtalk.com/media/zhangsan.jpg", Mobile: "15012349144",
		StateCode: "86", Email: "zhangsan@example.com", OrgEmail: "zhangsan@corp.example.com", Title: "坐席",
		JobNumber: "A1001", WorkPlace: "杭州", DeptIDs: []int64{1, 577823097}, Admin: false},
	Sparse: {UnionID: "9007199254740993123", OpenID: "9007199254740993456", UserID: "012345678901234567890",
		CorpID: DingTalkCorp, Nick: "lisi", Name: "李四", DeptIDs: []int64{1}},
	OtherCorp: {UnionID: "PqWn0cnkxiPzRKpGiSiiiEiE", OpenID: "Qv3LsiPiSf2jvO1xJiEiE", UserID: "wangwu", CorpID: DingTalkOtherCorp,
		Nick: "wangwu", Name: "王五", Mobile: "13900001111", StateCode: "86", Email: "wangwu@example.org", DeptIDs: []int64{1}},
	Outsider: {UnionID: "hXjQ0cnkxiPzRKpGxiEiE", OpenID: "Lk9QsiPiSf2jvO1xJiEiE", Nick: "zhaoliu",
		Mobile: "13700002222", StateCode: "86"},
}

// dingGrant is what a code and the user token it buys stand for.
type dingGrant struct {
	user       string
	corpScoped bool // scope held corpid, so the token response names the chosen organisation
}

// NewDingTalk starts a DingTalk stub that is closed when the test ends.
func NewDingTalk(t testing.TB, o DingTalkOptions) *DingTalk {
	t.Helper()
	s := StartDingTalk(o)
	t.Cleanup(s.Close)
	return s
}

// StartDingTalk starts a DingTalk stub on loopback outside a test (`fuyun-bridge dev`); Close stops it. A browser that
// visits its sign-in page without the stub's test header signs in as Member.
func StartDingTalk(o DingTalkOptions) *DingTalk {
	o.ClientID = cmp.Or(o.ClientID, "dingclient123")
	o.ClientSecret = cmp.Or(o.ClientSecret, "dingtalk-secret")
	o.CorpID = cmp.Or(o.CorpID, DingTalkCorp)
	o.RedirectURI = cmp.Or(o.RedirectURI, "https://bridge.example.com/callback/dingtalk")
	v := newVendor(o.Now)
	s := &DingTalk{vendor: v, LoginURL: v.url + "/login", APIURL: v.url + "/api", OAPIURL: v.url + "/oapi",
		opts: o, users: directory(dingTalkUsers, o.Users),
		codes: newLedger[dingGrant](v.now), userTokens: newLedger[dingGrant](v.now), corpTokens: newLedger[struct{}](v.now)}
	v.route("GET /login/oauth2/auth", "authorize", s.serveAuthorize)
	v.route("POST /api/v1.0/oauth2/userAccessToken", "userAccessToken", s.serveUserAccessToken)
	v.route("POST /api/v1.0/oauth2/accessToken", "accessToken", s.serveAccessToken)
	v.route("GET /api/v1.0/contact/users/{unionId}", "contactUser", s.serveContactUser)
	v.route("GET /oapi/gettoken", "gettoken", s.serveGettoken)
	v.route("POST /oapi/topapi/user/getbyunionid", "getbyunionid", s.serveGetByUnionID)
	v.route("POST /oapi/topapi/v2/user/get", "userGet", s.serveUserGet)
	return s
}

func (s *DingTalk) serveAuthorize(x exchange) {
	q := x.r.URL.Query()
	if why := s.badAuthorize(q); why != "" {
		signInRefused(x.w, why)
		return
	}
	name, refuse := visitor(x.r)
	u, ok := s.users[name]
	if !ok {
		signInRefused(x.w, "no such user "+name)
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	corpScoped := slices.Contains(scopes, "corpid")
	// The corpId parameter names the one organisation the user may pick; how DingTalk shows a user outside
	// it is not documented, so the page refuses without redirecting.
	if pin := q.Get("corpId"); corpScoped && pin != "" && u.CorpID != pin {
		signInRefused(x.w, "the user is not in organisation "+pin)
		return
	}
	back := url.Values{}
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	if refuse {
		// DingTalk documents ?error=…&state=… on refusal but not the error value: access_denied is our choice.
		back.Set("error", "access_denied")
	} else {
		// Internal apps are documented to refuse other organisations, but not how; the stub lets them
		// through so that a relying party's own corpId and 60121 checks can be tested.
		code := s.codes.issue(dingGrant{user: name, corpScoped: corpScoped}, codeTTL)
		back.Set("authCode", code)
		back.Set("code", code)
	}
	http.Redirect(x.w, x.r, callback(q.Get("redirect_uri"), back), http.StatusFound)
}

// badAuthorize checks the documented parameters of the sign-in page.
func (s *DingTalk) badAuthorize(q url.Values) string {
	redirect, err := url.Parse(q.Get("redirect_uri"))
	registered, _ := url.Parse(s.opts.RedirectURI)
	switch {
	case q.Get("client_id") != s.opts.ClientID:
		return "unknown client_id"
	case q.Get("response_type") != "code":
		return "response_type must be code"
	case err != nil || redirect.Host != registered.Host:
		return "redirect_uri is not on the registered domain"
	case q.Get("prompt") != "consent":
		return "prompt must be consent"
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 || scopes[0] != "openid" {
		return "scope must be openid or openid corpid"
	}
	for _, sc := range scopes[1:] {
		// Personal scopes such as Contact.User.mobile may follow openid.
		if sc != "corpid" && !strings.HasPrefix(sc, "Contact.") {
			return "unsupported scope " + sc
		}
	}
	return ""
}

// apiError answers in the api.dingtalk.com gateway's error envelope.
func apiError(x exchange, status int, code, message string) {
	x.reply(status, map[string]any{"code": code, "message": message, "requestid": strings.ToUpper(uuid.NewString())})
}

// The documented message of invalidClientIdOrSecret, and our choice of code for a body that is not JSON
// (DingTalk's own code for it is not documented; its message is).
const (
	dingBadClient = "无效的clientId或者clientSecret"
	dingBadParam  = "invalidParameter"
)

// appRequest decodes the JSON body of an api.dingtalk.com call the app authenticates with its key and
// secret (read by creds after decoding); when it is false it has answered.
func (s *DingTalk) appRequest(x exchange, dst any, creds func() (id, secret string)) bool {
	if !decodeJSON(x.r, dst) {
		apiError(x, http.StatusBadRequest, dingBadParam, "body is mandatory for this action")
		return false
	}
	if id, secret := creds(); id != s.opts.ClientID || secret != s.opts.ClientSecret {
		apiError(x, http.StatusBadRequest, "invalidClientIdOrSecret", dingBadClient)
		return false
	}
	return true
}

func (s *DingTalk) serveUserAccessToken(x exchange) {
	var req struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		Code         string `json:"code"`
		RefreshToken string `json:"refreshToken"`
		GrantType    string `json:"grantType"`
	}
	if !s.appRequest(x, &req, func() (string, string) { return req.ClientID, req.ClientSecret }) {
		return
	}
	if req.GrantType != "authorization_code" { // refresh_token is documented but not modelled
		apiError(x, http.StatusBadRequest, dingBadParam, "grantType must be authorization_code")
		return
	}
	// The code for an unknown, used or expired authCode is not documented; invalidCode from the global
	// table is the plausible one. Single use and the 5-minute life are also our choice.
	g, st := s.codes.redeem(req.Code)
	if st != valid {
		apiError(x, http.StatusBadRequest, "invalidCode", "无效的授权码")
		return
	}
	body := map[string]any{"accessToken": s.userTokens.issue(g, tokenTTL), "refreshToken": random(),
		"expireIn": int64(tokenTTL.Seconds())}
	if corp := s.users[g.user].CorpID; g.corpScoped && corp != "" {
		body["corpId"] = corp
	}
	x.reply(http.StatusOK, body)
}

func (s *DingTalk) serveAccessToken(x exchange) {
	var req struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}
	if !s.appRequest(x, &req, func() (string, string) { return req.AppKey, req.AppSecret }) {
		return
	}
	tok, left := s.corpTokens.current(struct{}{}, tokenTTL)
	x.reply(http.StatusOK, map[string]any{"accessToken": tok, "expireIn": int64(left.Seconds())})
}

func (s *DingTalk) serveGettoken(x exchange) {
	q := x.r.URL.Query()
	switch {
	case q.Get("appkey") == "" || q.Get("appsecret") == "":
		x.reply(http.StatusOK, map[string]any{"errcode": 40035, "errmsg": "缺少参数 corpid or appkey"})
		return
	case q.Get("appkey") != s.opts.ClientID || q.Get("appsecret") != s.opts.ClientSecret:
		x.reply(http.StatusOK, map[string]any{"errcode": 40096, "errmsg": "不合法的appKey或appSecret"})
		return
	}
	tok, left := s.corpTokens.current(struct{}{}, tokenTTL)
	x.reply(http.StatusOK, map[string]any{"errcode": 0, "access_token": tok, "errmsg": "ok", "expires_in": int64(left.Seconds())})
}

func (s *DingTalk) serveContactUser(x exchange) {
	tok := x.r.Header.Get("x-acs-dingtalk-access-token")
	if tok == "" { // also what a Bearer header or an access_token query parameter gets
		apiError(x, http.StatusBadRequest, "AuthenticationFailed.MissingParameter", "缺少参数：x-acs-dingtalk-access-token")
		return
	}
	g, st := present(s.vendor, s.userTokens, tok)
	if _, corp := s.corpTokens.lookup(tok); st != valid && corp == valid {
		apiError(x, http.StatusForbidden, "Forbidden.AccessDenied.AccessTokenPermissionDenied", "没有调用该接口的权限")
		return
	}
	if st != valid {
		apiError(x, http.StatusBadRequest, "InvalidAuthentication", "不合法的access_token")
		return
	}
	if !s.granted(DingTalkPermContactRead) {
		apiError(x, http.StatusForbidden, "Forbidden.AccessDenied.AccessTokenPermissionDenied", "没有调用该接口的权限")
		return
	}
	u, ok := s.users[g.user]
	if id := x.r.PathValue("unionId"); id != "me" {
		u, ok = findUser(s.users, func(u DingTalkUser) bool { return u.UnionID == id })
	}
	if !ok {
		apiError(x, http.StatusNotFound, "invalidParameter.user.notFound", "找不到该用户")
		return
	}
	body := map[string]any{"nick": u.Nick, "avatarUrl": u.Avatar, "openId": u.OpenID, "unionId": u.UnionID, "email": u.Email}
	if s.granted(DingTalkPermContactMobile) {
		body["mobile"], body["stateCode"] = u.Mobile, u.StateCode
	}
	x.reply(http.StatusOK, omitEmpty(body))
}

// topapi reads a topapi call: the corp token from the query and the parameters from a JSON or form body
// (DingTalk documents form fields; JSON is reported to work). It has answered when ok is false.
func (s *DingTalk) topapi(x exchange) (params url.Values, ok bool) {
	sub, msg := "", ""
	switch tok := x.r.URL.Query().Get("access_token"); {
	case tok == "":
		// A blank token is seen answering sub_code 40000; its sub_msg is not documented.
		sub, msg = "40000", "缺少参数access_token"
	default:
		switch _, st := present(s.vendor, s.corpTokens, tok); st {
		case valid:
		case expired:
			// Seen wrapped for 40014 only; the 42001 wrapping is our reading of the same pattern.
			sub, msg = "42001", "access_token超时"
		default:
			sub, msg = "40014", "不合法的access_token"
		}
	}
	if sub != "" {
		x.reply(http.StatusOK, map[string]any{"errcode": 88, "sub_code": sub, "sub_msg": msg,
			"errmsg": fmt.Sprintf("ding talk error[subcode=%s,submsg=%s]", sub, msg), "request_id": hexID(13)})
		return nil, false
	}
	var body map[string]any
	if decodeJSON(x.r, &body) {
		params = url.Values{}
		for k, v := range body {
			params.Set(k, fmt.Sprint(v))
		}
		return params, true
	}
	_ = x.r.ParseForm()
	return x.r.PostForm, true
}

// topapiReply answers in the oapi envelope: errcode 0 with a result, or errcode and errmsg on HTTP 200.
func topapiReply(x exchange, errcode int, errmsg string, result map[string]any) {
	body := map[string]any{"errcode": errcode, "errmsg": errmsg, "request_id": hexID(13)}
	if result != nil {
		body["result"] = result
	}
	x.reply(http.StatusOK, body)
}

// employee finds the member of the app's organisation that a topapi call names by param; when there is
// none it has answered 400002 (no param) or notFound.
func (s *DingTalk) employee(x exchange, param string, id func(DingTalkUser) string, notFound int, msg string) (DingTalkUser, bool) {
	p, ok := s.topapi(x)
	if !ok {
		return DingTalkUser{}, false
	}
	want := p.Get(param)
	if want == "" {
		topapiReply(x, 400002, "无效的参数", nil)
		return DingTalkUser{}, false
	}
	u, ok := findUser(s.users, func(u DingTalkUser) bool { return id(u) == want && u.CorpID == s.opts.CorpID })
	if !ok {
		topapiReply(x, notFound, msg, nil)
	}
	return u, ok
}

func (s *DingTalk) serveGetByUnionID(x exchange) {
	u, ok := s.employee(x, "unionid", func(u DingTalkUser) string { return u.UnionID }, 60121, "找不到该用户")
	if ok {
		topapiReply(x, 0, "ok", map[string]any{"contact_type": 0, "userid": u.UserID})
	}
}

func (s *DingTalk) serveUserGet(x exchange) {
	u, ok := s.employee(x, "userid", func(u DingTalkUser) string { return u.UserID }, 33012, "无效的userId")
	if !ok {
		return
	}
	r := map[string]any{
		"userid": u.UserID, "unionid": u.UnionID, "name": u.Name, "avatar": u.Avatar, "state_code": u.StateCode,
		"title": u.Title, "job_number": u.JobNumber, "org_email": u.OrgEmail, "dept_id_list": nonNil(u.DeptIDs),
		"active": true, "admin": u.Admin, "boss": false, "senior": false, "real_authed": true, "hide_mobile": false,
		"exclusive_account": false,
	}
	if s.granted(DingTalkPermEmployeeMobile) {
		r["mobile"] = u.Mobile
	}
	if s.granted(DingTalkPermPersonalInfo) {
		r["email"], r["work_place"] = u.Email, u.WorkPlace
	}
	topapiReply(x, 0, "ok", omitEmpty(r))
}
