package config

import (
	"fmt"
	"net/netip"
)

// checkPosture refuses or warns about settings that parse but weaken what the bridge protects (a provider
// type's own warnings, such as an unpinned Salesforce org, come from its preset's GuardMapping):
//   - a trusted_proxies entry that covers every address is refused unless server.allow_insecure_trusted_proxies
//     is true: any client could then spoof X-Forwarded-For (defeating the per-IP rate limit, forging client_ip
//     in the audit log) and X-Forwarded-Proto;
//   - /metrics on the public listener (server.metrics_public): a warning (anyone who reaches the bridge reads
//     its counters).
func (p *parser) checkPosture(c *Config) {
	for i, tp := range c.Server.TrustedProxies {
		pfx, err := netip.ParsePrefix(tp)
		if err != nil || pfx.Bits() != 0 || c.Server.AllowInsecureTrustedProxies {
			continue
		}
		p.addf(indexPath("server.trusted_proxies", i), "%q trusts every address: any client could forge X-Forwarded-For and X-Forwarded-Proto; list your proxies' addresses, or set server.allow_insecure_trusted_proxies: true", tp)
	}
	if c.Server.MetricsPublic {
		p.warnf("server.metrics_public", "true: /metrics is served on the public listener to anyone who reaches the bridge; set metrics_listen (e.g. 127.0.0.1:9090) to serve it apart instead")
	}
}

// warnf records a warning at path: the configuration is accepted, and check and serve print it.
func (p *parser) warnf(path, format string, args ...any) {
	p.warnings = append(p.warnings, p.problem(path, p.lineOf(path), fmt.Sprintf(format, args...)))
}
