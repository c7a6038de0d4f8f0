package providers

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// signingAlgs are the only ID token algorithms accepted: asymmetric ones. "none" and HMAC are never
// accepted, so a token "signed" with the IdP's public key as an HMAC secret fails to parse.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512,
}

// oidcSpec is what a preset supplies to the generic OpenID Connect flow: data first, code only for the
// IdP's real quirks.
type oidcSpec struct {
	// discoveryBase is the URL that /.well-known/openid-configuration is appended to.
	discoveryBase string
	// acceptIssuer checks the discovery document's issuer and returns the issuer that ID tokens must
	// carry; "" means the issuer differs per token (Microsoft multi-tenant) and checkToken verifies it.
	acceptIssuer func(discovered string) (string, error)
	// checkToken runs after the generic checks on a verified token (tenant rules); may be nil.
	checkToken func(claims map[string]any, iss string) error
	// normalise rewrites the merged claims (e.g. email_verified); may be nil.
	normalise func(claims map[string]any)
	// defaultUserinfo is used when neither userinfo_url nor discovery names a userinfo endpoint.
	defaultUserinfo string
	// userinfoUnpinned is Identity.Unpinned for UserInfo (userinfo alone, no ID token): "" when userinfo
	// proves the organisation as well as the ID token does.
	userinfoUnpinned string
}

// exactIssuer accepts a discovery document whose issuer is exactly want (OIDC Discovery §4.3).
func exactIssuer(want string) func(string) (string, error) {
	return func(got string) (string, error) {
		if got != want {
			return "", fmt.Errorf("discovery document issuer %q differs from the configured issuer %q", got, want)
		}
		return got, nil
	}
}

// oidcProvider implements Provider for any OpenID Connect IdP; presets configure it with an oidcSpec.
type oidcProvider struct {
	base
	client Client
	uopts  UserinfoOptions
	spec   oidcSpec
	disc   lazy[discovered]
}

// Userinfo modes (UserinfoOptions.Userinfo).
const (
	// UserinfoAuto fetches userinfo only when the verified ID token lacks a claim the login needs.
	UserinfoAuto = "auto"
	// UserinfoAlways fetches userinfo on every login (its claims overlay the ID token's).
	UserinfoAlways = "always"
	// UserinfoNever relies on the ID token alone.
	UserinfoNever = "never"
)

// UserinfoOptions are the OpenID Connect presets' userinfo keys.
type UserinfoOptions struct {
	// UserinfoURL overrides discovery's userinfo_endpoint (and a preset's default).
	UserinfoURL string `yaml:"userinfo_url"`
	// Userinfo is auto (default), always or never: when a login calls the userinfo endpoint. With auto, a login
	// whose ID token carries every claim the mapping needs (field, its verification, require_claims) saves the
	// round trip.
	Userinfo string `yaml:"userinfo"`
}

func (u *UserinfoOptions) defaults() {
	if u.Userinfo == "" {
		u.Userinfo = UserinfoAuto
	}
}

func (u *UserinfoOptions) validate() []FieldError {
	errs := endpointErrors([2]string{"userinfo_url", u.UserinfoURL})
	switch u.Userinfo {
	case "", UserinfoAuto, UserinfoAlways, UserinfoNever:
	default:
		errs = append(errs, FieldError{"userinfo", fmt.Sprintf("%q: want auto, always or never", u.Userinfo)})
	}
	return errs
}

// discovered is everything loaded from the IdP before a login can be served.
type discovered struct {
	issuer           string // "" when per token
	oauth            *oauth2.Config
	verifier         *oidc.IDTokenVerifier
	keyCount         int // keys in the JWKS when discovery loaded
	userinfo         string
	issParamRequired bool
}

// discoveryDoc is the subset of the discovery document used here.
type discoveryDoc struct {
	oidc.ProviderConfig
	IssParamSupported bool     `json:"authorization_response_iss_parameter_supported"`
	AuthMethods       []string `json:"token_endpoint_auth_methods_supported"`
}

