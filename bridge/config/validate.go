package config

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// Defaults.
const (
	DefaultListen        = ":8080"
	DefaultCookieName    = "AC_TOKEN"
	DefaultSameSite      = "lax"
	DefaultCookieMaxAge  = Duration(720 * time.Hour)
	DefaultFuyunTokenURL = "https://signin.rhinokeen.com/oauth/token_exchange"
	DefaultFuyunScope    = "user_management,hotline"
	DefaultJWTTTL        = Duration(5 * time.Minute)
	DefaultFuyunTimeout  = Duration(10 * time.Second)
	DefaultTransform     = "none"
	DefaultKeepWarm      = Duration(45 * time.Second)
)

// Bounds of fuyun.jwt.ttl: long enough for clock skew, short enough that a leaked subject token dies soon.
const (
	minJWTTTL = 30 * time.Second
	maxJWTTTL = time.Hour
)

var (
	providerID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	// appName is Fuyun's developer-portal limit on App Name.
	appName   = regexp.MustCompile(`^[A-Za-z0-9]{1,10}$`)
	sameSites = map[string]http.SameSite{
		"lax": http.SameSiteLaxMode, "strict": http.SameSiteStrictMode, "none": http.SameSiteNoneMode,
	}
	logLevels = map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	}
)

// applyDefaults fills what the file left out. It runs before validation so that defaults are validated too.
func (p *parser) applyDefaults(c *Config) {
	setDefault(&c.Server.Listen, DefaultListen)
	if !p.given["server.keep_warm"] {
		c.Server.KeepWarm = DefaultKeepWarm
	}
	setDefault(&c.Cookie.Name, DefaultCookieName)
	setDefault(&c.Cookie.SameSite, DefaultSameSite)
	c.Cookie.SecureValue = c.Cookie.Secure == nil || *c.Cookie.Secure
	if !p.given["cookie.max_age"] {
		c.Cookie.MaxAge = DefaultCookieMaxAge
	}
	setDefault(&c.Fuyun.TokenURL, DefaultFuyunTokenURL)
	setDefault(&c.Fuyun.Mode, ModeOAuth)
	setDefault(&c.Fuyun.Scope, DefaultFuyunScope)
	if !p.given["fuyun.jwt.ttl"] {
		c.Fuyun.JWT.TTL = DefaultJWTTTL
	}
	if !p.given["fuyun.timeout"] {
		c.Fuyun.Timeout = DefaultFuyunTimeout
	}
	setDefault(&c.Log.Level, "info")
	setDefault(&c.Log.Format, "json")
	for i := range c.Providers {
		pr := &c.Providers[i]
		pr.defaultMode = c.Fuyun.Mode
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

func setDefault(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

// validate checks everything, recording every problem rather than stopping at the first.
func (p *parser) validate(c *Config) {
	p.validateServer(c)
	p.validateSession(c)
	p.validateCookie(c)
	for i, o := range c.Redirects.Allowed {
		c.Redirects.Allowed[i] = p.origin(indexPath("redirects.allowed", i), o)
	}
	for i, o := range c.Embed.AllowedOrigins {
		c.Embed.AllowedOrigins[i] = p.origin(indexPath("embed.allowed_origins", i), o)
	}
	p.validateFuyun(c)
	if c.API.KeysFile != "" {
		p.readFile("api.keys_file", c.API.KeysFile)
	}
	p.validateRateLimit(c.API.RateLimit)
	p.validateProviders(c)
	if lvl, ok := logLevels[c.Log.Level]; ok {
		c.Log.SlogLevel = lvl
	} else {
		p.addf("log.level", "unknown level %q (want debug, info, warn or error)", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		p.addf("log.format", "unknown format %q (want json or text)", c.Log.Format)
	}
}

func (p *parser) validateServer(c *Config) {
	s := &c.Server
	p.listenAddr("server.listen", s.Listen)
	if s.MetricsListen != "" {
		p.listenAddr("server.metrics_listen", s.MetricsListen)
	}
	if s.PublicURL == "" {
		p.addf("server.public_url", "required: the bridge's external URL, e.g. https://bridge.example.com")
	} else if u, msg := parseHTTPURL(s.PublicURL); msg != "" {
		p.addf("server.public_url", "%s", msg)
	} else if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s.PublicURL, "#") {
		p.addf("server.public_url", "must have no query or fragment")
	} else if u.Scheme == "http" && !providers.IsLoopbackHost(u.Hostname()) {
		p.addf("server.public_url", "must be https (http only for localhost, 127.0.0.1 or ::1): browsers and IdPs refuse the rest")
	} else {
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		s.PublicBase = u
		s.PublicURL = u.String()
	}
	for i, tp := range s.TrustedProxies {
		if _, err := netip.ParsePrefix(tp); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(tp); err != nil {
			p.addf(indexPath("server.trusted_proxies", i), "%q is neither an IP address nor a CIDR", tp)
		}
	}
	switch t := s.TLS; {
	case (t.CertFile == "") != (t.KeyFile == ""):
		p.addf("server.tls", "set both cert_file and key_file, or neither")
	case t.CertFile != "":
		p.readFile("server.tls.cert_file", t.CertFile)
		p.readFile("server.tls.key_file", t.KeyFile)
	}
}

// validateRateLimit refuses a limit that is given but not positive: 0 would silently mean "default".
func (p *parser) validateRateLimit(rl APIRateLimit) {
	for path, v := range map[string]float64{
		"api.rate_limit.per_key": rl.PerKey, "api.rate_limit.per_key_burst": float64(rl.PerKeyBurst),
		"api.rate_limit.per_ip": rl.PerIP, "api.rate_limit.per_ip_burst": float64(rl.PerIPBurst),
	} {
		if p.given[path] && !p.failedAt(path) && !(v > 0) {
			p.addf(path, "must be greater than 0")
		}
	}
}

// listenAddr checks a host:port listen address.
func (p *parser) listenAddr(path, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		p.addf(path, "%q is not a listen address such as :8080 or 127.0.0.1:8080", addr)
	}
}

func (p *parser) validateSession(c *Config) {
	s := &c.Session
	if len(s.Keys) == 0 && s.KeysFile == "" {
		p.addf("session.keys", `at least one "<base64 hash key>:<base64 block key>" pair is required (session.keys or session.keys_file)`)
	}
}

func (p *parser) validateCookie(c *Config) {
	k := &c.Cookie
	base := c.Server.PublicBase
	loopbackHTTP := base != nil && base.Scheme == "http" && providers.IsLoopbackHost(base.Hostname())
	if !isToken(k.Name) {
		p.addf("cookie.name", "%q is not a valid cookie name", k.Name)
	}
	if mode, ok := sameSites[k.SameSite]; ok {
		k.SameSiteMode = mode
	} else {
		p.addf("cookie.same_site", "unknown value %q (want lax, strict or none)", k.SameSite)
	}
	if !k.SecureValue && base != nil && !loopbackHTTP {
		p.addf("cookie.secure", "false is only allowed when server.public_url is a loopback http URL (localhost, 127.0.0.1, ::1)")
	}
	if k.SameSite == "none" && !k.SecureValue {
		p.addf("cookie.same_site", "none requires secure: true (browsers drop SameSite=None cookies that are not Secure)")
	}
	if k.Partitioned && (!k.SecureValue || k.SameSite != "none") {
		p.addf("cookie.partitioned", "true requires secure: true and same_site: none")
	}
	if k.Domain != "" {
		d := strings.ToLower(strings.TrimPrefix(k.Domain, "."))
		switch {
		case !isDomainName(d) || !strings.Contains(d, "."):
			p.addf("cookie.domain", "%q is not a domain name such as .example.com", k.Domain)
		case base == nil:
			// public_url is already reported.
		case net.ParseIP(base.Hostname()) != nil:
			p.addf("cookie.domain", "cannot be set when server.public_url's host is an IP address")
		default:
			if host := strings.ToLower(base.Hostname()); host != d && !strings.HasSuffix(host, "."+d) {
				p.addf("cookie.domain", "%q does not contain server.public_url's host %s, so browsers would refuse the cookie", k.Domain, host)
			}
		}
	}
	if k.MaxAge <= 0 {
		p.addf("cookie.max_age", "must be positive")
	}
}

// origin checks an allow-list entry: an https origin (http only for loopback), optionally with a leading
// "*." label, no path, query or fragment. It returns the entry normalised (lower case, no trailing slash).
func (p *parser) origin(path, s string) string {
	const want = "want an origin such as https://crm.example.com or https://*.example.com"
	scheme, rest, ok := strings.Cut(s, "://")
	wildcard := strings.HasPrefix(rest, "*.")
	if wildcard {
		rest = rest[2:]
	}
	u, err := url.Parse(scheme + "://" + rest)
	host := ""
	if err == nil {
		host = strings.ToLower(u.Hostname())
	}
	switch {
	case !ok || err != nil || u.Host == "" || u.Opaque != "":
		p.addf(path, "%q: %s", s, want)
	case u.Scheme != "https" && u.Scheme != "http":
		p.addf(path, "%q: scheme must be https", s)
	case u.Scheme == "http" && (wildcard || !providers.IsLoopbackHost(host)):
		p.addf(path, "%q: must be https (http only for localhost, 127.0.0.1 or ::1)", s)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || strings.Contains(rest, "#"):
		p.addf(path, "%q: an origin has no user, path, query or fragment", s)
	case strings.Contains(rest, "*"):
		p.addf(path, "%q: a wildcard may only be the whole first label, as in https://*.example.com", s)
	case wildcard && (!isDomainName(host) || !strings.Contains(host, ".")):
		p.addf(path, "%q: a wildcard needs a domain of at least two labels after it", s)
	case !isDomainName(host) && net.ParseIP(host) == nil:
		p.addf(path, "%q: host is not a domain name or IP address", s)
	default:
		out := strings.ToLower(u.Scheme) + "://"
		if wildcard {
			out += "*."
		}
		return out + strings.ToLower(u.Host)
	}
	return s
}

func (p *parser) validateFuyun(c *Config) {
	f := &c.Fuyun
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
	if f.Timeout <= 0 {
		p.addf("fuyun.timeout", "must be positive")
	}
	var oauth, jwt bool // a provider needs fuyun.app_name / the JWT key
	for i := range c.Providers {
		pr := &c.Providers[i]
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

func (p *parser) validateProviders(c *Config) {
	if len(c.Providers) == 0 {
		p.addf("providers", "at least one provider is required")
	}
	types := providers.Types()
	firstID := map[string]int{}
	for i := range c.Providers {
		pr := &c.Providers[i]
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
			if c.Server.PublicBase != nil {
				pr.RedirectURL = c.Server.PublicBase.String() + "/callback/" + pr.ID
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
		p.validateMapping(c, i)
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
func (p *parser) validateMapping(c *Config, i int) {
	m := &c.Providers[i].Mapping
	path := indexPath("providers", i) + ".mapping"
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
	if m.AccountsFile != "" {
		p.readFile(path+".accounts_file", m.AccountsFile)
	}
	// Build the mapper as start-up will (accounts table included), unless a problem is already reported.
	if before == len(p.problems) {
		if _, err := mapping.New(*m, mapping.Options{ReadFile: p.opts.ReadFile}); err != nil {
			p.addf(path, "%v", err)
		}
	}
}

// endpoint checks an outbound URL: absolute, https unless the host is loopback (local IdPs and emulators).
func (p *parser) endpoint(path, s string) {
	u, msg := parseHTTPURL(s)
	switch {
	case msg != "":
		p.addf(path, "%s", msg)
	case u.Scheme == "http" && !providers.IsLoopbackHost(u.Hostname()):
		p.addf(path, "must be https (http only for localhost, 127.0.0.1 or ::1)")
	}
}

// parseHTTPURL parses an absolute http(s) URL without user info. The message, if any, never quotes the
// URL's parse error verbatim, which would repeat a password written into it.
func parseHTTPURL(s string) (*url.URL, string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, "not a valid URL"
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, "want an absolute http or https URL"
	case u.Host == "" || u.Opaque != "":
		return nil, "want an absolute URL with a host"
	case u.User != nil:
		return nil, "must not contain user info (user:password@)"
	}
	return u, ""
}

// isDomainName reports whether s (lower case) is a DNS name: labels of a-z, 0-9 and inner hyphens.
func isDomainName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

// isDottedPath reports whether s is names joined by dots, none empty.
func isDottedPath(s string) bool {
	return !slices.Contains(strings.Split(s, "."), "") && strings.TrimSpace(s) == s
}

// isToken reports whether s is an RFC 6265 cookie name (an RFC 7230 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return true
}
