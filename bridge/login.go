package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gorilla/mux"
	"golang.org/x/oauth2"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// Login modes of /login/{provider}?mode=.
const (
	modeRedirect = "redirect"
	modePopup    = "popup"
)

// maxLoginHint bounds login_hint, which is forwarded to the IdP.
const maxLoginHint = 256

func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	page := s.page(r)
	returnTo, err := s.opts.Redirects.Check(r.URL.Query().Get("return_to"))
	if err != nil {
		s.writeError(w, r, failf(CodeInvalidReturnTo, err))
		return
	}
	data := templates.SignIn{Page: page, ReturnTo: returnTo}
	// Platform mode's email box: at the root it finds the tenant, at a tenant of several providers the provider.
	if s.opts.platform != nil && (s.opts.Tenant == "" || len(s.order) > 1) {
		data.DiscoverURL = s.basePath + "/discover"
	}
	// login_hint (from /discover) is passed on to the buttons; /login checks it.
	hint := r.URL.Query().Get("login_hint")
	for _, rt := range s.order {
		q := urlValues("return_to", returnTo, "lang", r.URL.Query().Get("lang"), "login_hint", hint)
		link := s.basePath + "/login/" + rt.Provider.ID()
		if enc := q.Encode(); enc != "" {
			link += "?" + enc
		}
		data.Providers = append(data.Providers, templates.ProviderLink{
			ID: rt.Provider.ID(), Name: rt.Provider.DisplayName(), Type: rt.Provider.Type(), URL: link, Icon: s.iconURL(rt),
		})
	}
	s.render(w, r, http.StatusOK, "signin", data)
}

// handleLogin starts the authorization-code flow: fresh state, nonce and PKCE verifier in this login's own
// state cookie, then a redirect to the IdP.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	rt, ok := s.routes[mux.Vars(r)["provider"]]
	if !ok {
		s.writeError(w, r, failf(CodeUnknownProvider, fmt.Errorf("no provider %q", mux.Vars(r)["provider"])))
		return
	}
	q := r.URL.Query()
	returnTo, err := s.opts.Redirects.Check(q.Get("return_to"))
	if err != nil {
		s.writeError(w, r, failf(CodeInvalidReturnTo, err))
		return
	}
	mode := q.Get("mode")
	if mode == "" {
		mode = modeRedirect
	}
	if mode != modeRedirect && mode != modePopup {
		s.writeError(w, r, failf(CodeInvalidRequest, fmt.Errorf("mode must be redirect or popup, not %q", truncate(mode, 32))))
		return
	}
	hint := q.Get("login_hint")
	if len(hint) > maxLoginHint || strings.IndexFunc(hint, unicode.IsControl) >= 0 {
		s.writeError(w, r, failf(CodeInvalidRequest, errors.New("login_hint is too long or has control characters")))
		return
	}
	handoffNonce := q.Get("handoff_nonce")
	if handoffNonce != "" && (mode != modePopup || !stateValid(handoffNonce)) {
		s.writeError(w, r, failf(CodeInvalidRequest, errors.New("handoff_nonce must be a base64url SHA-256 and needs mode=popup")))
		return
	}
	ls := &loginState{
		HandoffNonce: handoffNonce,
		State:        randomToken(32),
		Nonce:        randomToken(32),
		CodeVerifier: oauth2.GenerateVerifier(),
		Provider:     rt.Provider.ID(),
		ReturnTo:     returnTo,
		Mode:         mode,
		StartedUnix:  s.opts.Now().Unix(),
		Tenant:       s.opts.Tenant,
		Fingerprint:  rt.fingerprint,
	}
	authURL, err := rt.Provider.AuthCodeURL(r.Context(), providers.AuthRequest{
		State: ls.State, Nonce: ls.Nonce, CodeVerifier: ls.CodeVerifier, LoginHint: hint,
	})
	if err != nil {
		s.writeError(w, r, classify(err))
		return
	}
	if err := s.states.save(w, r, ls); errors.Is(err, errStateTooLarge) {
		// Only return_to varies in size: refuse it now rather than fail at the callback as an expired login.
		s.writeError(w, r, failf(CodeInvalidReturnTo, fmt.Errorf("return_to of %d bytes is too long to carry through the login: %w", len(returnTo), err)))
		return
	} else if err != nil {
		s.writeError(w, r, failf(CodeInternal, fmt.Errorf("saving login state: %w", err)))
		return
	}
	s.metrics.loginStarted(rt.Provider.ID())
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusFound)
}

