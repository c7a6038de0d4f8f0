package devidp

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// authParams are the authorization request parameters the picker form carries in hidden fields.
var authParams = []string{
	"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "login_hint", "prompt",
}

// authRequest is a validated authorization request.
type authRequest struct {
	client      *Client
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scopes      []string
	loginHint   string
	prompt      string
	params      url.Values // the request as received, replayed by the picker form
}

// authError is an error returned to the client by redirect (RFC 6749 §4.1.2.1).
type authError struct{ code, description string }

const maxFormBytes = 64 << 10

func (p *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		params = r.URL.Query()
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			p.errorPage(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
		params = r.PostForm
		// CSRF: the IdP keeps no session, so a forged picker submission can at most sign a demo user in at
		// a registered redirect_uri — a login CSRF that the relying party's state check already defeats, and
		// that a GET with login_hint allows anyway. Refusing cross-origin submissions is cheap defence in
		// depth; a token in the form would prove nothing without a session to bind it to. A plain
		// authorization request sent by form (no user, no action) may come from any site, as OIDC allows.
		if (params.Has("user") || params.Has("action")) && !p.sameOrigin(r) {
			p.log.Info("devidp: cross-origin picker submission refused", "origin", r.Header.Get("Origin"))
			p.errorPage(w, http.StatusForbidden, "Cross-origin form submissions are refused.")
			return
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		p.errorPage(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}

	req, page, aerr := p.parseAuthRequest(params)
	if page != "" {
		p.log.Info("devidp: authorization refused", "reason", page)
		p.errorPage(w, http.StatusBadRequest, page)
		return
	}
	if aerr != nil {
		p.redirectError(w, r, req, *aerr)
		return
	}

	if r.Method == http.MethodPost {
		if params.Get("action") == "cancel" {
			p.redirectError(w, r, req, authError{"access_denied", "the user cancelled the sign-in"})
			return
		}
		if choice := params.Get("user"); choice != "" {
			u := p.findUser(choice)
			if u == nil {
				p.renderPicker(w, r, req, http.StatusBadRequest, true)
				return
			}
			p.approve(w, r, req, u)
			return
		}
		// A POST without a choice is an ordinary authorization request sent by form (OIDC Core §3.1.2.1).
	}

	// HEAD only asks what GET would answer; it must not mint a code nobody will redeem.
	if u := p.findUser(req.loginHint); u != nil && r.Method != http.MethodHead {
		p.approve(w, r, req, u)
		return
	}
	if slices.Contains(strings.Fields(req.prompt), "none") {
		p.redirectError(w, r, req, authError{"login_required", "no session and no login_hint naming a known user"})
		return
	}
	p.renderPicker(w, r, req, http.StatusOK, false)
}

// parseAuthRequest validates params. A bad client_id or redirect_uri yields page, a message for the error
// page: the client is not trusted, so the browser must not be sent anywhere (RFC 6749 §4.1.2.1). Any other
// problem yields aerr, to be returned to the client by redirect.
func (p *IdP) parseAuthRequest(params url.Values) (req *authRequest, page string, aerr *authError) {
	for _, name := range []string{"client_id", "redirect_uri"} {
		if len(params[name]) > 1 {
			return nil, "The " + name + " parameter is repeated.", nil
		}
	}
	client := p.clients[params.Get("client_id")]
	if client == nil {
		return nil, "Unknown client_id.", nil
	}
	redirectURI := params.Get("redirect_uri")
	if !slices.Contains(client.RedirectURIs, redirectURI) {
		// OIDC Core §3.1.2.1 makes redirect_uri required, so there is no default to fall back to.
		return nil, "The redirect_uri is not registered for this client.", nil
	}
	req = &authRequest{
		client:      client,
		redirectURI: redirectURI,
		state:       params.Get("state"),
		nonce:       params.Get("nonce"),
		challenge:   params.Get("code_challenge"),
		loginHint:   params.Get("login_hint"),
		prompt:      params.Get("prompt"),
		params:      url.Values{},
	}
	for _, name := range authParams {
		if v, ok := params[name]; ok {
			req.params[name] = v
		}
	}
	// RFC 6749 §3.1: parameters must not be repeated.
	for _, name := range authParams {
		if len(params[name]) > 1 {
			return req, "", &authError{"invalid_request", "the " + name + " parameter is repeated"}
		}
	}
	if rt := params.Get("response_type"); rt != "code" {
		if rt == "" {
			return req, "", &authError{"invalid_request", "response_type is required"}
		}
		return req, "", &authError{"unsupported_response_type", "only response_type=code is supported"}
	}
	scopes := strings.Fields(params.Get("scope"))
	if !slices.Contains(scopes, "openid") {
		return req, "", &authError{"invalid_scope", "the scope must include openid"}
	}
	for _, s := range supportedScopes {
		if slices.Contains(scopes, s) {
			req.scopes = append(req.scopes, s)
		}
	}
	switch method := params.Get("code_challenge_method"); {
	case req.challenge == "":
		return req, "", &authError{"invalid_request", "PKCE is required: code_challenge is missing"}
	case method != "S256":
		return req, "", &authError{"invalid_request", "code_challenge_method must be S256"}
	case !isS256Challenge(req.challenge):
		return req, "", &authError{"invalid_request", "code_challenge is not a base64url SHA-256 digest"}
	}
	return req, "", nil
}

// isS256Challenge reports whether c has the shape of BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
func isS256Challenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == 32
}

// sameOrigin reports whether a form POST came from a page of this IdP. Sec-Fetch-Site is the browser's own
// verdict; browsers without it are judged by Origin. Non-browser clients send neither and pass.
func (p *IdP) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	origin := r.Header.Get("Origin")
	return origin == "" || origin == p.issuerOrigin
}

