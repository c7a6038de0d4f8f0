package fuyunsim

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
)

// DefaultTokenTTL is the lifetime of emulated access tokens, as Fuyun's (expires_in 2591999).
const DefaultTokenTTL = 720 * time.Hour

// DefaultIssuer is the iss of emulated access tokens when the config names none.
const DefaultIssuer = "http://fuyun-sim.localhost"

// Config is the emulator's configuration: the client registrations of Fuyun's developer portal and the
// agents of the contact-center instance.
type Config struct {
	Listen   string        `yaml:"listen"`    // used by the fuyun-sim command
	Issuer   string        `yaml:"issuer"`    // iss of issued access tokens
	TokenTTL time.Duration `yaml:"token_ttl"` // access-token lifetime; expires_in is this minus one second
	Clients  []Client      `yaml:"clients"`
	Agents   []Agent       `yaml:"agents"`
}

// Client is one client registration (身份管理配置) with its credentials, scopes and exchange modes.
type Client struct {
	ClientID     string       `yaml:"client_id"`
	ClientSecret string       `yaml:"client_secret"`
	Scopes       []string     `yaml:"scopes"`
	JWT          *JWTClient   `yaml:"jwt"`
	OAuth        *OAuthClient `yaml:"oauth"`
}

// JWTClient is the JWT-mode registration: the integrator's issuer and RSA public key.
type JWTClient struct {
	Issuer        string         `yaml:"issuer"`
	PublicKeyFile string         `yaml:"public_key_file"`
	PublicKey     string         `yaml:"public_key"` // inline PEM or one-line base64, as pasted in the portal
	Key           *rsa.PublicKey `yaml:"-"`          // set directly by Go callers, or loaded from the two above
}

// OAuthClient is the OAuth-mode registration: the App Name and how to map the IdP's user to an agent.
type OAuthClient struct {
	AppName      string `yaml:"app_name"`
	UserEndpoint string `yaml:"user_endpoint"`
	MappingField string `yaml:"mapping_field"` // dotted path into the user endpoint's JSON
}

// Agent is a contact-center agent; AccountName is what JWT mode's user_name names.
type Agent struct {
	AccountName string `yaml:"account_name"`
	Email       string `yaml:"email"`
	Mobile      string `yaml:"mobile"`
}

// LoadConfig reads a YAML config strictly (unknown keys are errors), resolves a relative public_key_file
// against the config file's directory, loads the keys and validates the whole.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fuyunsim: %w", err)
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("fuyunsim: %s: the file is empty", path)
		}
		return nil, fmt.Errorf("fuyunsim: %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for i := range cfg.Clients {
		if j := cfg.Clients[i].JWT; j != nil && j.PublicKeyFile != "" && !filepath.IsAbs(j.PublicKeyFile) {
			j.PublicKeyFile = filepath.Join(dir, j.PublicKeyFile)
		}
	}
	if err := cfg.resolve(); err != nil {
		return nil, fmt.Errorf("fuyunsim: %s: %w", path, err)
	}
	return &cfg, nil
}

// resolve applies defaults, loads keys and checks everything that would otherwise fail a request.
func (cfg *Config) resolve() error {
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	switch {
	case cfg.TokenTTL == 0:
		cfg.TokenTTL = DefaultTokenTTL
	case cfg.TokenTTL < 2*time.Second:
		return fmt.Errorf("token_ttl %s is too short (at least 2s)", cfg.TokenTTL)
	}
	if len(cfg.Clients) == 0 {
		return errors.New("clients: at least one client is needed")
	}
	seen := map[string]bool{}
	for i := range cfg.Clients {
		c := &cfg.Clients[i]
		if err := c.resolve(); err != nil {
			return fmt.Errorf("clients[%d] (%s): %w", i, c.ClientID, err)
		}
		if seen[c.ClientID] {
			return fmt.Errorf("clients[%d]: client_id %q is listed twice", i, c.ClientID)
		}
		seen[c.ClientID] = true
	}
	names := map[string]bool{}
	for i, a := range cfg.Agents {
		switch {
		case strings.TrimSpace(a.AccountName) == "":
			return fmt.Errorf("agents[%d]: account_name is empty", i)
		case names[a.AccountName]:
			return fmt.Errorf("agents[%d]: account_name %q is listed twice", i, a.AccountName)
		}
		names[a.AccountName] = true
	}
	return nil
}

func (c *Client) resolve() error {
	switch {
	case c.ClientID == "":
		return errors.New("client_id is empty")
	case strings.ContainsAny(c.ClientID, ":\r\n"):
		return errors.New("client_id must not contain ':' or line breaks (HTTP Basic splits on the first colon)")
	case c.ClientSecret == "":
		return errors.New("client_secret is empty")
	case len(c.Scopes) == 0:
		return errors.New("scopes: list at least one, e.g. [user_management, hotline]")
	case c.JWT == nil && c.OAuth == nil:
		return errors.New("configure jwt, oauth or both")
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, ", \t") {
			return fmt.Errorf("scopes: %q is not a single scope name", s)
		}
	}
	if j := c.JWT; j != nil {
		if err := j.resolve(); err != nil {
			return fmt.Errorf("jwt: %w", err)
		}
	}
	if o := c.OAuth; o != nil {
		if err := o.check(); err != nil {
			return fmt.Errorf("oauth: %w", err)
		}
	}
	if c.JWT != nil && c.OAuth != nil && c.JWT.Issuer == c.OAuth.AppName {
		return errors.New("jwt.issuer and oauth.app_name are equal, so subject_issuer could not tell the modes apart")
	}
	return nil
}

func (j *JWTClient) resolve() error {
	if j.Issuer == "" {
		return errors.New("issuer is empty: the integrator's site, sent as iss and subject_issuer")
	}
	if j.Key != nil {
		return nil
	}
	var err error
	switch {
	case j.PublicKey != "" && j.PublicKeyFile != "":
		return errors.New("set public_key or public_key_file, not both")
	case j.PublicKey != "":
		j.Key, err = fuyun.ParsePublicKey([]byte(j.PublicKey))
	case j.PublicKeyFile != "":
		j.Key, err = fuyun.LoadPublicKeyFile(j.PublicKeyFile)
	default:
		return errors.New("no public key: set public_key_file (from fuyun-bridge keygen) or public_key")
	}
	return err
}

func (o *OAuthClient) check() error {
	switch {
	case o.AppName == "":
		return errors.New("app_name is empty: the App Name sent as subject_issuer")
	case o.MappingField == "" || strings.HasPrefix(o.MappingField, ".") || strings.HasSuffix(o.MappingField, ".") ||
		strings.Contains(o.MappingField, ".."):
		return fmt.Errorf("mapping_field %q is not a dotted path such as email or profile.mobile", o.MappingField)
	}
	u, err := url.Parse(o.UserEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("user_endpoint %q is not an absolute http(s) URL", o.UserEndpoint)
	}
	return nil
}
