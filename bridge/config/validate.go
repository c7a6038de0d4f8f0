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
	if !p.given["fuyun.timeout"] {
		c.Fuyun.Timeout = DefaultFuyunTimeout
	}
	setDefault(&c.Log.Level, "info")
	setDefault(&c.Log.Format, "json")
	p.platformDefaults(c)
	p.companyDefaults(c.company())
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
	if c.Fuyun.Timeout <= 0 {
		p.addf("fuyun.timeout", "must be positive")
	}
	p.validateCompany(c.company())
	if c.API.KeysFile != "" {
		p.readFile("api.keys_file", c.API.KeysFile)
	}
	p.validateRateLimit(c.API.RateLimit)
	p.validatePlatform(c)
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
