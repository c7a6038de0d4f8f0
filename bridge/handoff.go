package bridge

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
)

// The handoff carries a login from the popup to the /embed iframe that opened it. The popup is a
// top-level, first-party window; the iframe lives in the CRM site's cookie partition (CHIPS), so a cookie
// that the popup sets is invisible to it. The popup therefore posts a sealed handoff; the iframe sends it
// back with the nonce it generated, in a same-origin POST whose answer sets AC_TOKEN in its own partition.
//
// There is no server-side state, so a handoff cannot be made single-use. What limits it instead: it is
// sealed (securecookie: AES-CTR encrypted and HMAC-SHA256 authenticated with the session keys, bound to its name),
// lives handoffTTL, names its provider, and is bound to SHA-256(nonce) where only the iframe that started
// the login knows the nonce. Whoever holds both could set the same token twice within a minute — which gives
// them nothing that the access token in the same message does not already give.
const (
	handoffTTL  = 60 * time.Second
	handoffName = "fb_handoff" // bound into the MAC: a login-state cookie cannot pass for a handoff
	// maxHandoffBody bounds the POST body; a Fuyun token has to fit one 4 KB cookie anyway.
	maxHandoffBody = 16 << 10
)

// handoffClaims is the sealed content of a handoff.
type handoffClaims struct {
	Token     string `json:"t"`
	ExpiresIn int64  `json:"e"`
	UserName  string `json:"u"`
	Provider  string `json:"p"`
	NonceHash string `json:"n"`           // base64url(SHA-256(nonce)), the login's handoff_nonce
	Exp       int64  `json:"x"`           // Unix seconds, by the bridge's clock
	Tenant    string `json:"a,omitempty"` // the platform-mode tenant of the login; "" for the file's company
}

func newHandoffCodecs(keyPairs [][]byte) ([]securecookie.Codec, error) {
	if len(keyPairs) == 0 || len(keyPairs)%2 != 0 {
		return nil, errors.New("handoff: need hash/block key pairs")
	}
	var codecs []securecookie.Codec
	for i := 0; i < len(keyPairs); i += 2 {
		sc := securecookie.New(keyPairs[i], keyPairs[i+1])
		// securecookie's own timestamp check (wall clock) backs up the Exp claim (the bridge's clock).
		sc.MaxAge(int(2 * handoffTTL / time.Second))
		sc.SetSerializer(securecookie.JSONEncoder{})
		codecs = append(codecs, sc)
	}
	return codecs, nil
}

// nonceHash is how a handoff nonce is bound: base64url(SHA-256(nonce)), as /static/embed.js computes it.
func nonceHash(nonce string) string {
	sum := sha256.Sum256([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Server) sealHandoff(c handoffClaims) (string, error) {
	c.Exp = s.opts.Now().Add(handoffTTL).Unix()
	return securecookie.EncodeMulti(handoffName, c, s.embed.handoff...)
}

// openHandoff checks a handoff against the nonce and provider that the iframe presents.
func (s *Server) openHandoff(sealed, nonce, provider string) (*handoffClaims, error) {
	var c handoffClaims
	if err := securecookie.DecodeMulti(handoffName, sealed, &c, s.embed.handoff...); err != nil {
		return nil, fmt.Errorf("handoff rejected (tampered, foreign or older than %s): %w", 2*handoffTTL, err)
	}
	if now := s.opts.Now().Unix(); now > c.Exp {
		return nil, fmt.Errorf("handoff expired %ds ago", now-c.Exp)
	}
	if !stateValid(nonce) || subtle.ConstantTimeCompare([]byte(nonceHash(nonce)), []byte(c.NonceHash)) != 1 {
		return nil, errors.New("the nonce is not the one this handoff is bound to")
	}
	if c.Tenant != s.opts.Tenant {
		return nil, fmt.Errorf("handoff is for tenant %q, not %q", c.Tenant, s.opts.Tenant)
	}
	if provider != c.Provider {
		return nil, fmt.Errorf("handoff is for provider %q, not %q", c.Provider, truncate(provider, 64))
	}
	if c.Token == "" {
		return nil, errors.New("handoff carries no token")
	}
	return &c, nil
}

// handoffRequest is the JSON body of POST /embed/handoff.
type handoffRequest struct {
	Handoff  string `json:"handoff"`
	Nonce    string `json:"nonce"`
	Provider string `json:"provider"`
}

// handoffAnswer is the JSON answer of a redeemed handoff; the token itself travels only in Set-Cookie.
type handoffAnswer struct {
	UserName  string `json:"user_name"`
	ExpiresIn int64  `json:"expires_in"`
	Provider  string `json:"provider"`
}

// handleHandoff redeems a handoff for AC_TOKEN with the configured attributes (Partitioned when configured).
// Only the bridge's own pages may call it (cross-origin protection): the iframe's fetch is same-origin.
func (s *Server) handleHandoff(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.writeError(w, r, failf(CodeInvalidRequest, errors.New("the handoff is posted as application/json")))
		return
	}
	var req handoffRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxHandoffBody)).Decode(&req); err != nil {
		s.writeError(w, r, failf(CodeInvalidRequest, fmt.Errorf("handoff body: %w", err)))
		return
	}
	attrs := []slog.Attr{slog.String("request_id", requestID(r.Context())), slog.String("provider", truncate(req.Provider, 64)), slog.String("client_ip", clientIP(r))}
	c, err := s.openHandoff(req.Handoff, req.Nonce, req.Provider)
	if err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "handoff", append(attrs, slog.String("outcome", "failure"), slog.String("error", err.Error()))...)
		s.writeError(w, r, failf(CodeHandoffInvalid, err))
		return
	}
	cookie, err := s.opts.Cookie.tokenCookie(c.Token, c.ExpiresIn)
	if err != nil {
		s.writeError(w, r, classify(err))
		return
	}
	http.SetCookie(w, cookie)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "handoff", append(attrs, slog.String("account", c.UserName), slog.String("outcome", "success"))...)
	writeJSON(w, http.StatusOK, handoffAnswer{UserName: c.UserName, ExpiresIn: c.ExpiresIn, Provider: c.Provider})
}
