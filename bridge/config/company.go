package config

import (
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// company is the per-company part of a configuration — cookie.domain, redirects, embed, fuyun and providers —
// whether it sits in the YAML file (one company per deployment) or in a tenant (platform mode). Defaults,
// secrets and rules are applied to it once, here, for both; paths are the same in both ("fuyun.client_id").
type company struct {
	cookie    *Cookie
	redirects *Redirects
	embed     *Embed
	fuyun     *Fuyun
	providers []Provider
	// public is server.public_url parsed; nil when it is missing or invalid (and so already reported).
	public *url.URL
	// callback is what follows public in a provider's redirect URI, before the provider's id.
	callback string
	// hosts are a tenant's own hosts, where its cookie may also be set.
	hosts []string
	// optional is the file's company in platform mode: it may have no providers, and then no fuyun section.
	optional bool
}

// company is the configuration's per-company part.
func (c *Config) company() company {
	return company{cookie: &c.Cookie, redirects: &c.Redirects, embed: &c.Embed, fuyun: &c.Fuyun,
		providers: c.Providers, public: c.Server.PublicBase, callback: "/callback/", optional: c.Store.Enabled()}
}

// companyDefaults fills what the company's sections left out.
func (p *parser) companyDefaults(co company) {
	setDefault(&co.fuyun.TokenURL, DefaultFuyunTokenURL)
	setDefault(&co.fuyun.Mode, ModeOAuth)
	setDefault(&co.fuyun.Scope, DefaultFuyunScope)
	if !p.given["fuyun.jwt.ttl"] {
		co.fuyun.JWT.TTL = DefaultJWTTTL
	}
	for i := range co.providers {
		pr := &co.providers[i]
		pr.defaultMode = co.fuyun.Mode
		setDefault(&pr.DisplayName, pr.ID)
		if pr.Preset == nil {
			continue // an unknown type, reported by validation: its defaults mean nothing
		}
		pr.Preset.ApplyDefaults()
		m := &pr.Mapping
		if m.Field == "" {
			field, fallbacks := providers.MappingDefaults(pr.Type)
			m.Field = field
			// The preset's fallbacks belong to the preset's field; with a field of one's own they would surprise.
			if m.Fallbacks == nil {
				m.Fallbacks = fallbacks
			}
		}
		setDefault(&m.Transform, DefaultTransform)
		if m.RequireVerified == nil {
			yes := true
			m.RequireVerified = &yes
		}
	}
}

// validateCompany checks the company's sections; the public URL must be validated first.
func (p *parser) validateCompany(co company) {
	p.cookieDomain(co.cookie.Domain, co.public, co.hosts)
	for i, o := range co.redirects.Allowed {
		co.redirects.Allowed[i] = p.origin(indexPath("redirects.allowed", i), o)
	}
	for i, o := range co.embed.AllowedOrigins {
		co.embed.AllowedOrigins[i] = p.origin(indexPath("embed.allowed_origins", i), o)
	}
	if co.optional && len(co.providers) == 0 {
		return // platform mode without a company of its own at the root: only tenants sign in
	}
	p.validateFuyun(co)
	p.validateProviders(co)
}

// cookieDomain checks cookie.domain against the hosts the bridge is reached at: public (when valid) and, for
// a tenant, its own hosts.
func (p *parser) cookieDomain(domain string, public *url.URL, hosts []string) {
	if domain == "" {
		return
	}
	d := strings.ToLower(strings.TrimPrefix(domain, "."))
	within := func(host string) bool { return host == d || strings.HasSuffix(host, "."+d) }
	switch {
	case !isDomainName(d) || !strings.Contains(d, "."):
		p.addf("cookie.domain", "%q is not a domain name such as .example.com", domain)
	case public == nil:
		// public_url is already reported.
	case slices.ContainsFunc(hosts, func(h string) bool { return within(hostOnly(h)) }):
	case net.ParseIP(public.Hostname()) != nil && len(hosts) == 0:
		p.addf("cookie.domain", "cannot be set when server.public_url's host is an IP address")
	case !within(strings.ToLower(public.Hostname())) && len(hosts) > 0:
		p.addf("cookie.domain", "%q contains neither server.public_url's host %s nor one of hosts, so browsers would refuse the cookie", domain, public.Hostname())
	case !within(strings.ToLower(public.Hostname())):
		p.addf("cookie.domain", "%q does not contain server.public_url's host %s, so browsers would refuse the cookie", domain, strings.ToLower(public.Hostname()))
	}
}

func (p *parser) validateFuyun(co company) {
	f := co.fuyun
	p.endpoint("fuyun.token_url", f.TokenURL)
	if f.ClientID == "" {
		p.addf("fuyun.client_id", "required")
	}
	if f.ClientSecret == "" && f.ClientSecretFile == "" {
		p.addf("fuyun.client_secret", "required (or client_secret_file)")
	}
	if f.Mode != ModeOAuth && f.Mode != ModeJWT {
		p.addf("fuyun.mode", "unknown mode %q (want oauth or jwt)", f.Mode)
	}
	if f.RedirectURL == "" {
		p.addf("fuyun.redirect_url", "required: the redirect_url registered with Fuyun")
	} else if _, msg := parseHTTPURL(f.RedirectURL); msg != "" {
		p.addf("fuyun.redirect_url", "%s", msg)
	}
	var oauth, jwt bool // a provider needs fuyun.app_name / the JWT key
	for i := range co.providers {
		pr := &co.providers[i]
		switch pr.Mode() {
		case ModeOAuth:
			oauth = oauth || pr.Fuyun.AppName == ""
		case ModeJWT:
			jwt = true
		}
		p.validateProviderFuyun(pr, indexPath("providers", i)+".fuyun")
	}
	if f.AppName != "" && !appName.MatchString(f.AppName) {
		p.addf("fuyun.app_name", "%q: want 1 to 10 letters and digits, as Fuyun's developer portal allows", f.AppName)
	} else if f.AppName == "" && oauth {
		p.addf("fuyun.app_name", "required when a provider uses oauth mode: the App Name from Fuyun's developer portal")
	}
	if jwt {
		if f.JWT.Issuer == "" {
			p.addf("fuyun.jwt.issuer", "required when a provider uses jwt mode")
		}
		if f.JWT.PrivateKey == "" && f.JWT.PrivateKeyFile == "" {
			p.addf("fuyun.jwt.private_key", "required when a provider uses jwt mode (or private_key_file)")
		}
	}
	if ttl := f.JWT.TTL.Std(); ttl < minJWTTTL || ttl > maxJWTTTL {
		p.addf("fuyun.jwt.ttl", "%s is out of range: want between %s and %s", ttl, minJWTTTL, maxJWTTTL)
	}
}

func (p *parser) validateProviders(co company) {
	if len(co.providers) == 0 {
		p.addf("providers", "at least one provider is required")
	}
	types := providers.Types()
	firstID := map[string]int{}
	for i := range co.providers {
		pr := &co.providers[i]
		path := indexPath("providers", i)
		at := func(key string) string { return path + "." + key }
		before := len(p.problems)
		switch first, dup := firstID[pr.ID]; {
		case pr.ID == "":
			p.addf(at("id"), "required")
		case !providerID.MatchString(pr.ID):
			p.addf(at("id"), "%q: want 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit", pr.ID)
		case dup:
			p.addf(at("id"), "%q is already the id of providers[%d]", pr.ID, first)
		default:
			firstID[pr.ID] = i
			if co.public != nil {
				pr.RedirectURL = co.public.String() + co.callback + pr.ID
			}
		}
		if pr.FuyunMode != "" && pr.FuyunMode != ModeOAuth && pr.FuyunMode != ModeJWT {
			p.addf(at("fuyun_mode"), "unknown mode %q (want oauth or jwt, or leave empty for fuyun.mode)", pr.FuyunMode)
		}
		preset, known := providers.Lookup(pr.Type)
		switch {
		case pr.Type == "":
			p.addf(at("type"), "required: one of %s", strings.Join(types, ", "))
			continue // without a type, the mapping's defaults and checks mean nothing
		case !known:
			p.addf(at("type"), "unknown type %q (want %s)", pr.Type, strings.Join(types, ", "))
			continue
		}
		// The type's own keys are its preset's to check; it makes no network call, so config and start-up
		// can never disagree.
		for _, fe := range pr.Preset.Validate() {
			p.addf(childPath(path, fe.Key), "%s", fe.Msg)
		}
		if preset.JWTOnly && pr.Mode() == ModeOAuth {
			p.addf(at("fuyun_mode"), "type %s exchanges in jwt mode only (%s): set fuyun_mode: jwt", pr.Type, preset.Why)
		}
		p.validateMapping(&pr.Mapping, path+".mapping")
		if g, ok := pr.Preset.(providers.MappingGuard); ok {
			errs, warnings := g.GuardMapping(mappingView(pr.Mapping))
			for _, fe := range errs {
				p.addf(childPath(path, fe.Key), "%s", fe.Msg)
			}
			for _, fe := range warnings {
				p.warnf(childPath(path, fe.Key), "%s", fe.Msg)
			}
		}
		// Building repeats, in its own words, any problem the entry already has (a misspelt key among them).
		if before == len(p.problems) && !p.problemUnder(path) {
			if _, err := providers.Build(pr.Type, pr.Common(), pr.Preset, providers.Options{}); err != nil {
				p.addf(path, "%v", err)
			}
		}
	}
}

// problemUnder reports whether a problem was recorded at path or below it.
func (p *parser) problemUnder(path string) bool {
	for _, pr := range p.problems {
		if pr.Path == path || strings.HasPrefix(pr.Path, path+".") || strings.HasPrefix(pr.Path, path+"[") {
			return true
		}
	}
	return false
}

// mappingView is what a preset may check of a mapping.
func mappingView(m mapping.Config) providers.MappingView {
	v := providers.MappingView{Field: m.Field, Fallbacks: m.Fallbacks, AllowedDomains: m.AllowedDomains, AccountsFile: m.AccountsFile != ""}
	for _, r := range m.RequireClaims {
		v.RequireClaims = append(v.RequireClaims, r.Claim)
	}
	return v
}

// validateProviderFuyun checks a provider's own Fuyun client registration, when it has one.
func (p *parser) validateProviderFuyun(pr *Provider, path string) {
	f := pr.Fuyun
	if !f.Set() {
		return
	}
	if f.ClientID == "" {
		p.addf(path+".client_id", "required when the provider has its own fuyun: client")
	}
	if f.ClientSecret == "" && f.ClientSecretFile == "" {
		p.addf(path+".client_secret", "required (or client_secret_file) when the provider has its own fuyun: client")
	}
	if f.AppName != "" && !appName.MatchString(f.AppName) {
		p.addf(path+".app_name", "%q: want 1 to 10 letters and digits, as Fuyun's developer portal allows", f.AppName)
	}
}

// validateMapping checks a provider's mapping: block.
func (p *parser) validateMapping(m *mapping.Config, path string) {
	before := len(p.problems)
	if !slices.Contains(mapping.Transforms(), m.Transform) {
		p.addf(path+".transform", "unknown transform %q (want none, lowercase, strip_domain or e164)", m.Transform)
	}
	if m.Field == "" {
		p.addf(path+".field", "required")
	} else if !isDottedPath(m.Field) {
		p.addf(path+".field", "%q: want a dotted path of non-empty names, such as email or address.phone", m.Field)
	}
	for j, f := range m.Fallbacks {
		if !isDottedPath(f) {
			p.addf(indexPath(path+".fallbacks", j), "%q: want a dotted path of non-empty names, such as email or address.phone", f)
		}
	}
	for j, d := range m.AllowedDomains {
		if !isDomainName(strings.ToLower(d)) {
			p.addf(indexPath(path+".allowed_domains", j), "%q is not a domain name such as corp.example.com", d)
		}
	}
	// accounts / accounts_file follow the secrets' convention: the file, if any, is already read into accounts.
	// Build the mapper as start-up will (accounts table included), unless a problem is already reported.
	if before == len(p.problems) {
		if _, err := mapping.New(*m, mapping.Options{ReadFile: p.opts.ReadFile}); err != nil {
			p.addf(path, "%v", err)
		}
	}
}
