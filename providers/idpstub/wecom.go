package idpstub

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// WeCom is an in-process WeCom (企业微信) for tests of a WeCom preset with a self-built app. Nothing here
// is OAuth's token endpoint: the app fetches a corp token with its secret and spends the user's code with
// it. Three hosts are served under their own path prefixes of one loopback server:
//
//	LoginURL (login.work.weixin.qq.com) GET  /wwlogin/sso/login        browser sign-in       hit "login"
//	OAuthURL (open.weixin.qq.com)       GET  /connect/oauth2/authorize in-client OAuth       hit "authorize"
//	APIURL   (qyapi.weixin.qq.com)      GET  /cgi-bin/gettoken         corp token            hit "gettoken"
//	                                    GET  /cgi-bin/auth/getuserinfo code → userid         hit "getuserinfo"
//	                                    POST /cgi-bin/auth/getuserdetail user_ticket → fields hit "getuserdetail"
//	                                    GET  /cgi-bin/user/get         member profile        hit "userGet"
//
// Both sign-in pages send the user back with code and state (state= even when empty); the browser one
// also adds appid. Every API answers HTTP 200 with {errcode, errmsg}, errcode 0 on success. Only an
// in-client sign-in with scope snsapi_privateinfo and the agentid yields a user_ticket for getuserdetail.
type WeCom struct {
	*vendor
	// LoginURL stands for https://login.work.weixin.qq.com.
	LoginURL string
	// OAuthURL stands for https://open.weixin.qq.com.
	OAuthURL string
	// APIURL stands for https://qyapi.weixin.qq.com.
	APIURL string

	opts       WeComOptions
	users      map[string]WeComUser
	codes      *ledger[weComGrant]
	tickets    *ledger[string]
	corpTokens *ledger[struct{}]
}

// WeComOptions configure a WeCom stub; zero fields take the defaults named.
type WeComOptions struct {
	CorpID     string // the company; default WeComCorp
	AgentID    string // the self-built app; default "1000002"
	CorpSecret string // the app's secret; default "wecom-secret"
	// TrustedHost is the app's trusted callback domain, host[:port] matched exactly against the
	// redirect_uri a code was issued for; default "bridge.example.com".
	TrustedHost string
	// Users are added to the built-in directory (Member, Sparse, OtherCorp, Outsider) or replace users by name.
	Users map[string]WeComUser
	// Now is the clock for code, ticket and token lifetimes; default time.Now.
	Now func() time.Time
}

// WeCom companies (CorpID) in the built-in directory.
const (
	WeComCorp      = "ww1a2b3c4d5e6f7a8b"
	WeComOtherCorp = "wwf0e1d2c3b4a59687"
)

// WeCom sensitive fields an admin may leave unselected (VendorShape.Ungranted): getuserdetail then
// answers gender "0", a default avatar, and none of the others.
const (
	WeComFieldGender  = "gender"
	WeComFieldAvatar  = "avatar"
	WeComFieldQRCode  = "qr_code"
	WeComFieldMobile  = "mobile"
	WeComFieldEmail   = "email"
	WeComFieldBizMail = "biz_mail"
	WeComFieldAddress = "address"
)

// WeComUser is one WeCom account. Every id is a string on the wire, however numeric it looks.
type WeComUser struct {
	UserID string // within CorpID, case-insensitive; empty for a non-member
	CorpID string // a linked company (互联企业) other than the app's makes getuserinfo answer CorpID/UserID
	// OpenID and ExternalUserID identify a non-member (ExternalUserID only if they are the company's customer).
	OpenID, ExternalUserID string
	Name                   string
	Position               string
	Departments            []int
	Gender                 string // "0" undefined, "1" male, "2" female
	Avatar, QRCode         string
	Mobile                 string
	Email                  string // contact email, unverified
	BizMail                string // the company mailbox
	Address                string
}

var weComUsers = map[string]WeComUser{
	Member: {UserID: "zhangsan", CorpID: WeComCorp, Name: "张三", Position: "坐席", Departments: []int{1, 2}, Gender: "1",
		Avatar: "http://wx.qlogo.cn/mmopen/zhangsan/0", QRCode: "https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=vcfc13b01dfs78e981c",
		Mobile: "13800000000", Email: "zhangsan@example.com", BizMail: "zhangsan@corp.example.com", Address: "广州市海珠区新港中路"},
	Sparse: {UserID: "18612345678901234567", CorpID: WeComCorp, Name: "李四", Departments: []int{1}, Gender: "2"},
	OtherCorp: {UserID: "lisi", CorpID: WeComOtherCorp, Name: "王五", Departments: []int{1}, Gender: "1",
		Mobile: "13900001111", Email: "lisi@example.org"},
	Outsider: {OpenID: "oAAAAAAAzGQ2Kl3aGuyRa7U7n9dw", ExternalUserID: "wmAAAAAAAA9oD5Ri_P2eGmcrVUBMKzpQ"},
}

