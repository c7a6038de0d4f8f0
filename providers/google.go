package providers

import "slices"

// GoogleIssuer is Google's OpenID Connect issuer; `issuer` overrides it only for tests.
const GoogleIssuer = "https://accounts.google.com"

// googlePreset is Google: plain OIDC. Google sends email_verified as a boolean and it is honoured; the
// Workspace domain claim `hd` stays in Claims for the mapping's domain rules.
var googlePreset = Preset{
	Name:         "Google",
	NewConfig:    func() PresetConfig { return &GoogleConfig{} },
	MappingField: "email",
	Icon:         iconGoogle,
	Example: `- id: google
  type: google
  client_id: <OAuth client id>.apps.googleusercontent.com
  client_secret_file: /run/secrets/google-client-secret
  mapping:
    allowed_domains: [corp.example.com]   # or require_claims on hd: any Google account can sign in otherwise`,
}

// GoogleConfig is the `google` type's configuration.
type GoogleConfig struct {
	Client          `yaml:",inline"`
	Issuer          string `yaml:"issuer"`
	UserinfoOptions `yaml:",inline"`
}

func (c *GoogleConfig) ApplyDefaults() {
	c.Client.defaults([]string{"openid", "email", "profile"})
	c.UserinfoOptions.defaults()
}

func (c *GoogleConfig) Validate() []FieldError {
	errs := c.Client.validate(true)
	if c.Issuer != "" {
		if err := CheckEndpointURL("issuer", c.Issuer, true); err != nil {
			errs = append(errs, FieldError{"issuer", err.Error()})
		}
	}
	return append(errs, c.UserinfoOptions.validate()...)
}

// GuardMapping warns when nothing pins the Workspace domain: every Gmail account is a Google account.
func (c *GoogleConfig) GuardMapping(m MappingView) (errs, warnings []FieldError) {
	if m.AccountsFile || len(m.AllowedDomains) > 0 || slices.Contains(m.RequireClaims, "hd") {
		return nil, nil
	}
	return nil, []FieldError{{"mapping.allowed_domains", "neither allowed_domains nor require_claims on hd: any Google account, Gmail included, can sign in; pin your Workspace domain"}}
}

func (c *GoogleConfig) Build(common Common, opts Options) (Provider, error) {
	issuer := GoogleIssuer
	if c.Issuer != "" {
		issuer = c.Issuer
	}
	return newOIDCProvider(common, c.Client, c.UserinfoOptions, opts, oidcSpec{discoveryBase: issuer, acceptIssuer: exactIssuer(issuer)}), nil
}