func newOIDCProvider(c Common, client Client, uopts UserinfoOptions, opts Options, spec oidcSpec) *oidcProvider {
	uopts.defaults()
	p := &oidcProvider{base: newBase(c, opts), client: client, uopts: uopts, spec: spec}
	p.disc = lazy[discovered]{load: p.load, now: p.rt.now}
	return p
}

// oidcPreset is the generic `oidc` type: any IdP with discovery at its issuer.
var oidcPreset = Preset{
	Name:         "OpenID Connect",
	NewConfig:    func() PresetConfig { return &OIDCConfig{} },
	MappingField: "email",
	Icon:         iconOIDC,
	Example: `- id: corp
  type: oidc
  issuer: https://idp.example.com        # discovery: {issuer}/.well-known/openid-configuration
  client_id: fuyun-bridge
  client_secret_file: /run/secrets/idp-client-secret
  # client_secret: …                     # the value itself instead of the file (prefer the file)
  # scopes: [openid, profile, email]     # the default
  # userinfo: auto                        # auto (default): only when the ID token lacks a claim the mapping needs; always; never
  # userinfo_url: …                       # overrides the discovered userinfo endpoint`,
}

// OIDCConfig is the `oidc` type's configuration.
type OIDCConfig struct {
	Client          `yaml:",inline"`
	UserinfoOptions `yaml:",inline"`
	Issuer          string `yaml:"issuer"`
}

var defaultOIDCScopes = []string{"openid", "profile", "email"}

func (c *OIDCConfig) ApplyDefaults() {
	c.Client.defaults(defaultOIDCScopes)
	c.UserinfoOptions.defaults()
}

func (c *OIDCConfig) Validate() []FieldError {
	errs := c.Client.validate(true)
	if c.Issuer == "" {
		errs = append(errs, FieldError{"issuer", "required for type oidc: the issuer whose discovery document to load"})
	} else if err := CheckEndpointURL("issuer", c.Issuer, true); err != nil {
		errs = append(errs, FieldError{"issuer", err.Error()})
	}
	return append(errs, c.UserinfoOptions.validate()...)
}

func (c *OIDCConfig) Build(common Common, opts Options) (Provider, error) {
	return newOIDCProvider(common, c.Client, c.UserinfoOptions, opts, oidcSpec{
		discoveryBase: c.Issuer,
		acceptIssuer:  exactIssuer(c.Issuer),
	}), nil
}

// load fetches discovery and the JWKS once; go-oidc's RemoteKeySet then refetches keys on an unknown kid.
func (p *oidcProvider) load(ctx context.Context) (*discovered, error) {
	d, err := p.loadOnce(ctx)
	if err != nil {
		p.rt.log.Warn("identity provider discovery failed", "error", err)
		return nil, &Error{Code: CodeIdPUnavailable, Err: err}
	}
	p.rt.log.Info("identity provider discovered", "issuer", d.issuer, "userinfo", d.userinfo != "")
	return d, nil
}

