package bridge

import (
	"net/http"

	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// writePopupSuccess answers a popup-mode callback: a page whose script (/static/popup.js) posts the result
// to window.opener at the bridge's own origin and closes. The token is in the page body only — never in a
// URL — and the page is no-store. With a handoff nonce, the message also carries the sealed handoff.
func (s *Server) writePopupSuccess(w http.ResponseWriter, r *http.Request, res *loginResult) {
	id := res.route.Provider.ID()
	msg := templates.PopupMessage{
		Type:        templates.MessageLogin,
		AccessToken: res.token.AccessToken,
		ExpiresIn:   res.token.ExpiresIn,
		UserName:    res.userName,
		Provider:    id,
		LoginID:     res.state.HandoffNonce,
	}
	if res.state.HandoffNonce != "" {
		h, err := s.sealHandoff(handoffClaims{
			Token: res.token.AccessToken, ExpiresIn: res.token.ExpiresIn, UserName: res.userName,
			Provider: id, NonceHash: res.state.HandoffNonce, Tenant: s.opts.Tenant,
		})
		if err != nil {
			// The login still succeeded; the iframe reports that it could not store it.
			s.log.Error("sealing handoff failed", "request_id", requestID(r.Context()), "error", err)
		}
		msg.Handoff = h
	}
	s.writePopup(w, r, http.StatusOK, templates.Popup{Page: s.page(r), Message: msg, UserName: res.userName})
}

// writePopupError answers a failed popup-mode callback: the same page, posting
// {type:"fuyun-bridge:error", error, error_description} and showing the error's texts.
func (s *Server) writePopupError(w http.ResponseWriter, r *http.Request, res *loginResult, le *loginError) {
	page := s.page(r)
	desc := page.M.ErrorMessage(le.code)
	if le.detail != "" {
		desc += " (" + le.detail + ")"
	}
	s.writePopup(w, r, httpStatus(le.code), templates.Popup{
		Page: page, Code: le.code, Detail: le.detail,
		Message: templates.PopupMessage{
			Type: templates.MessageError, Error: le.code, ErrorDescription: desc, LoginID: res.state.HandoffNonce,
		},
	})
}

func (s *Server) writePopup(w http.ResponseWriter, r *http.Request, status int, data templates.Popup) {
	w.Header().Set("Content-Security-Policy", scriptPageCSP)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, templates.PagePopup, data)
}