// approve issues a code for u and sends the browser back to the client.
func (p *IdP) approve(w http.ResponseWriter, r *http.Request, req *authRequest, u *User) {
	now := p.now()
	code := rand.Text()
	p.codes.put(now, code, &authCode{
		clientID:      req.client.ID,
		redirectURI:   req.redirectURI,
		user:          u,
		scopes:        req.scopes,
		nonce:         req.nonce,
		codeChallenge: req.challenge,
		authTime:      now,
	}, now.Add(codeTTL))
	p.log.Info("devidp: authorization approved", "client_id", req.client.ID, "user", u.Username)
	q := url.Values{"code": {code}}
	p.redirect(w, r, req, q)
}

func (p *IdP) redirectError(w http.ResponseWriter, r *http.Request, req *authRequest, e authError) {
	p.log.Info("devidp: authorization refused", "client_id", req.client.ID, "error", e.code, "description", e.description)
	p.redirect(w, r, req, url.Values{"error": {e.code}, "error_description": {e.description}})
}

// redirect sends the authorization response, with state and the RFC 9207 iss, to the redirect URI, whose
// own query parameters are kept (RFC 6749 §3.1.2).
func (p *IdP) redirect(w http.ResponseWriter, r *http.Request, req *authRequest, q url.Values) {
	if req.state != "" {
		q.Set("state", req.state)
	}
	q.Set("iss", p.issuer)
	target := req.redirectURI
	if strings.Contains(target, "?") {
		target += "&" + q.Encode()
	} else {
		target += "?" + q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther // the browser must follow with GET, not resubmit the form
	}
	http.Redirect(w, r, target, status)
}

// pickerPage is the data of pickerTemplate.
type pickerPage struct {
	T       pickerText
	Action  string
	Client  string
	Hidden  []hiddenField
	Users   []User
	Message string
}

type hiddenField struct{ Name, Value string }

// pickerText is the picker's wording in one language; Choose is split around the client's name.
type pickerText struct {
	Lang, Title, ChooseBefore, ChooseAfter, Cancel, Note, UnknownUser string
}

var pickerTexts = map[string]pickerText{
	templates.LangEN: {
		Lang:         templates.LangEN,
		Title:        "Sign in to the dev identity provider",
		ChooseBefore: "Choose a user to sign in to ",
		ChooseAfter:  ".",
		Cancel:       "Cancel",
		Note:         "This is a demo identity provider for local development and tests: there are no passwords, and anyone who can reach it can sign in as any of these users.",
		UnknownUser:  "Unknown user.",
	},
	templates.LangZH: {
		Lang:         templates.LangZH,
		Title:        "登录开发用身份提供方",
		ChooseBefore: "请选择要登录 ",
		ChooseAfter:  " 的用户。",
		Cancel:       "取消",
		Note:         "这是用于本地开发和测试的演示身份提供方：没有密码，任何能访问它的人都可以用这些用户中的任意一个登录。",
		UnknownUser:  "未知用户。",
	},
}

