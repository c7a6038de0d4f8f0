// Package config reads the bridge's YAML configuration once, at start-up, into typed values.
//
// Parse expands ${ENV_VAR} references, reads every *_file secret, applies defaults and validates the
// result, reporting all problems at once with the key path and line of each. A bad configuration fails
// the start, never a request.
//
// ${ENV_VAR} references are expanded in string values only (never in keys, booleans or numbers), after
// the YAML is parsed, so a variable's value is always one scalar whatever it contains. A name is
// [A-Za-z_][A-Za-z0-9_]*; an unset variable is a problem (an empty one is not). Write $${ for a literal
// ${; any other $ is literal. An unquoted reference may also fill a boolean (secure: ${COOKIE_SECURE});
// a quoted one is always a string.
//
// Durations are Go duration strings such as 90s, 5m or 720h; a bare number is refused, because whether
// 720 means seconds or hours is exactly the kind of guess a config file should not make.
//
// Relative file paths (tls, *_file, accounts_file, api.keys_file) resolve against the directory of
// the configuration file, and Parse stores them resolved.
package config

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// Fuyun exchange modes.
const (
	ModeOAuth = "oauth"
	ModeJWT   = "jwt"
)

// Config is the whole bridge configuration.
type Config struct {
	Server    Server     `yaml:"server"`
	Session   Session    `yaml:"session"`
	Cookie    Cookie     `yaml:"cookie"`
	Redirects Redirects  `yaml:"redirects"`
	Embed     Embed      `yaml:"embed"`
	Fuyun     Fuyun      `yaml:"fuyun"`
	API       API        `yaml:"api"`
	Providers []Provider `yaml:"providers"`
	Log       Log        `yaml:"log"`
	// Store and Admin turn on platform mode: the tenants of a database, each under /t/{id}/.
	Store Store `yaml:"store"`
	Admin Admin `yaml:"admin"`

	// Warnings are accepted settings that weaken a protection (Parse's posture check); check prints them and
	// serve logs them at start-up.
	Warnings Problems `yaml:"-"`
}

// Server is where the bridge listens and how the outside world reaches it.
type Server struct {
	// Listen is the HTTP(S) listen address; default ":8080".
	Listen string `yaml:"listen"`
	// PublicURL is the bridge's external base URL, without a trailing slash.
	PublicURL string `yaml:"public_url"`
	// TrustedProxies are the CIDRs or IPs whose X-Forwarded-For/Proto are believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	TLS            TLS      `yaml:"tls"`
	// MetricsListen, when set, serves /metrics (and a detailed /readyz) on a separate address; unset, no
	// listener serves /metrics unless MetricsPublic.
	MetricsListen string `yaml:"metrics_listen"`
	// MetricsPublic also serves /metrics on the public listener, to anyone who reaches the bridge.
	MetricsPublic bool `yaml:"metrics_public"`
	// AllowInsecureTrustedProxies accepts a trusted_proxies entry that covers every address (0.0.0.0/0, ::/0).
	AllowInsecureTrustedProxies bool `yaml:"allow_insecure_trusted_proxies"`
	// KeepWarm is the idle time after which the bridge re-opens its connections to the IdPs and Fuyun (and it
	// opens them at start-up); default 45s, 0s turns it off.
	KeepWarm Duration `yaml:"keep_warm"`

	// PublicBase is PublicURL parsed.
	PublicBase *url.URL `yaml:"-"`
}

// TLS names the certificate and key for serving HTTPS directly; both or neither.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Session holds the keys of the encrypted login-state cookie; the first pair signs, all verify.
type Session struct {
	// Keys are "<base64 hash key>:<base64 block key>" pairs. Secret.
	Keys []string `yaml:"keys"`
	// KeysFile holds one pair per line; # starts a comment.
	KeysFile string `yaml:"keys_file"`

	// KeyPairs are the decoded Keys (or KeysFile lines), in order.
	KeyPairs []KeyPair `yaml:"-"`
}

// KeyPair is one session key pair, each key 32 bytes.
type KeyPair struct {
	Hash  []byte
	Block []byte
}