// signedIn is what the sign-in pipeline established: who the IdP says it is, which agent that is, and (on
// success) Fuyun's token for the agent.
type signedIn struct {
	subject string
	account string
	token   *fuyun.Token
}

// signIn is the one pipeline of both ways in — the browser callback and POST /api/v1/token: an identity from
// the IdP → the agent (mapping, with the tenant proof) → Fuyun's token in the route's mode. early, when it
// started, is OAuth mode's exchange already under way; its token is used only if the identity passes every
// check, and a refusal here cancels it: an identity or policy refusal always decides the error, whatever the
// timing. The partial result is returned with an error, for the audit line.
func (s *Server) signIn(ctx context.Context, rt *Route, ident *providers.Identity, early *earlyExchange) (signedIn, error) {
	res := signedIn{subject: ident.Subject}
	mapped, err := rt.mapIdentity(ident)
	if err != nil {
		early.abandon()
		return res, err
	}
	res.account = mapped.Account
	var tok *fuyun.Token
	var agent string
	if early.started() {
		tok, err = early.wait(ctx)
		agent = oauthAgent(tok, mapped.Account)
	} else {
		tok, agent, err = rt.exchange(ctx, mapped.Account, ident.AccessToken)
	}
	if err != nil {
		return res, err
	}
	s.fuyunHealth.reached()
	res.token, res.account = tok, agent
	return res, nil
}

// earlyExchange is OAuth mode's Fuyun exchange started as soon as the IdP's access token is known
// (providers.CallbackRequest.AccessTokenReady), so that it runs in parallel with the provider's userinfo call
// instead of after it. A nil *earlyExchange never starts.
type earlyExchange struct {
	once   sync.Once
	run    bool
	cancel context.CancelFunc
	done   chan struct{}
	tok    *fuyun.Token
	err    error
}

// newEarlyExchange prepares rt's exchange; nil unless rt exchanges in OAuth mode.
func newEarlyExchange(ctx context.Context, rt *Route) (*earlyExchange, func(accessToken string)) {
	if rt.Mode != fuyun.ModeOAuth {
		return nil, nil
	}
	e := &earlyExchange{done: make(chan struct{})}
	ctx, e.cancel = context.WithCancel(ctx)
	return e, func(accessToken string) {
		e.once.Do(func() {
			e.run = true
			go func() {
				defer close(e.done)
				e.tok, e.err = rt.Fuyun.ExchangeOAuth(ctx, accessToken)
			}()
		})
	}
}

// started reports whether the exchange began; after it, none can begin any more.
func (e *earlyExchange) started() bool {
	if e == nil {
		return false
	}
	e.once.Do(func() {})
	return e.run
}

// wait returns the exchange's result, or the caller's context error.
func (e *earlyExchange) wait(ctx context.Context) (*fuyun.Token, error) {
	select {
	case <-e.done:
		e.cancel()
		return e.tok, e.err
	case <-ctx.Done():
		e.cancel()
		return nil, failf(CodeFuyunUnavailable, fmt.Errorf("login deadline reached while waiting for Fuyun: %w", ctx.Err()))
	}
}

// abandon cancels an exchange whose token will not be used (the identity was refused) and keeps one from
// starting.
func (e *earlyExchange) abandon() {
	if e == nil {
		return
	}
	e.once.Do(func() {})
	e.cancel()
}

