// Package providers turns an identity provider (Microsoft Entra ID, Salesforce, Google, any OIDC or OAuth2
// server) into one small interface: build the authorization URL, and turn the IdP's callback into an Identity.
// Providers know nothing of Fuyun, cookies or HTTP handlers: the bridge owns state and sessions.
package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Provider is one configured identity provider.
type Provider interface {
	// ID is the URL segment of /login/{id} and /callback/{id}.
	ID() string
	// Type is the preset name: microsoft, salesforce, google, oidc or oauth2.
	Type() string
	// DisplayName is the label of the sign-in button.
	DisplayName() string
	// AuthCodeURL returns the IdP's authorization URL for one login (state, nonce, PKCE S256, login_hint).
	// It may load the discovery document on first use.
	AuthCodeURL(ctx context.Context, a AuthRequest) (string, error)
	// Callback finishes a login: checks the RFC 9207 iss parameter, redeems the code with the PKCE verifier,
	// verifies the ID token (signature, iss, aud, azp, exp, iat, nonce), fetches userinfo and checks that its
	// sub equals the ID token's.
	Callback(ctx context.Context, c CallbackRequest) (*Identity, error)
	// UserInfo reads the userinfo endpoint with a third-party access token that a CRM backend already holds
	// (no ID token involved); used by POST /api/v1/token.
	UserInfo(ctx context.Context, accessToken string) (*Identity, error)
	// Ready loads (or confirms loaded) the discovery document and signing keys; nil means usable.
	Ready(ctx context.Context) error
}

// AuthRequest carries the per-login secrets that the bridge generated and keeps in its state cookie.
type AuthRequest struct {
	State        string
	Nonce        string
	CodeVerifier string // the provider sends its S256 challenge
	LoginHint    string // optional, passed through as login_hint
}

// CallbackRequest is what the bridge read from the callback query and its state cookie.
type CallbackRequest struct {
	Code         string
	Iss          string // the authorization response's iss parameter; "" when absent
	CodeVerifier string
	Nonce        string
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

// Config is one entry of `providers:` in the bridge's YAML. Secrets arrive resolved:
// the config package reads client_secret_file into ClientSecret.
type Config struct {
	ID               string   `yaml:"id"`
	Type             string   `yaml:"type"`
	DisplayName      string   `yaml:"display_name"`
	ClientID         string   `yaml:"client_id"`
	ClientSecret     string   `yaml:"client_secret"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	Scopes           []string `yaml:"scopes"`
	// oidc (and an override for presets, e.g. sovereign clouds): the issuer to discover.
	Issuer string `yaml:"issuer"`
	// oauth2 (no discovery); UserinfoURL also overrides a preset's userinfo endpoint.
	AuthURL     string `yaml:"auth_url"`
	TokenURL    string `yaml:"token_url"`
	UserinfoURL string `yaml:"userinfo_url"`
	// microsoft: tenant id, domain, organizations or common; AllowedTenants limits multi-tenant sign-in.
	Tenant         string   `yaml:"tenant"`
	AllowedTenants []string `yaml:"allowed_tenants"`
	// salesforce: login.salesforce.com, test.salesforce.com or <mydomain>.my.salesforce.com.
	Domain string `yaml:"domain"`

	// RedirectURL is {public_url}/callback/{id}; set by the bridge, not read from YAML.
	RedirectURL string `yaml:"-"`
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
)

// Error is a failed provider step with a stable code. Its message never contains a token or secret.
type Error struct {
	Code string
	Err  error
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