// weComGrant is what a code stands for.
type weComGrant struct {
	user, redirect string
	ticket         bool // snsapi_privateinfo with the agentid: getuserinfo hands out a user_ticket
}

// NewWeCom starts a WeCom stub that is closed when the test ends.
func NewWeCom(t testing.TB, o WeComOptions) *WeCom {
	t.Helper()
	s := StartWeCom(o)
	t.Cleanup(s.Close)
	return s
}

// StartWeCom starts a WeCom stub on loopback outside a test (`fuyun-bridge dev`); Close stops it. A browser that
// visits its sign-in page without the stub's test header signs in as Member.
func StartWeCom(o WeComOptions) *WeCom {
	o.CorpID = cmp.Or(o.CorpID, WeComCorp)
	o.AgentID = cmp.Or(o.AgentID, "1000002")
	o.CorpSecret = cmp.Or(o.CorpSecret, "wecom-secret")
	o.TrustedHost = cmp.Or(o.TrustedHost, "bridge.example.com")
	v := newVendor(o.Now)
	s := &WeCom{vendor: v, LoginURL: v.url + "/login", OAuthURL: v.url + "/open", APIURL: v.url + "/qyapi", opts: o,
		users: directory(weComUsers, o.Users), codes: newLedger[weComGrant](v.now), tickets: newLedger[string](v.now),
		corpTokens: newLedger[struct{}](v.now)}
	v.route("GET /login/wwlogin/sso/login", "login", s.serveLogin)
	v.route("GET /open/connect/oauth2/authorize", "authorize", s.serveAuthorize)
	v.route("GET /qyapi/cgi-bin/gettoken", "gettoken", s.serveGettoken)
	v.route("GET /qyapi/cgi-bin/auth/getuserinfo", "getuserinfo", s.serveGetUserInfo)
	v.route("POST /qyapi/cgi-bin/auth/getuserdetail", "getuserdetail", s.serveGetUserDetail)
	v.route("GET /qyapi/cgi-bin/user/get", "userGet", s.serveUserGet)
	return s
}

func (s *WeCom) serveLogin(x exchange) {
	q := x.r.URL.Query()
	switch {
	case q.Get("login_type") != "CorpApp":
		signInRefused(x.w, "login_type must be CorpApp")
	case q.Get("appid") != s.opts.CorpID || q.Get("agentid") != s.opts.AgentID:
		signInRefused(x.w, "appid must be the CorpID and agentid the app's AgentID")
	default:
		// appid on the way back is seen only on the legacy qrConnect page; sending it here makes sure a
		// relying party tolerates it.
		s.signIn(x, q, false, url.Values{"appid": {s.opts.CorpID}})
	}
}

// weComState is the documented limit on state for in-client OAuth.
var weComState = regexp.MustCompile(`^[a-zA-Z0-9]{0,128}$`)

func (s *WeCom) serveAuthorize(x exchange) {
	q := x.r.URL.Query()
	scope := q.Get("scope")
	switch {
	case q.Get("appid") != s.opts.CorpID:
		signInRefused(x.w, "appid must be the CorpID")
	case q.Get("response_type") != "code":
		signInRefused(x.w, "response_type must be code")
	case scope != "snsapi_base" && scope != "snsapi_privateinfo":
		signInRefused(x.w, "scope must be snsapi_base or snsapi_privateinfo")
	case q.Has("agentid") && q.Get("agentid") != s.opts.AgentID:
		signInRefused(x.w, "agentid is not the app's")
	case !weComState.MatchString(q.Get("state")):
		signInRefused(x.w, "state must be at most 128 of a-zA-Z0-9")
	default:
		// Without agentid, snsapi_privateinfo is documented to fall back to snsapi_base.
		s.signIn(x, q, scope == "snsapi_privateinfo" && q.Has("agentid"), nil)
	}
}

