package providers

import (
	"context"
	"encoding/json"
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
	conf        *oauth2.Config
	userinfoURL string
}

// oauth2Preset is the `oauth2` type: auth_url, token_url and userinfo_url, no discovery.
var oauth2Preset = Preset{
	Name:         "OAuth 2.0",
	NewConfig:    func() PresetConfig { return &OAuth2Config{} },
	MappingField: "email",
	Icon:         iconOAuth2,
	Example: `- id: legacy
  type: oauth2
  auth_url: https://idp.example.com/oauth/authorize
  token_url: https://idp.example.com/oauth/token
  userinfo_url: https://idp.example.com/api/me
  client_id: fuyun-bridge
  client_secret_file: /run/secrets/idp-client-secret
  # client_secret: …                     # the value itself instead of the file (prefer the file)
  scopes: [profile]`,
}

// OAuth2Config is the `oauth2` type's configuration.
type OAuth2Config struct {
	Client      `yaml:",inline"`
	AuthURL     string `yaml:"auth_url"`
	TokenURL    string `yaml:"token_url"`
	UserinfoURL string `yaml:"userinfo_url"`
}

func (c *OAuth2Config) ApplyDefaults() {}

func (c *OAuth2Config) Validate() []FieldError {
	errs := c.Client.validate(false)
	for _, f := range [][2]string{{"auth_url", c.AuthURL}, {"token_url", c.TokenURL}, {"userinfo_url", c.UserinfoURL}} {
		if f[1] == "" {
			errs = append(errs, FieldError{f[0], "required for type oauth2"})
		}
	}
	return append(errs, endpointErrors([2]string{"auth_url", c.AuthURL}, [2]string{"token_url", c.TokenURL}, [2]string{"userinfo_url", c.UserinfoURL})...)
}

func (c *OAuth2Config) Build(common Common, opts Options) (Provider, error) {
	return &oauth2Provider{
		base: newBase(common, opts),
		conf: &oauth2.Config{
			ClientID:     c.ClientID,
			ClientSecret: c.ClientSecret,
			RedirectURL:  common.RedirectURL,
			Scopes:       c.Scopes,
			Endpoint:     oauth2.Endpoint{AuthURL: c.AuthURL, TokenURL: c.TokenURL},
		},
		userinfoURL: c.UserinfoURL,
	}, nil
}

// AuthCodeURL builds the authorization URL with state, PKCE S256 and an optional login_hint.
func (p *oauth2Provider) AuthCodeURL(_ context.Context, a AuthRequest) (string, error) {
	if err := p.checkAuthRequest(a, false); err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.CodeVerifier)}
	if a.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", a.LoginHint))
	}
	return p.conf.AuthCodeURL(a.State, opts...), nil
}

// Callback redeems the code and reads userinfo; there is no issuer to compare an iss parameter with.
func (p *oauth2Provider) Callback(ctx context.Context, c CallbackRequest) (*Identity, error) {
	code, err := AuthorizationResponse(c.Query, "code")
	if err != nil {
		return nil, err
	}
	tok, err := redeem(ctx, p.rt, p.conf, code, c.CodeVerifier)
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
	claims, err := fetchUserinfo(ctx, p.rt.client, p.userinfoURL, accessToken)
	if err != nil {
		return nil, err
	}
	sub, err := oauth2Subject(claims)
	if err != nil {
		return nil, err
	}
	return &Identity{Provider: p.c.ID, Subject: sub, Claims: claims, AccessToken: accessToken}, nil
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

// Warm opens a connection to the token and userinfo hosts.
func (p *oauth2Provider) Warm(ctx context.Context) error {
	return warmOrigins(ctx, p.rt.client, p.conf.Endpoint.TokenURL, p.userinfoURL)
}