func (p *oidcProvider) loadOnce(ctx context.Context) (*discovered, error) {
	wellKnown := strings.TrimSuffix(p.spec.discoveryBase, "/") + "/.well-known/openid-configuration"
	res, err := get(WithStage(ctx, StageDiscovery), p.rt.client, wellKnown, "")
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if res.status != 200 {
		return nil, fmt.Errorf("discovery %s answered %d", wellKnown, res.status)
	}
	var doc discoveryDoc
	if err := json.Unmarshal(res.body, &doc); err != nil {
		return nil, fmt.Errorf("discovery %s: not a discovery document: %w", wellKnown, err)
	}
	issuer, err := p.spec.acceptIssuer(doc.IssuerURL)
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(p.spec.discoveryBase)
	if err != nil {
		return nil, fmt.Errorf("issuer %q is not a URL", p.spec.discoveryBase)
	}
	discoveredURLs := map[string]string{"authorization_endpoint": doc.AuthURL, "token_endpoint": doc.TokenURL, "jwks_uri": doc.JWKSURL}
	userinfo := firstNonEmpty(p.uopts.UserinfoURL, doc.UserInfoURL, p.spec.defaultUserinfo)
	if p.uopts.UserinfoURL == "" && doc.UserInfoURL != "" {
		discoveredURLs["userinfo_endpoint"] = doc.UserInfoURL
	} else if userinfo != "" { // configured or the preset's: not the discovery document's to choose
		if err := CheckEndpointURL("userinfo endpoint", userinfo, false); err != nil {
			return nil, err
		}
	}
	for field, u := range discoveredURLs {
		if err := checkDiscoveredURL("discovery "+field, u, base); err != nil {
			return nil, err
		}
	}
	// Fetch the keys now so that Ready means "can verify", not just "has endpoints".
	keys, err := get(WithStage(ctx, StageJWKS), p.rt.client, doc.JWKSURL, "")
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	var set jose.JSONWebKeySet
	if keys.status != 200 {
		return nil, fmt.Errorf("jwks %s answered %d", doc.JWKSURL, keys.status)
	}
	if err := json.Unmarshal(keys.body, &set); err != nil || len(set.Keys) == 0 {
		return nil, fmt.Errorf("jwks %s holds no usable key", doc.JWKSURL)
	}

	// The keys just fetched verify the first login too; an unknown kid refetches them, rate-limited.
	keySet := newKeySet(doc.JWKSURL, stagedClient(p.rt.client, StageJWKS), p.rt.now, set.Keys, signingAlgs)
	verifier := oidc.NewVerifier(issuer, keySet, &oidc.Config{
		SupportedSigningAlgs: signingAlgs,
		SkipClientIDCheck:    true, // checked below with aud and azp, with a precise message
		SkipIssuerCheck:      issuer == "",
		Now:                  p.rt.now,
	})
	return &discovered{
		issuer: issuer,
		oauth: &oauth2.Config{
			ClientID:     p.client.ClientID,
			ClientSecret: p.client.ClientSecret,
			RedirectURL:  p.c.RedirectURL,
			Scopes:       p.client.Scopes,
			Endpoint:     oauth2.Endpoint{AuthURL: doc.AuthURL, TokenURL: doc.TokenURL, AuthStyle: authStyle(doc.AuthMethods)},
		},
		verifier:         verifier,
		keyCount:         len(set.Keys),
		userinfo:         userinfo,
		issParamRequired: doc.IssParamSupported,
	}, nil
}

// authStyle picks client authentication from the advertised methods; OIDC Discovery's default when
// none are advertised is client_secret_basic.
func authStyle(methods []string) oauth2.AuthStyle {
	switch {
	case len(methods) == 0 || slices.Contains(methods, "client_secret_basic"):
		return oauth2.AuthStyleInHeader
	case slices.Contains(methods, "client_secret_post"):
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleAutoDetect
}

// Warm loads discovery (the first time) and opens a connection to each host a login calls: the token
// endpoint, userinfo and the JWKS.
func (p *oidcProvider) Warm(ctx context.Context) error {
	d, err := p.disc.get(ctx)
	if err != nil {
		return err
	}
	return warmOrigins(ctx, p.rt.client, d.oauth.Endpoint.TokenURL, d.userinfo, p.spec.discoveryBase)
}

// DiscoveryURL is the base the discovery document is loaded from.
func (p *oidcProvider) DiscoveryURL() string { return p.spec.discoveryBase }

// Ready loads discovery and keys; nil means logins can be served.
func (p *oidcProvider) Ready(ctx context.Context) error {
	_, err := p.disc.get(ctx)
	return err
}

// KeyCount returns the number of keys in the IdP's JWKS as loaded with discovery.
func (p *oidcProvider) KeyCount(ctx context.Context) (int, error) {
	d, err := p.disc.get(ctx)
	if err != nil {
		return 0, err
	}
	return d.keyCount, nil
}

// AuthCodeURL builds the authorization URL with state, nonce, PKCE S256 and an optional login_hint.
func (p *oidcProvider) AuthCodeURL(ctx context.Context, a AuthRequest) (string, error) {
	if err := p.checkAuthRequest(a, true); err != nil {
		return "", err
	}
	d, err := p.disc.get(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.CodeVerifier)}
	if a.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", a.LoginHint))
	}
	return d.oauth.AuthCodeURL(a.State, opts...), nil
}

