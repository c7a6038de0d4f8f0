package config

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// checkPosture refuses or warns about configurations that parse but weaken what the bridge protects:
//   - a trusted_proxies entry that covers every address is refused unless server.allow_insecure_trusted_proxies
//     is true: any client could then spoof X-Forwarded-For (defeating the per-IP rate limit, forging client_ip
//     in the audit log) and X-Forwarded-Proto;
//   - Salesforce without a pin on organization_id, and Google without hd or allowed_domains, admit users of any
//     organisation at that IdP (all Salesforce orgs share one issuer; every Gmail account is a Google account):
//     a warning, since a verified email or an accounts table may still pin the agents;
//   - /metrics on the public listener: a warning (anyone who reaches the bridge reads its counters).
func (p *parser) checkPosture(c *Config) {
	for i, tp := range c.Server.TrustedProxies {
		pfx, err := netip.ParsePrefix(tp)
		if err != nil || pfx.Bits() != 0 || c.Server.AllowInsecureTrustedProxies {
			continue
		}
		p.addf(indexPath("server.trusted_proxies", i), "%q trusts every address: any client could forge X-Forwarded-For and X-Forwarded-Proto; list your proxies' addresses, or set server.allow_insecure_trusted_proxies: true", tp)
	}
	if c.Server.MetricsListen == "" {
		p.warnf("server.metrics_listen", "not set: /metrics is served on the public listener to anyone who reaches the bridge; set metrics_listen (e.g. 127.0.0.1:9090) to serve it apart")
	}
	for i := range c.Providers {
		pr := &c.Providers[i]
		m := pr.Mapping
		if m.AccountsFile != "" {
			continue // a table lists exactly who may sign in
		}
		path := indexPath("providers", i)
		switch pr.Type {
		case providers.TypeSalesforce:
			if !requiresClaim(m.RequireClaims, "organization_id") {
				p.warnf(path+".mapping.require_claims", "no pin on organization_id: users of every Salesforce org (all share one issuer) can sign in; add require_claims: [{claim: organization_id, values: [<your org id>]}]")
			}
		case providers.TypeGoogle:
			if len(m.AllowedDomains) == 0 && !requiresClaim(m.RequireClaims, "hd") {
				p.warnf(path+".mapping.allowed_domains", "neither allowed_domains nor require_claims on hd: any Google account, Gmail included, can sign in; pin your Workspace domain")
			}
		}
	}
}

func requiresClaim(rules []mapping.ClaimRule, claim string) bool {
	return slices.ContainsFunc(rules, func(r mapping.ClaimRule) bool { return r.Claim == claim })
}

// warnf records a warning at path: the configuration is accepted, and check and serve print it.
func (p *parser) warnf(path, format string, args ...any) {
	p.warnings = append(p.warnings, Problem{File: p.opts.Name, Path: path, Line: p.lineOf(path), Msg: fmt.Sprintf(format, args...)})
}
