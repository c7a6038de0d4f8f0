package config

import (
	"os"
	"strings"
	"testing"
)

// TestOverridePrecedence: a flag beats the environment, which beats the file; an override may create a key or
// a section the file lacks, fills booleans and durations like the file would, and is never ${VAR}-expanded.
func TestOverridePrecedence(t *testing.T) {
	doc := compose("server:\n  listen: \":8443\"\n  public_url: https://bridge.example.com\n")
	env := func(kv ...string) []Override {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return EnvOverrides(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
	}
	flag := func(name, path, v string) Override { return Override{Path: path, Value: v, Origin: "--" + name} }
	tests := []struct {
		name      string
		overrides []Override
		check     func(*Config) bool
	}{
		{"file", nil, func(c *Config) bool { return c.Server.Listen == ":8443" }},
		{"environment over file", env("FUYUN_BRIDGE_SERVER_LISTEN", ":9000"),
			func(c *Config) bool { return c.Server.Listen == ":9000" }},
		{"flag over environment", append(env("FUYUN_BRIDGE_SERVER_LISTEN", ":9000"), flag("listen", "server.listen", ":9100")),
			func(c *Config) bool { return c.Server.Listen == ":9100" }},
		{"empty variable is unset", env("FUYUN_BRIDGE_SERVER_LISTEN", ""),
			func(c *Config) bool { return c.Server.Listen == ":8443" }},
		{"new key in a present section", env("FUYUN_BRIDGE_COOKIE_DOMAIN", ".example.com"),
			func(c *Config) bool { return c.Cookie.Domain == ".example.com" }},
		{"new nested section", env("FUYUN_BRIDGE_LOG_LEVEL", "debug", "FUYUN_BRIDGE_API_RATE_LIMIT_PER_IP", "2.5"),
			func(c *Config) bool { return c.Log.Level == "debug" && c.API.RateLimit.PerIP == 2.5 }},
		{"boolean and duration", env("FUYUN_BRIDGE_LOG_ACCESS", "true", "FUYUN_BRIDGE_COOKIE_MAX_AGE", "1h"),
			func(c *Config) bool { return c.Log.Access && c.Cookie.MaxAge.Std().Hours() == 1 }},
		{"secret taken literally", env("FUYUN_BRIDGE_FUYUN_CLIENT_SECRET", "s${ecret}"),
			func(c *Config) bool { return c.Fuyun.ClientSecret == "s${ecret}" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(nil, nil)
			opts.Overrides = tc.overrides
			cfg, err := Parse([]byte(doc), opts)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("overrides %v did not take: %+v", tc.overrides, cfg.Server)
			}
		})
	}
}

// TestOverrideProblemsNameTheirOrigin: a bad value from the environment or a flag is reported at its key, by
// the variable or flag that set it instead of a line, and without echoing a secret.
func TestOverrideProblemsNameTheirOrigin(t *testing.T) {
	doc := compose("cookie:\n  secure: true\n")
	tests := []struct {
		override Override
		want     string
	}{
		{Override{"server.listen", "nope", "FUYUN_BRIDGE_SERVER_LISTEN"}, `config.yaml: server.listen (from FUYUN_BRIDGE_SERVER_LISTEN): "nope" is not a listen address`},
		{Override{"server.public_url", "ftp://x", "--public-url"}, `config.yaml: server.public_url (from --public-url): want an absolute http or https URL`},
		{Override{"cookie.secure", "maybe", "FUYUN_BRIDGE_COOKIE_SECURE"}, `config.yaml: cookie.secure (from FUYUN_BRIDGE_COOKIE_SECURE): want true or false`},
		{Override{"fuyun.timeout", "hunter2", "FUYUN_BRIDGE_FUYUN_TIMEOUT"}, `config.yaml: fuyun.timeout (from FUYUN_BRIDGE_FUYUN_TIMEOUT): want a duration`},
	}
	for _, tc := range tests {
		opts := testOptions(nil, nil)
		opts.Overrides = []Override{tc.override}
		_, err := Parse([]byte(doc), opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: %v\nwant %s", tc.override.Origin, tc.override.Value, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the problem echoes the value: %v", err)
		}
	}
}

// TestEnvVarsFollowTheConfig: the variables come from the Config struct (every single-value key of a section,
// nested ones too, no list and no provider key), and docs/configuration.md lists every one.
func TestEnvVarsFollowTheConfig(t *testing.T) {
	vars := map[string]string{}
	for _, v := range EnvVars() {
		vars[v.Name] = v.Path
	}
	for name, path := range map[string]string{
		"FUYUN_BRIDGE_SERVER_LISTEN": "server.listen", "FUYUN_BRIDGE_SERVER_PUBLIC_URL": "server.public_url",
		"FUYUN_BRIDGE_LOG_LEVEL": "log.level", "FUYUN_BRIDGE_COOKIE_DOMAIN": "cookie.domain",
		"FUYUN_BRIDGE_FUYUN_TOKEN_URL": "fuyun.token_url", "FUYUN_BRIDGE_FUYUN_CLIENT_SECRET": "fuyun.client_secret",
		"FUYUN_BRIDGE_SERVER_TLS_CERT_FILE": "server.tls.cert_file", "FUYUN_BRIDGE_FUYUN_JWT_TTL": "fuyun.jwt.ttl",
		"FUYUN_BRIDGE_COOKIE_SECURE": "cookie.secure",
	} {
		if vars[name] != path {
			t.Errorf("%s sets %q, want %s", name, vars[name], path)
		}
	}
	for name := range vars {
		if strings.Contains(name, "PROVIDERS") || name == "FUYUN_BRIDGE_SESSION_KEYS" || name == "FUYUN_BRIDGE_SERVER_TRUSTED_PROXIES" {
			t.Errorf("%s sets a list", name)
		}
	}
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range vars {
		if !strings.Contains(string(doc), "| `"+name+"` | `"+path+"` |") {
			t.Errorf("docs/configuration.md does not list | `%s` | `%s` |", name, path)
		}
	}
}