// loginResult is what a successful callback hands to the response writers.
type loginResult struct {
	route    *Route
	state    *loginState
	userName string
	subject  string
	token    *fuyun.Token
}

// handleCallback finishes the flow (steps 2–5 of the flow: code, identity, mapping, exchange, cookie). Every failure answers with a stable code and sets no
// AC_TOKEN; exactly one audit line is logged per callback.
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.activity.touch(s.opts.Now())
	id := mux.Vars(r)["provider"]
	res, err := s.finishLogin(w, r, id)
	audit := []slog.Attr{
		slog.String("request_id", requestID(r.Context())), slog.String("provider", id),
		slog.String("client_ip", clientIP(r)), slog.Duration("latency", time.Since(start)),
	}
	if res != nil {
		audit = append(audit, slog.String("mode", string(res.route.Mode)))
		if res.userName != "" {
			audit = append(audit, slog.String("account", res.userName))
		}
		if res.subject != "" {
			audit = append(audit, slog.String("subject", res.subject))
		}
	}
	s.observeLogin(id, res, err, time.Since(start))
	if err != nil {
		le := classify(err)
		audit = append(audit, slog.String("outcome", "failure"), slog.String("error_code", le.code), slog.String("error", le.Error()))
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "login", audit...)
		if res != nil && res.state != nil && res.state.Mode == modePopup && !wantsJSON(r) {
			s.writePopupError(w, r, res, le)
			return
		}
		s.writeError(w, r, le)
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "login", append(audit, slog.String("outcome", "success"))...)
	s.writeSuccess(w, r, res)
}

// finishLogin runs steps 2–5 and sets AC_TOKEN. The partial result is returned with an error for the audit line.
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, id string) (*loginResult, error) {
	rt, ok := s.routes[id]
	if !ok {
		return nil, failf(CodeUnknownProvider, fmt.Errorf("no provider %q", id))
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		return nil, failf(CodeInvalidRequest, errors.New("the callback has no state parameter"))
	}
	ls, err := s.states.take(w, r, state)
	if err != nil {
		return nil, err
	}
	res := &loginResult{route: rt, state: ls}
	if ls.Tenant != s.opts.Tenant {
		return res, failf(CodeStateMismatch, fmt.Errorf("login was started for tenant %q, not %q", ls.Tenant, s.opts.Tenant))
	}
	if ls.Provider != id {
		return res, failf(CodeStateMismatch, fmt.Errorf("login was started for provider %q, not %q", ls.Provider, id))
	}
	if ls.Fingerprint != rt.fingerprint {
		return res, failf(CodeTenantChanged, fmt.Errorf("provider %q of tenant %q changed since the login started", id, s.opts.Tenant))
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.LoginTimeout)
	defer cancel()
	early, tokenReady := newEarlyExchange(ctx, rt)
	// The provider reads the rest of the authorization response itself (code or authCode, error, iss). It may
	// skip userinfo when the ID token holds what the mapping needs, and hands over the access token as soon as
	// it has one, so that OAuth mode's exchange runs beside userinfo.
	ident, err := rt.Provider.Callback(ctx, providers.CallbackRequest{
		Query: q, CodeVerifier: ls.CodeVerifier, Nonce: ls.Nonce,
		ClaimsSuffice: rt.Mapper.Satisfied, AccessTokenReady: tokenReady,
	})
	if err != nil {
		early.abandon()
		return res, err
	}
	signed, err := s.signIn(ctx, rt, ident, early)
	res.subject, res.userName = signed.subject, signed.account
	if err != nil {
		return res, err
	}
	tok := signed.token
	res.token = tok
	cookie, err := s.opts.Cookie.tokenCookie(tok.AccessToken, tok.ExpiresIn)
	if err != nil {
		return res, err
	}
	// A partitioned cookie set in the popup would land in the bridge's own top-level partition, where no
	// embedded page reads it; the /embed iframe redeems the handoff into its own partition instead.
	if !(ls.Mode == modePopup && s.opts.Cookie.Partitioned) {
		http.SetCookie(w, cookie)
	}
	return res, nil
}

