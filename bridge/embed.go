package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/redirects"
	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// defaultPopupTimeout is how long /embed waits for its login popup when Options.PopupTimeout is zero.
const defaultPopupTimeout = 5 * time.Minute

// embedding is what the embedded login needs beyond the redirect flow: the parent origins allowed to frame
// /embed, the handoff codec, and the cross-origin protection of the POST endpoints.
type embedding struct {
	parents    *redirects.AllowList // embed.allowed_origins; nil when /embed is off
	self       string               // the bridge's own origin, never a parent
	handoff    []securecookie.Codec
	timeout    time.Duration
	sameOrigin *http.CrossOriginProtection // /embed/handoff: the bridge's own pages only
	// logoutOrigins guards /logout: same origin, plus the configured CRM origins (LogoutOrigins).
	logoutOrigins *http.CrossOriginProtection
}

// newEmbedding builds the embedded-login parts of a Server; deny answers requests that cross-origin
// protection refuses.
func newEmbedding(opts Options, deny http.Handler) (*embedding, error) {
	e := &embedding{
		self:          strings.ToLower(opts.PublicURL.Scheme + "://" + opts.PublicURL.Host),
		timeout:       opts.PopupTimeout,
		sameOrigin:    http.NewCrossOriginProtection(),
		logoutOrigins: http.NewCrossOriginProtection(),
	}
	e.sameOrigin.SetDenyHandler(deny)
	e.logoutOrigins.SetDenyHandler(deny)
	if e.timeout <= 0 {
		e.timeout = defaultPopupTimeout
	}
	if len(opts.EmbedOrigins) > 0 {
		parents, err := redirects.New(opts.EmbedOrigins, opts.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("embed origins: %w", err)
		}
		e.parents = parents
	}
	for _, o := range opts.LogoutOrigins {
		if err := e.logoutOrigins.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("logout origins: %w", err)
		}
	}
	codecs, err := newHandoffCodecs(opts.SessionKeys)
	if err != nil {
		return nil, err
	}
	e.handoff = codecs
	return e, nil
}

// parentOrigin returns the /embed parent named by raw when it is an allowed CRM origin written exactly as
// a browser serialises it (lowercase scheme and host, no default port, no slash): that string goes into
// frame-ancestors and is the postMessage target, so it must be the one form the browser compares.
func (e *embedding) parentOrigin(raw string) (string, error) {
	if e.parents == nil {
		return "", errors.New("no embed.allowed_origins are configured")
	}
	if raw == "" {
		return "", errors.New("parent_origin is missing")
	}
	if len(raw) > 256 {
		return "", errors.New("parent_origin is too long")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("parent_origin %q is not an origin", truncate(raw, 64))
	}
	canonical := u.Scheme + "://" + strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(u.Scheme == "https" && p == "443") && !(u.Scheme == "http" && p == "80") {
		canonical += ":" + p
	}
	if strings.Contains(u.Host, "[") {
		canonical = u.Scheme + "://" + strings.ToLower(u.Host) // IPv6 literal: keep the brackets as given
	}
	if canonical != raw {
		return "", fmt.Errorf("parent_origin %q is not written as a browser writes an origin (%q)", truncate(raw, 64), canonical)
	}
	if raw == e.self || !e.parents.AllowsOrigin(raw) {
		return "", fmt.Errorf("parent_origin %q is not in embed.allowed_origins", raw)
	}
	return raw, nil
}

// handleEmbed serves the sign-in widget for one allow-listed parent (?parent_origin=). The parent is not
// taken on trust: frame-ancestors names exactly it, so the browser refuses any other framer, and the
// widget posts its results to exactly it, so no other window can read them.
func (s *Server) handleEmbed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	parent, err := s.embed.parentOrigin(q.Get("parent_origin"))
	if err != nil {
		// The error page keeps frame-ancestors 'none'.
		s.writeError(w, r, failf(CodeEmbedOriginNotAllowed, err))
		return
	}
	var want map[string]bool
	if list := q.Get("providers"); list != "" {
		want = map[string]bool{}
		for id := range strings.SplitSeq(list, ",") {
			if _, ok := s.routes[id]; !ok {
				s.writeError(w, r, failf(CodeUnknownProvider, fmt.Errorf("no provider %q", truncate(id, 64))))
				return
			}
			want[id] = true
		}
	}
	data := templates.Embed{
		Page:           s.page(r),
		ParentOrigin:   parent,
		HandoffURL:     s.basePath + "/embed/handoff",
		LogoutURL:      s.basePath + "/logout",
		TimeoutSeconds: int(s.embed.timeout / time.Second),
	}
	for _, rt := range s.order {
		id := rt.Provider.ID()
		if want != nil && !want[id] {
			continue
		}
		link := s.basePath + "/login/" + id + "?" + urlValues("mode", modePopup, "lang", q.Get("lang")).Encode()
		data.Providers = append(data.Providers, templates.ProviderLink{
			ID: id, Name: rt.Provider.DisplayName(), Type: rt.Provider.Type(), URL: link, Icon: s.iconURL(rt),
		})
	}
	h := w.Header()
	h.Set("Content-Security-Policy", embedCSP(parent))
	// X-Frame-Options has no "allow this origin" form that browsers honour; frame-ancestors replaces it.
	h.Del("X-Frame-Options")
	h.Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, templates.PageEmbed, data)
}