// Callback checks the iss parameter, redeems the code, verifies the ID token and merges userinfo.
func (p *oidcProvider) Callback(ctx context.Context, c CallbackRequest) (*Identity, error) {
	code, err := AuthorizationResponse(c.Query, "code")
	if err != nil {
		return nil, err
	}
	iss := c.Query.Get("iss")
	d, err := p.disc.get(ctx)
	if err != nil {
		return nil, err
	}
	// RFC 9207: compare before redeeming the code, so a mixed-up response never reaches our token endpoint.
	if d.issuer != "" {
		if err := checkIssParam(iss, d.issuer, d.issParamRequired); err != nil {
			return nil, err
		}
	} else if iss == "" && d.issParamRequired {
		return nil, Errorf(CodeIssuerMismatch, "authorization response has no iss parameter but the IdP advertises it")
	}
	if c.Nonce == "" {
		return nil, Errorf(CodeNonceMismatch, "login state holds no nonce")
	}
	tok, err := redeem(ctx, p.rt, d.oauth, code, c.CodeVerifier)
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, Errorf(CodeIDTokenMissing, "token response has no id_token (is the openid scope granted?)")
	}
	idt, claims, err := p.verify(ctx, d, raw, c.Nonce, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if d.issuer == "" && iss != "" && iss != idt.Issuer {
		return nil, Errorf(CodeIssuerMismatch, "authorization response iss %q differs from the id_token issuer %q", iss, idt.Issuer)
	}
	if c.AccessTokenReady != nil {
		c.AccessTokenReady(tok.AccessToken)
	}
	if p.spec.normalise != nil {
		p.spec.normalise(claims)
	}
	if d.userinfo != "" && p.needUserinfo(c, claims) {
		uc, err := fetchUserinfo(ctx, p.rt.client, d.userinfo, tok.AccessToken)
		if err != nil {
			if ErrorCode(err) == CodeInvalidToken {
				// Just issued by the IdP: a refusal here is the IdP failing, not a bad caller token.
				err = Errorf(CodeUserinfoFailed, "userinfo endpoint refused the access token just issued (401)")
			}
			return nil, err
		}
		sub, _ := uc["sub"].(string)
		if sub != idt.Subject {
			return nil, Errorf(CodeUserinfoSubMismatch, "userinfo sub %q differs from id_token sub %q", sub, idt.Subject)
		}
		for k, v := range uc {
			claims[k] = v
		}
	}
	if p.spec.normalise != nil {
		p.spec.normalise(claims)
	}
	return &Identity{Provider: p.c.ID, Issuer: idt.Issuer, Subject: idt.Subject, Claims: claims, AccessToken: tok.AccessToken}, nil
}

// needUserinfo decides whether a login calls userinfo: always, never, or (auto) when the ID token's claims
// do not hold everything the login needs.
func (p *oidcProvider) needUserinfo(c CallbackRequest, idTokenClaims map[string]any) bool {
	switch p.uopts.Userinfo {
	case UserinfoNever:
		return false
	case UserinfoAuto:
		return c.ClaimsSuffice == nil || !c.ClaimsSuffice(idTokenClaims)
	}
	return true
}

// checkIssParam applies RFC 9207 §2.4 against a known issuer.
func checkIssParam(got, want string, required bool) error {
	switch {
	case got == "" && required:
		return Errorf(CodeIssuerMismatch, "authorization response has no iss parameter but the IdP advertises it")
	case got != "" && got != want:
		return Errorf(CodeIssuerMismatch, "authorization response iss %q differs from issuer %q", got, want)
	}
	return nil
}

