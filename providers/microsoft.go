package providers

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Microsoft Entra ID (v2.0 endpoints) preset data.
const (
	// MicrosoftLoginBase is the public cloud's login host; `issuer` overrides it for sovereign clouds.
	MicrosoftLoginBase = "https://login.microsoftonline.com"
	// MicrosoftUserinfo is the userinfo endpoint Entra ID documents (hosted by Microsoft Graph).
	MicrosoftUserinfo = "https://graph.microsoft.com/oidc/userinfo"
	// MicrosoftConsumerTenant is the tenant id of personal Microsoft accounts (MSA).
	MicrosoftConsumerTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
	// microsoftTenantPlaceholder is what Entra's multi-tenant discovery documents put in their issuer.
	microsoftTenantPlaceholder = "{tenantid}"
)

var (
	guidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// microsoft is one Entra ID configuration resolved from MicrosoftConfig.
type microsoft struct {
	loginBase string   // scheme://host of the login service, no trailing slash
	tenant    string   // as configured: GUID, domain, organizations or common
	multi     bool     // organizations or common: the issuer is per token
	allowed   []string // lower-case tenant GUIDs; empty = any work or school tenant
}

// microsoftPreset is Microsoft Entra ID (v2.0 endpoints).
var microsoftPreset = Preset{
	Name:         "Microsoft Entra ID",
	NewConfig:    func() PresetConfig { return &MicrosoftConfig{} },
	MappingField: "email",
	Fallbacks:    []string{"preferred_username", "upn"},
	Icon:         iconMicrosoft,
	Example: `- id: entra
  type: microsoft
  tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47   # tenant id, a verified domain, organizations or common
  # allowed_tenants: [<tenant id>, …]           # with organizations/common: who may sign in
  client_id: <application (client) id>
  client_secret_file: /run/secrets/entra-client-secret`,
}

// MicrosoftConfig is the `microsoft` type's configuration.
type MicrosoftConfig struct {
	Client `yaml:",inline"`
	// Tenant is a tenant id, a verified domain, organizations or common.
	Tenant string `yaml:"tenant"`
	// AllowedTenants limits multi-tenant sign-in to these tenant ids.
	AllowedTenants []string `yaml:"allowed_tenants"`
	// Issuer overrides the login host (sovereign clouds; tests).
	Issuer          string `yaml:"issuer"`
	UserinfoOptions `yaml:",inline"`
}

func (c *MicrosoftConfig) ApplyDefaults() {
	c.Client.defaults(defaultOIDCScopes)
	c.UserinfoOptions.defaults()
}

func (c *MicrosoftConfig) Validate() []FieldError {
	errs := c.Client.validate(true)
	errs = append(errs, c.UserinfoOptions.validate()...)
	if _, err := c.resolve(); err != nil {
		errs = append(errs, *err)
	}
	return errs
}

// GuardMapping refuses a provider open to every Entra tenant whose mapping admits whoever arrives. Entra's
// email is guarded (xms_edov), but preferred_username and upn — the preset's fallbacks, or a chosen field —
// carry no verification: an admin of any tenant can create alice@their-tenant.onmicrosoft.com, and
// strip_domain would map that to the agent "alice". Something must pin who may sign in.
func (c *MicrosoftConfig) GuardMapping(m MappingView) (errs, warnings []FieldError) {
	t := strings.ToLower(strings.TrimSpace(c.Tenant))
	if (t != "organizations" && t != "common") || len(c.AllowedTenants) > 0 {
		return nil, nil
	}
	if len(m.AllowedDomains) > 0 || m.AccountsFile || len(m.RequireClaims) > 0 {
		return nil, nil
	}
	return []FieldError{{"allowed_tenants", fmt.Sprintf("tenant %s admits every Entra tenant: set allowed_tenants, or pin the mapping with allowed_domains, accounts_file or require_claims (tid); otherwise another tenant's user could map to one of your agents", c.Tenant)}}, nil
}

// Build makes the Entra ID provider.
//
// Account-takeover guard ("nOAuth"): Entra's `email` claim is mutable and unverified; any tenant's
// admin can give a user any email address, so in a multi-tenant app a user of tenant B can present the
// email of tenant A's agent. Entra's email_verified (when present) is not trusted: Claims["email_verified"]
// is true only when the token carries the optional claim `xms_edov` (email domain owner verified) as
// true, else false. With mapping.require_verified (the default) an unverified email is then refused;
// map on `oid`/`sub` or enable the xms_edov optional claim in the app registration.
func (c *MicrosoftConfig) Build(common Common, opts Options) (Provider, error) {
	ms, ferr := c.resolve()
	if ferr != nil {
		return nil, ferr
	}
	issuerTmpl := ms.loginBase + "/" + ms.tenant + "/v2.0"
	return newOIDCProvider(common, c.Client, c.UserinfoOptions, opts, oidcSpec{
		discoveryBase:   issuerTmpl,
		acceptIssuer:    ms.acceptIssuer,
		checkToken:      ms.checkToken,
		normalise:       microsoftNormalise,
		defaultUserinfo: MicrosoftUserinfo,
		// tenant and allowed_tenants are checked on the ID token's tid; Graph's userinfo has neither tid
		// nor iss, so a user of any tenant would pass them.
		userinfoUnpinned: "Microsoft Graph userinfo carries no tenant id",
	}), nil
}

// resolve checks tenant, allowed_tenants and issuer and returns the resolved configuration.
func (c *MicrosoftConfig) resolve() (*microsoft, *FieldError) {
	ms, key, err := microsoftFromConfig(c)
	if err != nil {
		return nil, &FieldError{key, err.Error()}
	}
	return ms, nil
}

func microsoftFromConfig(cfg *MicrosoftConfig) (*microsoft, string, error) {
	ms := &microsoft{loginBase: MicrosoftLoginBase, tenant: strings.TrimSpace(cfg.Tenant)}
	if cfg.Issuer != "" {
		if err := CheckEndpointURL("issuer", cfg.Issuer, true); err != nil {
			return nil, "issuer", err
		}
		ms.loginBase = strings.TrimSuffix(cfg.Issuer, "/")
	}
	t := strings.ToLower(ms.tenant)
	switch {
	case t == "":
		return nil, "tenant", fmt.Errorf("required for type microsoft: a tenant id, a domain, organizations or common")
	case t == "consumers" || t == MicrosoftConsumerTenant:
		return nil, "tenant", fmt.Errorf("tenant %q is refused: personal Microsoft accounts are not call-center agents; use organizations, common or your tenant", ms.tenant)
	case t == "organizations" || t == "common":
		ms.tenant, ms.multi = t, true
	case guidPattern.MatchString(t):
		ms.tenant = t
	case domainPattern.MatchString(t):
		ms.tenant = t
	default:
		return nil, "tenant", fmt.Errorf("tenant %q is neither a tenant id (GUID), a domain, organizations nor common", ms.tenant)
	}
	for i, a := range cfg.AllowedTenants {
		key := fmt.Sprintf("allowed_tenants[%d]", i)
		if !guidPattern.MatchString(a) {
			return nil, key, fmt.Errorf("allowed_tenants entry %q is not a tenant id (GUID)", a)
		}
		if strings.EqualFold(a, MicrosoftConsumerTenant) {
			return nil, key, fmt.Errorf("allowed_tenants entry %q is the personal-accounts tenant: personal Microsoft accounts are not agents", a)
		}
		ms.allowed = append(ms.allowed, strings.ToLower(a))
	}
	if len(ms.allowed) > 0 && guidPattern.MatchString(ms.tenant) && !slices.Contains(ms.allowed, ms.tenant) {
		return nil, "allowed_tenants", fmt.Errorf("allowed_tenants %v does not contain the configured tenant %s", cfg.AllowedTenants, ms.tenant)
	}
	return ms, "", nil
}

// tenantIssuer is the issuer Entra puts in a tenant's tokens.
func (ms *microsoft) tenantIssuer(tid string) string { return ms.loginBase + "/" + tid + "/v2.0" }

// acceptIssuer: multi-tenant documents carry the literal {tenantid} (issuer checked per token); a
// GUID tenant's must be its own issuer; a domain tenant's names its GUID, which must look like one.
func (ms *microsoft) acceptIssuer(got string) (string, error) {
	if ms.multi {
		if want := ms.tenantIssuer(microsoftTenantPlaceholder); got != want {
			return "", fmt.Errorf("discovery issuer %q is not the multi-tenant template %q", got, want)
		}
		return "", nil
	}
	prefix, suffix := ms.loginBase+"/", "/v2.0"
	tid := strings.TrimSuffix(strings.TrimPrefix(got, prefix), suffix)
	if !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, suffix) || !guidPattern.MatchString(tid) {
		return "", fmt.Errorf("discovery issuer %q is not of the form %s{tenant-id}%s", got, prefix, suffix)
	}
	if guidPattern.MatchString(ms.tenant) && !strings.EqualFold(tid, ms.tenant) {
		return "", fmt.Errorf("discovery issuer %q is not tenant %s's", got, ms.tenant)
	}
	return got, nil
}

// checkToken ties the token's iss to its tid claim and applies the tenant allow-list.
func (ms *microsoft) checkToken(claims map[string]any, iss string) error {
	tid, _ := claims["tid"].(string)
	if !guidPattern.MatchString(tid) {
		return Errorf(CodeIDTokenInvalid, "id_token tid %q is not a tenant id", tid)
	}
	if want := ms.tenantIssuer(tid); iss != want {
		return Errorf(CodeIDTokenInvalid, "id_token iss %q does not match its tid %s (want %q)", iss, tid, want)
	}
	tid = strings.ToLower(tid)
	if tid == MicrosoftConsumerTenant {
		return Errorf(CodeTenantNotAllowed, "personal Microsoft accounts are not agents (tenant %s)", tid)
	}
	if len(ms.allowed) > 0 && !slices.Contains(ms.allowed, tid) {
		return Errorf(CodeTenantNotAllowed, "tenant %s is not in allowed_tenants", tid)
	}
	return nil
}

// microsoftNormalise is the nOAuth guard (see newMicrosoft): only xms_edov == true vouches for email.
func microsoftNormalise(claims map[string]any) {
	edov, _ := claims["xms_edov"].(bool)
	claims["email_verified"] = edov
}
