package bridge

import (
	"errors"
	"log/slog"
	"net/http"
)

// Logout is protected against cross-site requests by net/http.CrossOriginProtection (Sec-Fetch-Site, with
// an Origin-header fallback for older browsers) rather than by tokens. Trusted besides the bridge itself:
// the exact origins of redirects.allowed and embed.allowed_origins (Options.LogoutOrigins, filled by
// NewFromConfig). Those are the CRM pages the operator already trusts to receive agents and tokens, and a
// CRM's own "sign out" form may post here. Wildcard entries cannot be trusted origins and are left out; such
// CRMs sign out through the SDK, whose /embed iframe posts same-origin.
//
// A logout clears AC_TOKEN with the attributes it was set with (Domain, Path, SameSite, Secure,
// Partitioned), or the browser keeps it. Called from the /embed iframe it clears the cookie of that iframe's
// partition. The bridge keeps no other session: login states are single-use cookies of their own.

// crossOriginDenied answers a request that CrossOriginProtection refused (/logout, /embed/handoff).
func (s *Server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "cross-origin request refused",
		slog.String("request_id", requestID(r.Context())), slog.String("path", r.URL.Path),
		slog.String("origin", truncate(r.Header.Get("Origin"), 128)), slog.String("sec_fetch_site", truncate(r.Header.Get("Sec-Fetch-Site"), 32)))
	s.writeError(w, r, failf(CodeCrossOrigin, errors.New("cross-origin POST from an untrusted origin")))
}

// handleLogout clears AC_TOKEN, then sends the browser to an allow-listed return_to (303), answers 204 to
// a script (fetch, or Accept: application/json), or sends a plain form post to the sign-in page.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	returnTo, err := s.opts.Redirects.Check(r.FormValue("return_to"))
	if err != nil {
		s.writeError(w, r, failf(CodeInvalidReturnTo, err))
		return
	}
	http.SetCookie(w, s.opts.Cookie.clearCookie())
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "logout",
		slog.String("request_id", requestID(r.Context())), slog.String("client_ip", clientIP(r)))
	switch {
	case returnTo != "":
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
	case wantsJSON(r) || (r.Header.Get("Sec-Fetch-Mode") != "" && r.Header.Get("Sec-Fetch-Mode") != "navigate"):
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Redirect(w, r, s.basePath+"/", http.StatusSeeOther)
	}
}