// redeem exchanges the code with the PKCE verifier. The IdP's raw error body is left out of the
// message: it may echo the code.
func redeem(ctx context.Context, rt runtime, conf *oauth2.Config, code, verifier string) (*oauth2.Token, error) {
	if verifier == "" {
		return nil, Errorf(CodeTokenFailed, "login state holds no PKCE code verifier")
	}
	cctx, cancel := withTimeout(WithStage(ctx, StageToken), rt.client)
	defer cancel()
	tok, err := conf.Exchange(cctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			status := 0
			if re.Response != nil {
				status = re.Response.StatusCode
			}
			return nil, Errorf(CodeTokenFailed, "token endpoint answered %d error=%q description=%q", status, re.ErrorCode, re.ErrorDescription)
		}
		return nil, Errorf(CodeTokenFailed, "token request: %w", err)
	}
	return tok, nil
}

// verify checks the ID token: signature and alg, iss and exp (go-oidc), then aud, azp, iat, nonce,
// at_hash and the preset's own rules.
func (p *oidcProvider) verify(ctx context.Context, d *discovered, raw, nonce, accessToken string) (*oidc.IDToken, map[string]any, error) {
	vctx, cancel := withTimeout(ctx, p.rt.client)
	defer cancel()
	idt, err := d.verifier.Verify(vctx, raw)
	if err != nil {
		return nil, nil, Errorf(CodeIDTokenInvalid, "id_token: %w", err)
	}
	if !slices.Contains(idt.Audience, p.client.ClientID) {
		return nil, nil, Errorf(CodeIDTokenInvalid, "id_token audience %q does not contain client_id %q", idt.Audience, p.client.ClientID)
	}
	var payload json.RawMessage
	if err := idt.Claims(&payload); err != nil {
		return nil, nil, Errorf(CodeIDTokenInvalid, "id_token claims: %w", err)
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, nil, Errorf(CodeIDTokenInvalid, "id_token claims: %w", err)
	}
	azp, hasAzp := claims["azp"].(string)
	if len(idt.Audience) > 1 && !hasAzp {
		return nil, nil, Errorf(CodeIDTokenInvalid, "id_token has several audiences %q but no azp", idt.Audience)
	}
	if (hasAzp || claims["azp"] != nil) && azp != p.client.ClientID {
		return nil, nil, Errorf(CodeIDTokenInvalid, "id_token azp %q is not client_id %q", azp, p.client.ClientID)
	}
	now := p.rt.now()
	if idt.IssuedAt.IsZero() {
		return nil, nil, Errorf(CodeIDTokenInvalid, "id_token has no iat")
	}
	if idt.IssuedAt.After(now.Add(ClockSkew)) {
		return nil, nil, Errorf(CodeIDTokenInvalid, "id_token iat %s is in the future (now %s)", idt.IssuedAt.UTC().Format("2006-01-02T15:04:05Z"), now.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, nil, Errorf(CodeNonceMismatch, "id_token nonce differs from the one sent")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, nil, Errorf(CodeIDTokenInvalid, "id_token at_hash does not match the access token")
		}
	}
	if idt.Subject == "" {
		return nil, nil, Errorf(CodeIDTokenInvalid, "id_token has no sub")
	}
	if p.spec.checkToken != nil {
		if err := p.spec.checkToken(claims, idt.Issuer); err != nil {
			return nil, nil, err
		}
	}
	return idt, claims, nil
}

// UserInfo reads userinfo with an access token that a CRM backend already holds.
func (p *oidcProvider) UserInfo(ctx context.Context, accessToken string) (*Identity, error) {
	if accessToken == "" {
		return nil, Errorf(CodeInvalidToken, "access token is empty")
	}
	d, err := p.disc.get(ctx)
	if err != nil {
		return nil, err
	}
	if d.userinfo == "" {
		return nil, Errorf(CodeUserinfoFailed, "provider %s has no userinfo endpoint (set userinfo_url)", p.c.ID)
	}
	claims, err := fetchUserinfo(ctx, p.rt.client, d.userinfo, accessToken)
	if err != nil {
		return nil, err
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, Errorf(CodeUserinfoFailed, "userinfo has no sub")
	}
	if p.spec.normalise != nil {
		p.spec.normalise(claims)
	}
	return &Identity{Provider: p.c.ID, Issuer: d.issuer, Subject: sub, Claims: claims, AccessToken: accessToken,
		Unpinned: p.spec.userinfoUnpinned}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
