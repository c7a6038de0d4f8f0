package providers

// GoogleIssuer is Google's OpenID Connect issuer; `issuer` overrides it only for tests.
const GoogleIssuer = "https://accounts.google.com"

// newGoogle builds the Google preset: plain OIDC. Google sends email_verified as a boolean and it is
// honoured; the Workspace domain claim `hd` stays in Claims for the mapping's domain rules.
func newGoogle(cfg Config, opts Options) (Provider, error) {
	if err := refuseFields(cfg, "auth_url", "token_url", "tenant", "allowed_tenants", "domain"); err != nil {
		return nil, err
	}
	issuer := GoogleIssuer
	if cfg.Issuer != "" {
		if err := CheckEndpointURL("issuer", cfg.Issuer, true); err != nil {
			return nil, err
		}
		issuer = cfg.Issuer
	}
	return newOIDCProvider(cfg, opts, oidcSpec{discoveryBase: issuer, acceptIssuer: exactIssuer(issuer)})
}
