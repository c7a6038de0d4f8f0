package providers

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
)

// Salesforce issuers that My Domain discovery documents name instead of the My Domain host.
const (
	SalesforceProductionIssuer = "https://login.salesforce.com"
	SalesforceSandboxIssuer    = "https://test.salesforce.com"
)

var myDomainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.my\.salesforce\.com$`)

// salesforcePreset is Salesforce, from `domain`: login.salesforce.com, test.salesforce.com or
// <mydomain>.my.salesforce.com (a loopback host:port only for tests).
var salesforcePreset = Preset{
	Name:         "Salesforce",
	NewConfig:    func() PresetConfig { return &SalesforceConfig{} },
	MappingField: "email",
	Icon:         iconSalesforce,
	Example: `- id: salesforce
  type: salesforce
  domain: acme.my.salesforce.com       # or login.salesforce.com, test.salesforce.com
  client_id: <consumer key>
  client_secret_file: /run/secrets/salesforce-consumer-secret
  mapping:
    require_claims: [{claim: organization_id, values: ["00D5e000000XXXXEAA"]}]   # every org shares one issuer`,
}

// SalesforceConfig is the `salesforce` type's configuration.
type SalesforceConfig struct {
	Client          `yaml:",inline"`
	Domain          string `yaml:"domain"`
	UserinfoOptions `yaml:",inline"`
}

func (c *SalesforceConfig) ApplyDefaults() {
	c.Client.defaults(defaultOIDCScopes)
	c.UserinfoOptions.defaults()
}

func (c *SalesforceConfig) Validate() []FieldError {
	errs := c.Client.validate(true)
	if _, err := salesforceOrigin(c.Domain); err != nil {
		errs = append(errs, FieldError{"domain", err.Error()})
	}
	return append(errs, c.UserinfoOptions.validate()...)
}

// GuardMapping warns when nothing pins the organisation: all Salesforce orgs share one issuer.
func (c *SalesforceConfig) GuardMapping(m MappingView) (errs, warnings []FieldError) {
	if m.AccountsFile || slices.Contains(m.RequireClaims, "organization_id") {
		return nil, nil
	}
	return nil, []FieldError{{"mapping.require_claims", "no pin on organization_id: users of every Salesforce org (all share one issuer) can sign in; add require_claims: [{claim: organization_id, values: [<your org id>]}]"}}
}

func (c *SalesforceConfig) Build(common Common, opts Options) (Provider, error) {
	origin, err := salesforceOrigin(c.Domain)
	if err != nil {
		return nil, err
	}
	return newOIDCProvider(common, c.Client, c.UserinfoOptions, opts, oidcSpec{
		discoveryBase: origin,
		acceptIssuer:  func(got string) (string, error) { return salesforceIssuer(origin, got) },
	}), nil
}

// salesforceOrigin validates domain and returns the URL discovery is fetched from.
func salesforceOrigin(domain string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(domain))
	switch {
	case d == "":
		return "", fmt.Errorf("required for type salesforce: login.salesforce.com, test.salesforce.com or <mydomain>.my.salesforce.com")
	case d == "login.salesforce.com" || d == "test.salesforce.com" || myDomainPattern.MatchString(d):
		return "https://" + d, nil
	}
	if host, port, err := net.SplitHostPort(d); err == nil && port != "" && IsLoopbackHost(host) {
		return "http://" + d, nil
	}
	return "", fmt.Errorf("domain %q must be login.salesforce.com, test.salesforce.com or <mydomain>.my.salesforce.com (a bare host, no scheme)", domain)
}

// salesforceIssuer accepts the discovery issuer. Salesforce documents that a My Domain's discovery
// document (and its ID tokens) name the instance-wide issuer: https://login.salesforce.com for
// production, https://test.salesforce.com for sandboxes (*.sandbox.my.salesforce.com).
func salesforceIssuer(origin, got string) (string, error) {
	ok := got == origin
	switch {
	case strings.HasSuffix(origin, ".sandbox.my.salesforce.com"):
		ok = ok || got == SalesforceSandboxIssuer
	case strings.HasSuffix(origin, ".my.salesforce.com"):
		ok = ok || got == SalesforceProductionIssuer
	}
	if !ok {
		return "", fmt.Errorf("discovery issuer %q is not the expected issuer for %s", got, origin)
	}
	return got, nil
}