// Cookie shapes the AC_TOKEN cookie.
type Cookie struct {
	Name   string `yaml:"name"`
	Domain string `yaml:"domain"`
	// Secure is nil when not set; SecureValue holds the resolved value.
	Secure      *bool    `yaml:"secure"`
	HTTPOnly    bool     `yaml:"http_only"`
	SameSite    string   `yaml:"same_site"`
	Partitioned bool     `yaml:"partitioned"`
	MaxAge      Duration `yaml:"max_age"`

	// SameSiteMode is SameSite as net/http wants it.
	SameSiteMode http.SameSite `yaml:"-"`
	// SecureValue is Secure with its default (true) applied.
	SecureValue bool `yaml:"-"`
}

// Redirects is the allow-list of return_to and logout targets.
type Redirects struct {
	// Allowed are origins such as https://crm.example.com or https://*.example.com.
	Allowed []string `yaml:"allowed"`
}

// Embed lists the origins allowed to frame /embed.
type Embed struct {
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// Fuyun configures the token exchange with Fuyun.
type Fuyun struct {
	TokenURL string `yaml:"token_url"`
	ClientID string `yaml:"client_id"`
	// ClientSecret is read from ClientSecretFile when that is set. Secret.
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	Scope            string `yaml:"scope"`
	RedirectURL      string `yaml:"redirect_url"`
	// Mode is the default exchange mode, oauth or jwt; a provider may override it.
	Mode string `yaml:"mode"`
	// AppName is subject_issuer in oauth mode.
	AppName string   `yaml:"app_name"`
	JWT     FuyunJWT `yaml:"jwt"`
	// Timeout bounds one call to the token endpoint.
	Timeout Duration `yaml:"timeout"`
}

// FuyunJWT configures the subject tokens the bridge signs in jwt mode.
type FuyunJWT struct {
	// Issuer is iss and subject_issuer.
	Issuer         string `yaml:"issuer"`
	PrivateKeyFile string `yaml:"private_key_file"`
	// PrivateKey is the PEM or base64 DER key, read from PrivateKeyFile when that is set. Secret;
	// not parsed here (the fuyun package does it).
	PrivateKey string   `yaml:"private_key"`
	TTL        Duration `yaml:"ttl"`
	KeyID      string   `yaml:"key_id"`
}

// API configures POST /api/v1/token.
type API struct {
	// KeysFile holds the hashed API keys; empty disables the endpoint.
	KeysFile string `yaml:"keys_file"`
	// RateLimit bounds requests per API key and per client IP; zero values take the bridge's defaults.
	RateLimit APIRateLimit `yaml:"rate_limit"`
}

// APIRateLimit are token buckets: a sustained rate in requests per second and a burst.
type APIRateLimit struct {
	// PerKey is the sustained rate per API key; default 20.
	PerKey float64 `yaml:"per_key"`
	// PerKeyBurst is the burst per API key; default 40.
	PerKeyBurst int `yaml:"per_key_burst"`
	// PerIP is the sustained rate per client IP, counted before authentication; default 10.
	PerIP float64 `yaml:"per_ip"`
	// PerIPBurst is the burst per client IP; default 20.
	PerIPBurst int `yaml:"per_ip_burst"`
}

// Provider is one entry of providers: an identity provider plus how its users map to Fuyun. The keys every
// entry has are fields here; the rest belong to the entry's type (Preset), which owns their meaning and checks.
type Provider struct {
	// ID is the URL segment of /login/{id} and /callback/{id}.
	ID   string `yaml:"id"`
	Type string `yaml:"type"`
	// DisplayName is the sign-in button's label; default the id.
	DisplayName string `yaml:"display_name"`
	// FuyunMode overrides fuyun.mode for this provider; empty means inherit.
	FuyunMode string         `yaml:"fuyun_mode"`
	Mapping   mapping.Config `yaml:"mapping"`
	// Fuyun, when its client_id is set, is this provider's own client registration at Fuyun. Fuyun's portal
	// ties one sign-in mode — and in OAuth mode one IdP's endpoints — to one identity configuration with its
	// own client_id, secret and App Name, so a bridge serving several of them gives each provider its own.
	Fuyun ProviderFuyun `yaml:"fuyun"`

	// Preset is the type's own configuration (client, endpoints, tenant, …), decoded from the entry's other
	// keys; nil when the type is unknown.
	Preset providers.PresetConfig `yaml:"-"`
	// RedirectURL is {public_url}/callback/{id}, the URL to register at the IdP.
	RedirectURL string `yaml:"-"`

	// defaultMode is fuyun.mode, copied in by Parse so that Mode needs no back-pointer.
	defaultMode string
}

// Common is what the provider's preset is built with besides its own configuration.
func (p *Provider) Common() providers.Common {
	return providers.Common{ID: p.ID, Type: p.Type, DisplayName: p.DisplayName, RedirectURL: p.RedirectURL}
}

// Mode is the Fuyun exchange mode for this provider: fuyun_mode, else fuyun.mode, else oauth.
func (p *Provider) Mode() string {
	switch {
	case p.FuyunMode != "":
		return p.FuyunMode
	case p.defaultMode != "":
		return p.defaultMode
	}
	return ModeOAuth
}

// ProviderFuyun overrides fuyun.client_id, client_secret and app_name for one provider; token_url, scope,
// redirect_url and the JWT signing key stay those of the fuyun: block.
type ProviderFuyun struct {
	ClientID string `yaml:"client_id"`
	// ClientSecret is read from ClientSecretFile when that is set. Secret.
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// AppName is subject_issuer in oauth mode; empty means fuyun.app_name.
	AppName string `yaml:"app_name"`
}

// Set reports whether the provider has its own Fuyun client registration.
func (f ProviderFuyun) Set() bool {
	return f.ClientID != "" || f.ClientSecret != "" || f.ClientSecretFile != "" || f.AppName != ""
}

// Log configures log/slog.
type Log struct {
	// Level is debug, info, warn or error; default info.
	Level string `yaml:"level"`
	// Format is json or text; default json.
	Format string `yaml:"format"`
	// Access logs one line per request (method, path without its query, status, bytes, duration, request
	// id, client address); default off.
	Access bool `yaml:"access"`

	// SlogLevel is Level parsed.
	SlogLevel slog.Level `yaml:"-"`
}

// ParseOptions are the inputs of Parse besides the YAML itself.
type ParseOptions struct {
	// Name is the file name shown in problems; default "config".
	Name string
	// Dir is the base for relative file paths; default the working directory.
	Dir string
	// LookupEnv resolves ${VAR}; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads *_file secrets and checks other files; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Overrides set keys over the file's values, later ones winning: the environment's (EnvOverrides), then
	// the command line's.
	Overrides []Override
}

// Load reads and parses the configuration file at path with overrides (see ParseOptions.Overrides); relative
// paths in it, overrides included, resolve against its directory.
func Load(path string, overrides ...Override) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, ParseOptions{Name: path, Dir: filepath.Dir(path), Overrides: overrides})
}

