package providers

import (
	"fmt"
	"net"
	"regexp"
	"strings"
)

// Salesforce issuers that My Domain discovery documents name instead of the My Domain host.
const (
	SalesforceProductionIssuer = "https://login.salesforce.com"
	SalesforceSandboxIssuer    = "https://test.salesforce.com"
)

var myDomainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.my\.salesforce\.com$`)

// newSalesforce builds the Salesforce preset from `domain`: login.salesforce.com, test.salesforce.com
// or <mydomain>.my.salesforce.com (a loopback host:port only for tests).
func newSalesforce(cfg Config, opts Options) (Provider, error) {
	if err := refuseFields(cfg, "issuer", "auth_url", "token_url", "tenant", "allowed_tenants"); err != nil {
		return nil, err
	}
	origin, err := salesforceOrigin(cfg.Domain)
	if err != nil {
		return nil, err
	}
	return newOIDCProvider(cfg, opts, oidcSpec{
		discoveryBase: origin,
		acceptIssuer:  func(got string) (string, error) { return salesforceIssuer(origin, got) },
	})
}

// salesforceOrigin validates domain and returns the URL discovery is fetched from.
func salesforceOrigin(domain string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(domain))
	switch {
	case d == "":
		return "", fmt.Errorf("domain is required (login.salesforce.com, test.salesforce.com or <mydomain>.my.salesforce.com)")
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