// signIn finishes either sign-in page: code and state back to redirect_uri, or state alone on refusal
// (documented for the legacy scan login only; our choice for the two pages served).
func (s *WeCom) signIn(x exchange, q url.Values, ticket bool, extra url.Values) {
	redirect := q.Get("redirect_uri")
	if u, err := url.Parse(redirect); err != nil || u.Host == "" {
		signInRefused(x.w, "redirect_uri must be an absolute URL")
		return
	}
	name, refuse := visitor(x.r)
	if _, ok := s.users[name]; !ok {
		signInRefused(x.w, "no such user "+name)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	if !refuse {
		back.Set("code", s.codes.issue(weComGrant{user: name, redirect: redirect, ticket: ticket}, codeTTL))
		maps.Copy(back, extra)
	}
	http.Redirect(x.w, x.r, callback(redirect, back), http.StatusFound)
}

// weComReply answers in WeCom's envelope, always on HTTP 200.
func weComReply(x exchange, errcode int, errmsg string, fields map[string]any) {
	body := map[string]any{"errcode": errcode, "errmsg": errmsg}
	maps.Copy(body, fields)
	x.reply(http.StatusOK, body)
}

func (s *WeCom) serveGettoken(x exchange) {
	q := x.r.URL.Query()
	switch {
	case q.Get("corpid") == "":
		weComReply(x, 41002, "corpid missing", nil)
	case q.Get("corpsecret") == "":
		weComReply(x, 41004, "corpsecret missing", nil)
	case q.Get("corpid") != s.opts.CorpID:
		weComReply(x, 40013, "invalid corpid", nil)
	case q.Get("corpsecret") != s.opts.CorpSecret:
		weComReply(x, 40001, "invalid credential", nil)
	default:
		tok, left := s.corpTokens.current(struct{}{}, tokenTTL)
		weComReply(x, 0, "ok", map[string]any{"access_token": tok, "expires_in": int64(left.Seconds())})
	}
}

// corpToken checks the access_token query parameter; when it is false it has answered.
func (s *WeCom) corpToken(x exchange) bool {
	tok := x.r.URL.Query().Get("access_token")
	if tok == "" {
		weComReply(x, 41001, "access_token missing", nil)
		return false
	}
	switch _, st := present(s.vendor, s.corpTokens, tok); st {
	case valid:
		return true
	case expired:
		weComReply(x, 42001, "access_token expired, more info at https://open.work.weixin.qq.com/devtool/query?e=42001", nil)
	default:
		weComReply(x, 40014, "invalid access_token", nil)
	}
	return false
}

func (s *WeCom) serveGetUserInfo(x exchange) {
	if !s.corpToken(x) {
		return
	}
	code := x.r.URL.Query().Get("code")
	if code == "" {
		weComReply(x, 41008, "missing code", nil)
		return
	}
	// Unknown, used and expired codes are documented to share one errcode.
	g, st := s.codes.redeem(code)
	if st != valid {
		weComReply(x, 40029, "invalid code", nil)
		return
	}
	if u, _ := url.Parse(g.redirect); u.Host != s.opts.TrustedHost {
		weComReply(x, 50001, "redirect_uri unauthorized", nil)
		return
	}
	u := s.users[g.user]
	switch {
	case u.UserID == "":
		weComReply(x, 0, "ok", omitEmpty(map[string]any{"openid": u.OpenID, "external_userid": u.ExternalUserID}))
	case u.CorpID != s.opts.CorpID:
		// A linked company's member; user_ticket is documented as not supported for them.
		weComReply(x, 0, "ok", map[string]any{"userid": u.CorpID + "/" + u.UserID})
	case g.ticket:
		weComReply(x, 0, "ok", map[string]any{"userid": u.UserID, "user_ticket": s.tickets.issue(g.user, 1800*time.Second)})
	default:
		weComReply(x, 0, "ok", map[string]any{"userid": u.UserID})
	}
}

func (s *WeCom) serveGetUserDetail(x exchange) {
	if !s.corpToken(x) {
		return
	}
	var req struct {
		UserTicket string `json:"user_ticket"`
	}
	// The body is JSON; WeCom names no Content-Type, so any is taken. 47001 for a body that is not JSON is our choice.
	if err := json.NewDecoder(x.r.Body).Decode(&req); err != nil {
		weComReply(x, 47001, "data format error", nil)
		return
	}
	name, st := s.tickets.lookup(req.UserTicket)
	if st != valid {
		// No errcode for a bad or expired user_ticket is documented; 40029 (invalid code) is our choice.
		weComReply(x, 40029, "invalid user_ticket", nil)
		return
	}
	u := s.users[name]
	body := map[string]any{"userid": u.UserID, "gender": "0", "avatar": "http://wx.qlogo.cn/mmhead/default/0"}
	for field, val := range map[string]string{WeComFieldGender: u.Gender, WeComFieldAvatar: u.Avatar, WeComFieldQRCode: u.QRCode,
		WeComFieldMobile: u.Mobile, WeComFieldEmail: u.Email, WeComFieldBizMail: u.BizMail, WeComFieldAddress: u.Address} {
		if s.granted(field) && val != "" {
			body[field] = val
		}
	}
	weComReply(x, 0, "ok", body)
}

func (s *WeCom) serveUserGet(x exchange) {
	if !s.corpToken(x) {
		return
	}
	id := x.r.URL.Query().Get("userid")
	u, ok := findUser(s.users, func(u WeComUser) bool {
		return u.UserID != "" && u.CorpID == s.opts.CorpID && strings.EqualFold(u.UserID, id)
	})
	if !ok {
		// 60111 is documented for an unknown userid; it is also our answer to a missing one.
		weComReply(x, 60111, "userid not found", nil)
		return
	}
	// A self-built app created after 2022-06-20 no longer gets avatar, gender, mobile, email, biz_mail,
	// qr_code or address here; they come from getuserdetail. Left out rather than empty: our reading.
	body := map[string]any{"userid": u.UserID, "name": u.Name, "department": nonNil(u.Departments),
		"position": u.Position, "status": 1, "enable": 1}
	if len(u.Departments) > 0 {
		body["main_department"] = u.Departments[0]
	}
	weComReply(x, 0, "ok", omitEmpty(body))
}