// Parse parses, completes and validates a configuration. Its error, if any, is a Problems listing
// everything that is wrong.
func Parse(data []byte, opts ParseOptions) (*Config, error) {
	if opts.Name == "" {
		opts.Name = "config"
	}
	p := newParser(opts)
	cfg := &Config{}
	root, ok := p.parseYAML(data)
	if ok {
		p.applyOverrides(root)
		p.expandEnv(root, "")
		p.decode(root, cfg, "")
		p.checking = true
		p.resolvePaths(cfg)
		p.readSecrets(cfg)
		p.applyDefaults(cfg)
		p.validate(cfg)
		p.checkPosture(cfg)
	}
	if err := p.result(); err != nil {
		return nil, err
	}
	cfg.Warnings = p.warnings
	return cfg, nil
}

// newParser starts one parse with opts, its defaults applied.
func newParser(opts ParseOptions) *parser {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	return &parser{opts: opts, lines: map[string]int{}, given: map[string]bool{}, failed: map[string]bool{},
		origins: map[string]string{}, literal: map[*yaml.Node]bool{}}
}

// result sorts the problems and warnings into the file's order, document-level problems first, and returns
// the problems as the error, if any.
func (p *parser) result() error {
	sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Line < p.problems[j].Line })
	sort.SliceStable(p.warnings, func(i, j int) bool { return p.warnings[i].Line < p.warnings[j].Line })
	if len(p.problems) > 0 {
		return p.problems
	}
	return nil
}

// ProviderByID returns the provider whose id is id.
func (c *Config) ProviderByID(id string) (*Provider, bool) {
	for i := range c.Providers {
		if c.Providers[i].ID == id {
			return &c.Providers[i], true
		}
	}
	return nil, false
}
