// Package providers turns an identity provider (Microsoft Entra ID, Salesforce, Google, any OIDC or OAuth2
// server, …) into one small interface: build the authorization URL, and turn the IdP's callback into an
// Identity. Each provider type is a Preset (preset.go) registered in registry.go. Providers know nothing of Fuyun, cookies or HTTP handlers: the bridge owns state and sessions.
package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Provider is one configured identity provider: the authorization URL of a login, and its callback turned into
// an Identity. What only some IdPs can do is an optional interface (UserInfoer, Readier, KeyCounter).
type Provider interface {
	// ID is the URL segment of /login/{id} and /callback/{id}.
	ID() string
	// Type is the preset name (microsoft, dingtalk, …).
	Type() string
	// DisplayName is the label of the sign-in button.
	DisplayName() string
	// AuthCodeURL returns the IdP's authorization URL for one login (state, nonce, PKCE S256, login_hint).
	// It may load the discovery document on first use.
	AuthCodeURL(ctx context.Context, a AuthRequest) (string, error)
	// Callback finishes a login from the IdP's authorization response: it reads the response's own
	// parameters (code or authCode, error, iss), redeems the code with the PKCE verifier and establishes who
	// the user is (for OpenID Connect: the verified ID token, and userinfo whose sub must match).
	Callback(ctx context.Context, c CallbackRequest) (*Identity, error)
}

// UserInfoer is a provider that can say who holds an access token a CRM backend already has (no ID token
// involved); POST /api/v1/token needs it.
type UserInfoer interface {
	UserInfo(ctx context.Context, accessToken string) (*Identity, error)
}

// Readier is a provider that loads something before it can serve logins (discovery, signing keys, an
// application token); Ready loads it, or confirms it is loaded, and nil means usable. A provider without it
// is always ready.
type Readier interface {
	Ready(ctx context.Context) error
}

// Compile-time proof of which optional abilities each provider has.
var (
	_ UserInfoer = (*oidcProvider)(nil)
	_ Readier    = (*oidcProvider)(nil)
	_ KeyCounter = (*oidcProvider)(nil)
	_ Discoverer = (*oidcProvider)(nil)
	_ Warmer     = (*oidcProvider)(nil)
	_ Warmer     = (*oauth2Provider)(nil)
	_ Warmer     = (*dingTalk)(nil)
	_ Warmer     = (*feishuProvider)(nil)
	_ Warmer     = (*wecomProvider)(nil)
	_ UserInfoer = (*oauth2Provider)(nil)
)

// AuthRequest carries the per-login secrets that the bridge generated and keeps in its state cookie.
type AuthRequest struct {
	State        string
	Nonce        string
	CodeVerifier string // the provider sends its S256 challenge
	LoginHint    string // optional, passed through as login_hint
}

// CallbackRequest is the IdP's authorization response and what the bridge kept for it. The bridge has checked
// the state; everything else in Query is the provider's to read.
type CallbackRequest struct {
	Query        url.Values
	CodeVerifier string
	Nonce        string
	// ClaimsSuffice, when set, says whether the verified ID token's claims (normalised) hold everything the login
	// needs; with `userinfo: auto` an OpenID Connect provider then skips its userinfo call. nil: always fetch.
	ClaimsSuffice func(claims map[string]any) bool
	// AccessTokenReady, when set, is called once with the IdP's access token as soon as the code is redeemed and
	// any ID token verified — before userinfo — so that the caller can start work that needs only the token
	// (the Fuyun exchange of OAuth mode) in parallel. It must not block.
	AccessTokenReady func(accessToken string)
}

// Identity is a signed-in user as the IdP describes them.
type Identity struct {
	Provider string // provider ID
	Issuer   string // the ID token's iss (the tenant's issuer for Microsoft); "" for plain OAuth2
	Subject  string
	// Claims holds the ID token's claims overlaid with userinfo's (userinfo wins). Presets normalise
	// verification here: a provider sets "email_verified" only when it can vouch for the email. Numbers are
	// json.Number, with the IdP's exact digits.
	Claims map[string]any
	// AccessToken is the IdP's access token, forwarded to Fuyun in OAuth mode. Never log it.
	AccessToken string
	// Unpinned, when not "", says why the identity's organisation is NOT proven: the provider's tenant rules
	// could not be applied (Microsoft Graph's userinfo has no tid). Whoever admits such an identity must pin
	// the user some other way.
	Unpinned string
}

// Options are the dependencies a provider is built with.
type Options struct {
	// HTTPClient makes every outbound call (discovery, JWKS, token, userinfo); it carries timeouts.
	HTTPClient *http.Client
	// Now is the clock for token checks; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Stable error codes. The bridge shows them on the error page, in JSON errors, logs and metrics.
const (
	CodeIssuerMismatch      = "issuer_mismatch"       // RFC 9207 iss parameter wrong or missing when required
	CodeIdPUnavailable      = "idp_unavailable"       // discovery or JWKS could not be loaded
	CodeTokenFailed         = "idp_token_failed"      // the code could not be redeemed
	CodeIDTokenMissing      = "id_token_missing"      // an OIDC token response without id_token
	CodeIDTokenInvalid      = "id_token_invalid"      // signature, iss, aud, azp, exp or iat check failed
	CodeNonceMismatch       = "nonce_mismatch"        // ID token nonce differs from the one sent
	CodeUserinfoFailed      = "userinfo_failed"       // userinfo endpoint failed or answered garbage
	CodeUserinfoSubMismatch = "userinfo_sub_mismatch" // userinfo sub differs from the ID token's
	CodeTenantNotAllowed    = "tenant_not_allowed"    // Microsoft tenant outside the allow-list
	CodeInvalidToken        = "invalid_token"         // UserInfo: the access token was refused by the IdP
	CodeIdPError            = "idp_error"             // the IdP answered the authorization request with an error
	CodeInvalidRequest      = "invalid_request"       // the callback is malformed (neither code nor error)
)

// Error is a failed provider step with a stable code. Its message never contains a token or secret.
type Error struct {
	Code string
	Err  error
	// Detail is an optional short text that is safe to show the user, such as the IdP's error code.
	Detail string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Code, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted cause.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// ErrorCode returns the stable code of err, or "" if err is not a provider error.
func ErrorCode(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
