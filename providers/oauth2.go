package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"golang.org/x/oauth2"
)

// oauth2SubjectFields are tried in order for the subject of a plain OAuth2 userinfo: OIDC's sub, then
// the `id` or `user_id` most OAuth2 APIs (GitHub, Feishu, …) return.
var oauth2SubjectFields = []string{"sub", "id", "user_id"}

var integerPattern = regexp.MustCompile(`^-?[0-9]+$`)

// oauth2Provider is a plain OAuth2 IdP: explicit endpoints, PKCE, no ID token, identity from userinfo.
type oauth2Provider struct {
	base
	conf *oauth2.Config
}

// newOAuth2 builds the `oauth2` type from auth_url, token_url and userinfo_url.
func newOAuth2(cfg Config, opts Options) (Provider, error) {
	if err := refuseFields(cfg, "issuer", "tenant", "allowed_tenants", "domain"); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, val string }{{"auth_url", cfg.AuthURL}, {"token_url", cfg.TokenURL}, {"userinfo_url", cfg.UserinfoURL}} {
		if err := CheckEndpointURL(f.name, f.val, false); err != nil {
			return nil, err
		}
	}
	return &oauth2Provider{
		base: base{cfg: cfg, rt: newRuntime(cfg, opts)},
		conf: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       cfg.Scopes,
			Endpoint:     oauth2.Endpoint{AuthURL: cfg.AuthURL, TokenURL: cfg.TokenURL},
		},
	}, nil
}

// Ready is always nil: a plain OAuth2 provider has nothing to discover.
func (p *oauth2Provider) Ready(context.Context) error { return nil }

// AuthCodeURL builds the authorization URL with state, PKCE S256 and an optional login_hint.
func (p *oauth2Provider) AuthCodeURL(_ context.Context, a AuthRequest) (string, error) {
	if err := checkAuthRequest(p.cfg, a, false); err != nil {
		return "", fmt.Errorf("provider %s: %w", p.cfg.ID, err)
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.CodeVerifier)}
	if a.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", a.LoginHint))
	}
	return p.conf.AuthCodeURL(a.State, opts...), nil
}

// Callback redeems the code and reads userinfo; there is no issuer to compare an iss parameter with.
func (p *oauth2Provider) Callback(ctx context.Context, c CallbackRequest) (*Identity, error) {
	if c.Code == "" {
		return nil, Errorf(CodeTokenFailed, "authorization response has no code")
	}
	tok, err := redeem(ctx, p.rt, p.conf, c)
	if err != nil {
		return nil, err
	}
	id, err := p.UserInfo(ctx, tok.AccessToken)
	if err != nil && ErrorCode(err) == CodeInvalidToken {
		err = Errorf(CodeUserinfoFailed, "userinfo endpoint refused the access token just issued (401)")
	}
	return id, err
}

// UserInfo reads userinfo and takes the subject from sub, id or user_id (string or integer).
func (p *oauth2Provider) UserInfo(ctx context.Context, accessToken string) (*Identity, error) {
	if accessToken == "" {
		return nil, Errorf(CodeInvalidToken, "access token is empty")
	}
	claims, err := fetchUserinfo(ctx, p.rt.client, p.cfg.UserinfoURL, accessToken)
	if err != nil {
		return nil, err
	}
	sub, err := oauth2Subject(claims)
	if err != nil {
		return nil, err
	}
	return &Identity{Provider: p.cfg.ID, Subject: sub, Claims: claims, AccessToken: accessToken}, nil
}

// oauth2Subject reads the first subject field present; numbers keep their exact decimal text.
func oauth2Subject(claims map[string]any) (string, error) {
	for _, f := range oauth2SubjectFields {
		switch v := claims[f].(type) {
		case nil: // absent or null
			continue
		case string:
			if v == "" {
				return "", Errorf(CodeUserinfoFailed, "userinfo %s is empty", f)
			}
			return v, nil
		case json.Number:
			if integerPattern.MatchString(string(v)) {
				return string(v), nil
			}
		}
		return "", Errorf(CodeUserinfoFailed, "userinfo %s is neither a string nor an integer", f)
	}
	return "", Errorf(CodeUserinfoFailed, "userinfo has none of %v to identify the user", oauth2SubjectFields)
}