// pickerLang chooses the picker's language as the bridge chooses its pages': the first ui_locales tag that
// names zh or en (OIDC Core §3.1.2.1), else Accept-Language. r.FormValue reads both the query and the
// picker's own form, which carries ui_locales along.
func pickerLang(r *http.Request) string {
	for _, tag := range strings.Fields(r.FormValue("ui_locales")) {
		if lang, ok := templates.Match(tag); ok {
			return lang
		}
	}
	return templates.Negotiate("", r.Header.Get("Accept-Language"))
}

func (p *IdP) renderPicker(w http.ResponseWriter, r *http.Request, req *authRequest, status int, unknownUser bool) {
	text := pickerTexts[pickerLang(r)]
	data := pickerPage{T: text, Action: p.issuer + "/authorize", Client: req.client.ID, Users: p.users}
	if unknownUser {
		data.Message = text.UnknownUser
	}
	for _, name := range authParams {
		if v, ok := req.params[name]; ok && len(v) > 0 {
			data.Hidden = append(data.Hidden, hiddenField{name, v[0]})
		}
	}
	// Not an authorization parameter the IdP acts on, so not in authParams: only the page's language.
	if v := r.FormValue("ui_locales"); v != "" {
		data.Hidden = append(data.Hidden, hiddenField{"ui_locales", v})
	}
	// No form-action: Chromium applies it to every redirect that follows the submission, not just the
	// first, so even 'self' plus the redirect URI's origin blocks the client's own onward redirect (the
	// bridge's callback → the CRM). With no script and every value escaped, form-action guards nothing here.
	p.pageHeaders(w)
	w.Header().Set("Vary", "Accept-Language")
	// no-referrer would make Chromium send "Origin: null" with the form, defeating the CSRF check; the
	// redirect that follows the form carries no-referrer again, so the client still sees no Referer.
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := pickerTemplate.Execute(w, data); err != nil {
		p.log.Error("devidp: rendering the picker", "err", err)
	}
}

func (p *IdP) errorPage(w http.ResponseWriter, status int, message string) {
	p.pageHeaders(w)
	w.WriteHeader(status)
	if err := errorTemplate.Execute(w, message); err != nil {
		p.log.Error("devidp: rendering the error page", "err", err)
	}
}

func (p *IdP) pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
}

var pickerTemplate = template.Must(template.New("picker").Parse(`<!doctype html>
<html lang="{{.T.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; background: #f4f5f7; color: #1f2328; margin: 0; }
main { max-width: 24rem; margin: 4rem auto; background: #fff; border-radius: 8px; padding: 2rem;
       box-shadow: 0 1px 3px rgba(0,0,0,.15); }
h1 { font-size: 1.25rem; margin: 0 0 .5rem; }
p { color: #57606a; font-size: .9rem; }
button { display: block; width: 100%; text-align: left; padding: .75rem 1rem; margin: .5rem 0; font: inherit;
         border: 1px solid #d0d7de; border-radius: 6px; background: #fff; cursor: pointer; }
button:hover, button:focus { background: #f0f6ff; border-color: #0969da; }
button small { display: block; color: #57606a; }
button.cancel { text-align: center; color: #57606a; background: #f6f8fa; margin-top: 1.25rem; }
.message { color: #cf222e; }
</style>
</head>
<body>
<main>
<h1>{{.T.Title}}</h1>
<p>{{.T.ChooseBefore}}<strong>{{.Client}}</strong>{{.T.ChooseAfter}}</p>
{{if .Message}}<p class="message" role="alert">{{.Message}}</p>{{end}}
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}{{range .Users}}<button type="submit" name="user" value="{{.Username}}" id="user-{{.Username}}" data-user="{{.Username}}">{{if .Name}}{{.Name}}{{else}}{{.Username}}{{end}}<small>{{.Username}}{{if .Email}} · {{.Email}}{{end}}</small></button>
{{end}}<button type="submit" name="action" value="cancel" id="cancel" class="cancel">{{.T.Cancel}}</button>
</form>
<p>{{.T.Note}}</p>
</main>
</body>
</html>
`))

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign-in error — dev identity provider</title>
<style>body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; color: #1f2328; }</style>
</head>
<body>
<h1>Sign-in error</h1>
<p id="error">{{.}}</p>
<p>The request was not sent back to the application because it could not be trusted.</p>
</body>
</html>
`))
