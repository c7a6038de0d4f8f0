package devidp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// oauthError is an error of the token or userinfo endpoint, written as {"error","error_description"}.
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidGrant(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", description}
}

func invalidRequest(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", description}
}

// tokenResponse is the token endpoint's answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	IDToken     string `json:"id_token"`
	Scope       string `json:"scope"`
}

func (p *IdP) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		p.writeOAuthError(w, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST"})
		return
	}
	resp, err := p.redeem(w, r)
	if err != nil {
		var oe *oauthError
		if !errors.As(err, &oe) {
			oe = &oauthError{http.StatusInternalServerError, "server_error", "the token could not be issued"}
			p.log.Error("devidp: token endpoint", "err", err)
		}
		p.log.Info("devidp: token refused", "error", oe.code, "description", oe.description)
		p.writeOAuthError(w, oe)
		return
	}
	p.writeJSON(w, http.StatusOK, resp)
}

func (p *IdP) redeem(w http.ResponseWriter, r *http.Request) (*tokenResponse, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("the body must be a form (application/x-www-form-urlencoded)")
	}
	form := r.PostForm
	for name, v := range form {
		if len(v) > 1 {
			return nil, invalidRequest("the " + name + " parameter is repeated")
		}
	}
	client, err := p.authenticateClient(r)
	if err != nil {
		return nil, err
	}
	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
	case "":
		return nil, invalidRequest("grant_type is required")
	default:
		return nil, &oauthError{http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported"}
	}
	code := form.Get("code")
	if code == "" {
		return nil, invalidRequest("code is required")
	}

	now := p.now()
	grant, ok := p.codes.take(now, code)
	if !ok {
		if tok, used := p.redeemed.take(now, code); used {
			// RFC 6749 §4.1.2: a replayed code revokes what it bought; it may have been stolen.
			p.tokens.take(now, tok)
			return nil, invalidGrant("the authorization code was already used")
		}
		return nil, invalidGrant("the authorization code is unknown or expired")
	}
	// Whatever happens now, the code is spent; a failed attempt leaves no access token to revoke.
	accessToken := ""
	defer func() { p.redeemed.put(now, code, accessToken, now.Add(codeTTL)) }()

	if grant.clientID != client.ID {
		return nil, invalidGrant("the authorization code was issued to another client")
	}
	if form.Get("redirect_uri") != grant.redirectURI {
		return nil, invalidGrant("redirect_uri does not match the authorization request")
	}
	if err := checkVerifier(form.Get("code_verifier"), grant.codeChallenge); err != nil {
		return nil, err
	}

	accessToken = rand.Text()
	idToken, err := p.signIDToken(now, client.ID, grant, accessToken)
	if err != nil {
		accessToken = ""
		return nil, err
	}
	p.tokens.put(now, accessToken, &accessGrant{user: grant.user, scopes: grant.scopes}, now.Add(p.tokenTTL))
	p.log.Info("devidp: tokens issued", "client_id", client.ID, "user", grant.user.Username)
	return &tokenResponse{
		AccessToken: accessToken,
		TokenType:   "Bearer",
		ExpiresIn:   int64(p.tokenTTL / time.Second),
		IDToken:     idToken,
		Scope:       strings.Join(grant.scopes, " "),
	}, nil
}

// checkVerifier checks the PKCE code_verifier against the S256 challenge (RFC 7636 §4.6).
func checkVerifier(verifier, challenge string) error {
	if verifier == "" {
		return invalidGrant("code_verifier is required")
	}
	if len(verifier) < 43 || len(verifier) > 128 || strings.Trim(verifier, unreservedChars) != "" {
		return invalidGrant("code_verifier must be 43 to 128 unreserved characters")
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) != 1 {
		return invalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}

const unreservedChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

// authenticateClient checks client_secret_basic or client_secret_post, exactly one of them (RFC 6749 §2.3).
func (p *IdP) authenticateClient(r *http.Request) (*Client, error) {
	form := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		if form.Has("client_secret") {
			return nil, invalidRequest("use one client authentication method, not two")
		}
		// RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, p.invalidClient("malformed Basic credentials")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return nil, p.invalidClient("client_id differs from the Basic credentials")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
		if id == "" {
			return nil, p.invalidClient("client authentication is required")
		}
	}
	c := p.clients[id]
	want := ""
	if c != nil {
		want = c.Secret
	}
	// Comparing digests keeps the comparison constant-time whatever the lengths.
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 || c == nil {
		return nil, p.invalidClient("client authentication failed")
	}
	return c, nil
}

func (p *IdP) invalidClient(description string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", description}
}

// signIDToken signs the ID token of one redemption (OIDC Core §2, §3.1.3.6).
func (p *IdP) signIDToken(now time.Time, clientID string, grant *authCode, accessToken string) (string, error) {
	claims := userClaims(grant.user, grant.scopes)
	claims["iss"] = p.issuer
	claims["aud"] = clientID
	claims["azp"] = clientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(p.tokenTTL).Unix()
	claims["auth_time"] = grant.authTime.Unix()
	if grant.nonce != "" {
		claims["nonce"] = grant.nonce
	}
	// at_hash: the left half of SHA-256 of the access token, base64url (OIDC Core §3.1.3.6).
	sum := sha256.Sum256([]byte(accessToken))
	claims["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("devidp: ID token claims: %w", err)
	}
	jws, err := p.keys.Load().signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("devidp: signing the ID token: %w", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("devidp: serializing the ID token: %w", err)
	}
	return tok, nil
}

func (p *IdP) userinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		p.writeOAuthError(w, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "userinfo takes GET or POST"})
		return
	}
	scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		// RFC 6750 §3.1: no error code when the request carried no token at all.
		w.Header().Set("WWW-Authenticate", `Bearer realm="devidp"`)
		p.writeOAuthError(w, &oauthError{http.StatusUnauthorized, "invalid_request", "an Authorization: Bearer token is required"})
		return
	}
	grant, ok := p.tokens.get(p.now(), strings.TrimSpace(tok))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="devidp", error="invalid_token", error_description="unknown or expired access token"`)
		p.writeOAuthError(w, &oauthError{http.StatusUnauthorized, "invalid_token", "unknown or expired access token"})
		return
	}
	p.writeJSON(w, http.StatusOK, userClaims(grant.user, grant.scopes))
}

func (p *IdP) writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.code == "invalid_client" {
		// RFC 6749 §5.2: a 401 names the scheme the client may authenticate with.
		w.Header().Set("WWW-Authenticate", `Basic realm="devidp"`)
	}
	p.writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

func (p *IdP) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		p.log.Error("devidp: encoding a response", "err", err)
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
