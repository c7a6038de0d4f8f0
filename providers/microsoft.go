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

// microsoft is one Entra ID configuration resolved from Config.
type microsoft struct {
	loginBase string   // scheme://host of the login service, no trailing slash
	tenant    string   // as configured: GUID, domain, organizations or common
	multi     bool     // organizations or common: the issuer is per token
	allowed   []string // lower-case tenant GUIDs; empty = any work or school tenant
}

// newMicrosoft builds the Entra ID preset.
//
// Account-takeover guard ("nOAuth"): Entra's `email` claim is mutable and unverified; any tenant's
// admin can give a user any email address, so in a multi-tenant app a user of tenant B can present the
// email of tenant A's agent. Entra's email_verified (when present) is not trusted: Claims["email_verified"]
// is true only when the token carries the optional claim `xms_edov` (email domain owner verified) as
// true, else false. With mapping.require_verified (the default) an unverified email is then refused;
// map on `oid`/`sub` or enable the xms_edov optional claim in the app registration.
func newMicrosoft(cfg Config, opts Options) (Provider, error) {
	if err := refuseFields(cfg, "auth_url", "token_url", "domain"); err != nil {
		return nil, err
	}
	ms, err := microsoftFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	issuerTmpl := ms.loginBase + "/" + ms.tenant + "/v2.0"
	return newOIDCProvider(cfg, opts, oidcSpec{
		discoveryBase:   issuerTmpl,
		acceptIssuer:    ms.acceptIssuer,
		checkToken:      ms.checkToken,
		normalise:       microsoftNormalise,
		defaultUserinfo: MicrosoftUserinfo,
		// tenant and allowed_tenants are checked on the ID token's tid; Graph's userinfo has neither tid
		// nor iss, so a user of any tenant would pass them.
		userinfoUnpinned: "Microsoft Graph userinfo carries no tenant id",
	})
}

func microsoftFromConfig(cfg Config) (*microsoft, error) {
	ms := &microsoft{loginBase: MicrosoftLoginBase, tenant: strings.TrimSpace(cfg.Tenant)}
	if cfg.Issuer != "" {
		if err := CheckEndpointURL("issuer", cfg.Issuer, true); err != nil {
			return nil, err
		}
		ms.loginBase = strings.TrimSuffix(cfg.Issuer, "/")
	}
	t := strings.ToLower(ms.tenant)
	switch {
	case t == "":
		return nil, fmt.Errorf("tenant is required (a tenant id, a verified domain, organizations or common)")
	case t == "consumers" || t == MicrosoftConsumerTenant:
		return nil, fmt.Errorf("tenant %q is refused: personal Microsoft accounts are not call-center agents; use organizations, common or your tenant", ms.tenant)
	case t == "organizations" || t == "common":
		ms.tenant, ms.multi = t, true
	case guidPattern.MatchString(t):
		ms.tenant = t
	case domainPattern.MatchString(t):
		ms.tenant = t
	default:
		return nil, fmt.Errorf("tenant %q is neither a tenant id (GUID), a domain, organizations nor common", ms.tenant)
	}
	for _, a := range cfg.AllowedTenants {
		if !guidPattern.MatchString(a) {
			return nil, fmt.Errorf("allowed_tenants entry %q is not a tenant id (GUID)", a)
		}
		if strings.EqualFold(a, MicrosoftConsumerTenant) {
			return nil, fmt.Errorf("allowed_tenants entry %q is the personal-accounts tenant: personal Microsoft accounts are not agents", a)
		}
		ms.allowed = append(ms.allowed, strings.ToLower(a))
	}
	if len(ms.allowed) > 0 && guidPattern.MatchString(ms.tenant) && !slices.Contains(ms.allowed, ms.tenant) {
		return nil, fmt.Errorf("allowed_tenants %v does not contain the configured tenant %s", cfg.AllowedTenants, ms.tenant)
	}
	return ms, nil
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
