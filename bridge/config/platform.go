package config

import (
	"strings"
	"time"
)

// Store is platform mode's tenant database. Leaving driver out keeps the bridge one company per deployment
// (the file's own providers); setting it serves the store's tenants under /t/{id}/ besides them.
type Store struct {
	// Driver is sqlite (one replica) or postgres (several replicas sharing one database).
	Driver string `yaml:"driver"`
	// Path is the SQLite database file, created if missing.
	Path string `yaml:"path"`
	// DSN is PostgreSQL's connection string (URL or key=value). Secret: it usually holds a password.
	DSN     string `yaml:"dsn"`
	DSNFile string `yaml:"dsn_file"`
	// EncryptionKeys seal the tenants' secrets at rest (AES-256-GCM): base64 of 32 random bytes each; the first
	// seals, all open, so a new key goes first and the old one stays until `store rotate-keys` has run. Secret.
	EncryptionKeys []string `yaml:"encryption_keys"`
	// EncryptionKeysFile holds one key per line; # starts a comment.
	EncryptionKeysFile string `yaml:"encryption_keys_file"`
	// PollInterval is how often each replica checks the store for changes besides PostgreSQL's notifications;
	// default 1s.
	PollInterval Duration `yaml:"poll_interval"`

	// Keys are EncryptionKeys (or the file's lines) decoded.
	Keys [][]byte `yaml:"-"`
}

// Enabled reports whether platform mode is on.
func (s Store) Enabled() bool { return s.Driver != "" }

// Admin is platform mode's admin API, on its own listener.
type Admin struct {
	// Listen is the admin API's address; default 127.0.0.1:8081 (loopback: put it behind your own access
	// control to reach it from elsewhere).
	Listen string `yaml:"listen"`
	// KeysFile holds the hashed admin keys (`fuyun-bridge admin apikey`); without it the admin API is off.
	KeysFile string `yaml:"keys_file"`
	// Scopes limits admin keys to tenants: key id → tenant ids. A key not listed may act on every tenant.
	Scopes map[string][]string `yaml:"scopes"`
}

// Platform-mode defaults.
const (
	DefaultAdminListen       = "127.0.0.1:8081"
	DefaultStorePollInterval = Duration(time.Second)
)

// platformDefaults fills the store and admin sections' defaults when platform mode is on.
func (p *parser) platformDefaults(c *Config) {
	if !c.Store.Enabled() {
		return
	}
	setDefault(&c.Admin.Listen, DefaultAdminListen)
	if !p.given["store.poll_interval"] {
		c.Store.PollInterval = DefaultStorePollInterval
	}
}

// validatePlatform checks the store and admin sections: everything platform mode needs, or nothing of it.
func (p *parser) validatePlatform(c *Config) {
	s, a := &c.Store, &c.Admin
	if !s.Enabled() {
		for path, set := range map[string]bool{
			"store.path": s.Path != "", "store.dsn": s.DSN != "", "store.dsn_file": s.DSNFile != "",
			"store.encryption_keys": len(s.EncryptionKeys) > 0, "store.encryption_keys_file": s.EncryptionKeysFile != "",
			"admin.listen": a.Listen != "", "admin.keys_file": a.KeysFile != "", "admin.scopes": len(a.Scopes) > 0,
		} {
			if set {
				p.addf(path, "is platform mode's: set store.driver (sqlite or postgres) too, or remove it")
			}
		}
		return
	}
	switch s.Driver {
	case "sqlite":
		if s.Path == "" {
			p.addf("store.path", "required with driver sqlite: the database file, e.g. /var/lib/fuyun-bridge/tenants.db")
		}
		if s.DSN != "" || s.DSNFile != "" {
			p.addf("store.dsn", "is for driver postgres; sqlite takes store.path")
		}
	case "postgres":
		if s.DSN == "" {
			p.addf("store.dsn", "required with driver postgres (or dsn_file), e.g. postgres://bridge@db/bridge")
		}
		if s.Path != "" {
			p.addf("store.path", "is for driver sqlite; postgres takes store.dsn or store.dsn_file")
		}
	default:
		p.addf("store.driver", "unknown driver %q (want sqlite or postgres)", s.Driver)
	}
	p.encryptionKeys(s)
	if s.PollInterval < Duration(100*time.Millisecond) && !p.failedAt("store.poll_interval") {
		p.addf("store.poll_interval", "must be at least 100ms")
	}
	p.listenAddr("admin.listen", a.Listen)
	if a.Listen != "" && a.Listen == c.Server.Listen && !strings.HasSuffix(a.Listen, ":0") {
		p.addf("admin.listen", "is server.listen: the admin API needs its own listener, never the public one")
	}
	if a.KeysFile != "" {
		p.readFile("admin.keys_file", a.KeysFile)
	}
	for key, ids := range a.Scopes {
		path := "admin.scopes." + key
		if len(ids) == 0 {
			p.addf(path, "lists no tenant: remove the key from scopes to let it act on every tenant")
		}
		for i, id := range ids {
			if !tenantID.MatchString(id) {
				p.addf(indexPath(path, i), "%q is not a tenant id", id)
			}
		}
	}
}

// encryptionKeys decodes the store's keyring from encryption_keys or encryption_keys_file. Errors never echo
// a key.
func (p *parser) encryptionKeys(s *Store) {
	lines, path := s.EncryptionKeys, "store.encryption_keys"
	if s.EncryptionKeysFile != "" {
		path = "store.encryption_keys_file"
		if len(s.EncryptionKeys) > 0 {
			p.addf(path, "set encryption_keys or encryption_keys_file, not both")
			return
		}
		text, ok := p.readFile(path, s.EncryptionKeysFile)
		if !ok {
			return
		}
		lines = nil
		for line := range strings.SplitSeq(text, "\n") {
			if line, _, _ = strings.Cut(line, "#"); strings.TrimSpace(line) != "" {
				lines = append(lines, line)
			}
		}
	}
	if len(lines) == 0 {
		p.addf(path, "at least one key is required: base64 of 32 random bytes (openssl rand -base64 32)")
		return
	}
	for i, line := range lines {
		k, err := decodeKey("key", line) // AES-256: 32 bytes, as a session key
		if err != nil {
			p.addf(indexPath(path, i), "%v", err)
			continue
		}
		s.Keys = append(s.Keys, k)
	}
}