// callbackJSON is the JSON answer of a successful callback: Fuyun's fields plus user_name and provider.
type callbackJSON struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
	Issuer      string `json:"iss,omitempty"`
	JTI         string `json:"jti,omitempty"`
	UserName    string `json:"user_name"`
	Provider    string `json:"provider"`
}

func (s *Server) writeSuccess(w http.ResponseWriter, r *http.Request, res *loginResult) {
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) {
		t := res.token
		writeJSON(w, http.StatusOK, callbackJSON{
			AccessToken: t.AccessToken, TokenType: t.TokenType, ExpiresIn: t.ExpiresIn, Scope: t.Scope,
			Issuer: t.Issuer, JTI: t.JTI, UserName: res.userName, Provider: res.route.Provider.ID(),
		})
		return
	}
	if res.state.Mode == modePopup {
		s.writePopupSuccess(w, r, res)
		return
	}
	if res.state.ReturnTo != "" && res.state.Mode == modeRedirect {
		http.Redirect(w, r, res.state.ReturnTo, http.StatusSeeOther)
		return
	}
	page := s.page(r)
	// The agent is told how long the session lasts in this browser: the cookie's life, which cookie.max_age may
	// make shorter than Fuyun's expires_in.
	lifetime := s.opts.Cookie.lifetime(res.token.ExpiresIn)
	expiresAt := s.opts.Now().Add(time.Duration(lifetime) * time.Second)
	s.render(w, r, http.StatusOK, "success", templates.Success{
		Page:         page,
		UserName:     res.userName,
		ProviderName: res.route.Provider.DisplayName(),
		ExpiresIn:    lifetime,
		ExpiresAt:    expiresAt.UTC().Format("2006-01-02 15:04 MST"),
		ReturnTo:     res.state.ReturnTo,
		ShowToken:    s.opts.ShowToken,
		Token:        tokenIf(s.opts.ShowToken, res.token.AccessToken),
	})
}

func tokenIf(show bool, tok string) string {
	if show {
		return tok
	}
	return ""
}

// errorJSON is the JSON shape of every failure.
type errorJSON struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	RequestID        string `json:"request_id"`
}

// writeError answers a failed request: the stable code, a human sentence in the page's language, the request
// id. The cause is for the log only.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, le *loginError) {
	status := httpStatus(le.code)
	w.Header().Set("Cache-Control", "no-store")
	page := s.page(r)
	if wantsJSON(r) {
		desc := page.M.ErrorMessage(le.code)
		if le.detail != "" {
			desc += " (" + le.detail + ")"
		}
		writeJSON(w, status, errorJSON{Error: le.code, ErrorDescription: desc, RequestID: page.RequestID})
		return
	}
	data := templates.ErrorPage{Page: page, Status: status, Code: le.code, Detail: le.detail, HomeURL: s.basePath + "/"}
	if id := mux.Vars(r)["provider"]; id != "" {
		if _, ok := s.routes[id]; ok && le.code != CodeUnknownProvider {
			data.RetryURL = s.basePath + "/login/" + id
		}
	}
	s.render(w, r, status, "error", data)
}

func (s *Server) page(r *http.Request) templates.Page {
	lang := templates.Negotiate(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	return templates.NewPage(lang, requestID(r.Context()))
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf strings.Builder
	if err := s.opts.Templates.Render(&buf, name, data); err != nil {
		s.log.Error("rendering page failed", "request_id", requestID(r.Context()), "page", name, "error", err)
		http.Error(w, "internal error; request id "+requestID(r.Context()), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// wantsJSON is true when the client asks for JSON and not for HTML (a script or a CRM backend, not a browser).
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			return false
		case "application/json":
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
