package config

import (
	"errors"
	"strings"
	"testing"
)

func TestBaseIsValid(t *testing.T) {
	// Every bad case below is the base plus one change; the base itself must be clean for them to mean anything.
	mustParse(t, compose(""), nil, nil)
}

// badCase is a snippet that must be refused with a problem at path (and line, when non-zero) whose
// message contains msg.
type badCase struct {
	name    string
	snippet string
	env     map[string]string
	files   map[string]string
	path    string
	line    int
	msg     string
	// raw uses snippet as the whole document.
	raw bool
}

func runBad(t *testing.T, cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.snippet
			if !tc.raw {
				doc = compose(doc)
			}
			_, ps := parse(t, doc, tc.env, tc.files)
			if ps == nil {
				t.Fatalf("accepted:\n%s", doc)
			}
			for _, p := range ps {
				if p.Path == tc.path && (tc.line == 0 || p.Line == tc.line) && strings.Contains(p.Msg, tc.msg) {
					if p.File != "config.yaml" {
						t.Errorf("file = %q, want config.yaml", p.File)
					}
					return
				}
			}
			t.Errorf("no problem at %q (line %d) containing %q; got:%s", tc.path, tc.line, tc.msg, paths(ps))
		})
	}
}

func TestDecodeProblems(t *testing.T) {
	runBad(t, []badCase{
		{name: "unknown top-level key", snippet: "bogus: 1\n", path: "bogus", line: 1, msg: `unknown key "bogus"`},
		{name: "unknown nested key", snippet: "server:\n  public_url: https://bridge.example.com\n  tls:\n    certfile: x\n",
			path: "server.tls.certfile", line: 4, msg: "cert_file"},
		{name: "unknown key in inline provider config", snippet: baseProviders +
			"  - id: ms2\n    type: microsoft\n    tennant: organizations\n    client_id: c\n",
			path: "providers[1].tennant", line: 9, msg: `unknown key "tennant"`},
		{name: "unknown key in mapping", snippet: "providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    mapping:\n      transfrom: lowercase\n",
			path: "providers[0].mapping.transfrom", line: 7, msg: "transform"},
		{name: "RedirectURL is not a key", snippet: "providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    redirecturl: https://x.example.com\n",
			path: "providers[0].redirecturl", line: 6, msg: "unknown key"},
		{name: "duplicate key", snippet: "log:\n  level: info\n  level: debug\n", path: "log.level", line: 3, msg: "first set at line 2"},
		{name: "merge key", snippet: "log:\n  <<: {level: info}\n", path: "log.<<", line: 2, msg: "merge keys"},
		{name: "bool of wrong type", snippet: "cookie:\n  secure: maybe\n", path: "cookie.secure", line: 2, msg: "true or false"},
		{name: "list given a scalar", snippet: "redirects:\n  allowed: https://crm.example.com\n", path: "redirects.allowed", line: 2, msg: "want a list"},
		{name: "mapping given a scalar", snippet: "log: loud\n", path: "log", line: 1, msg: "want a mapping"},
		{name: "string given a mapping", snippet: "log:\n  level: {a: b}\n", path: "log.level", line: 2, msg: "want a string"},
		{name: "providers given a mapping", snippet: "providers:\n  id: ms\n", path: "providers", line: 2, msg: "want a list"},
		{name: "duration as bare number", snippet: "cookie:\n  max_age: 720\n", path: "cookie.max_age", line: 2, msg: "duration"},
		{name: "duration garbage", snippet: "fuyun:\n  client_id: c\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n  timeout: soon\n",
			path: "fuyun.timeout", line: 6, msg: "duration"},
		{name: "syntax error", snippet: "log:\n  level: [info\n", path: "", msg: "invalid YAML"},
		{name: "two documents", snippet: "log: {}\n---\nlog: {}\n", path: "", line: 2, msg: "more than one YAML document"},
		{name: "top level is a list", snippet: "- a\n", raw: true, path: "", line: 1, msg: "want a mapping"},
	})
}

func TestEnvProblems(t *testing.T) {
	runBad(t, []badCase{
		{name: "unset variable", snippet: "fuyun:\n  client_id: ${FUYUN_ID}\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n",
			path: "fuyun.client_id", line: 2, msg: "FUYUN_ID is not set"},
		{name: "two unset variables", snippet: "log:\n  level: ${A}${B}\n", path: "log.level", line: 2, msg: "A, B are not set"},
		{name: "unset in a list", snippet: "redirects:\n  allowed: [\"${CRM_ORIGIN}\"]\n", path: "redirects.allowed[0]", line: 2, msg: "CRM_ORIGIN"},
		{name: "malformed name", snippet: "log:\n  level: ${1X}\n", path: "log.level", line: 2, msg: "malformed"},
		{name: "unclosed", snippet: "log:\n  level: ${LEVEL\n", path: "log.level", line: 2, msg: "$${"},
		{name: "quoted reference is a string", snippet: "cookie:\n  secure: \"${SECURE}\"\n", env: map[string]string{"SECURE": "true"},
			path: "cookie.secure", line: 2, msg: "true or false"},
		{name: "keys are not expanded", snippet: "server:\n  public_url: https://bridge.example.com\n  ${KEY}: x\n", env: map[string]string{"KEY": "listen"},
			path: "server.${KEY}", line: 3, msg: "unknown key"},
	})
}

func TestSecretFileProblems(t *testing.T) {
	withFiles := map[string]string{"/cfg/empty": " \n\t\n", "/cfg/secret": "file-secret"}
	runBad(t, []badCase{
		{name: "fuyun secret and file", snippet: "fuyun:\n  client_id: c\n  client_secret: s\n  client_secret_file: secret\n  redirect_url: https://b.example.com/cb\n  app_name: a\n",
			files: withFiles, path: "fuyun.client_secret_file", line: 4, msg: "not both"},
		{name: "fuyun secret file missing", snippet: "fuyun:\n  client_id: c\n  client_secret_file: missing\n  redirect_url: https://b.example.com/cb\n  app_name: a\n",
			path: "fuyun.client_secret_file", line: 3, msg: "/cfg/missing"},
		{name: "fuyun secret file empty", snippet: "fuyun:\n  client_id: c\n  client_secret_file: empty\n  redirect_url: https://b.example.com/cb\n  app_name: a\n",
			files: withFiles, path: "fuyun.client_secret_file", line: 3, msg: "empty"},
		{name: "provider secret and file", snippet: "providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    client_secret: s\n    client_secret_file: /cfg/secret\n",
			files: withFiles, path: "providers[0].client_secret_file", line: 7, msg: "not both"},
		{name: "provider secret file missing", snippet: "providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    client_secret_file: sub/ms\n",
			path: "providers[0].client_secret_file", line: 6, msg: "/cfg/sub/ms"},
		{name: "private key and file", snippet: "fuyun:\n  client_id: c\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n  jwt:\n    private_key: k\n    private_key_file: secret\n",
			files: withFiles, path: "fuyun.jwt.private_key_file", line: 8, msg: "not both"},
		{name: "private key file missing", snippet: "fuyun:\n  client_id: c\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n  jwt:\n    private_key_file: /keys/k.pem\n",
			path: "fuyun.jwt.private_key_file", line: 7, msg: "/keys/k.pem"},
		{name: "session keys and file", snippet: "session:\n  keys: [\"" + keyA + "\"]\n  keys_file: secret\n",
			files: withFiles, path: "session.keys_file", line: 3, msg: "not both"},
		{name: "session keys file missing", snippet: "session:\n  keys_file: keys.txt\n", path: "session.keys_file", line: 2, msg: "/cfg/keys.txt"},
		{name: "session keys file bad line", snippet: "session:\n  keys_file: keys.txt\n",
			files: map[string]string{"/cfg/keys.txt": "# rotation\n" + keyA + "\n" + keyA + "x\n"}, path: "session.keys_file", line: 2, msg: "line 3 of /cfg/keys.txt"},
		{name: "session keys file with no pair", snippet: "session:\n  keys_file: keys.txt\n",
			files: map[string]string{"/cfg/keys.txt": "# nothing yet\n\n"}, path: "session.keys_file", line: 2, msg: "no key pair"},
		{name: "api keys file missing", snippet: "api:\n  keys_file: api.keys\n", path: "api.keys_file", line: 2, msg: "/cfg/api.keys"},
		{name: "accounts file missing", snippet: "providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    mapping:\n      accounts_file: accounts.csv\n",
			path: "providers[0].mapping.accounts_file", line: 7, msg: "/cfg/accounts.csv"},
		{name: "tls file missing", snippet: "server:\n  public_url: https://bridge.example.com\n  tls: {cert_file: c.pem, key_file: k.pem}\n",
			files: map[string]string{"/cfg/c.pem": "cert"}, path: "server.tls.key_file", line: 3, msg: "/cfg/k.pem"},
	})
}

func TestServerProblems(t *testing.T) {
	srv := func(lines string) string { return "server:\n" + lines }
	runBad(t, []badCase{
		{name: "public_url missing", snippet: srv("  listen: \":8080\"\n"), path: "server.public_url", line: 1, msg: "required"},
		{name: "public_url relative", snippet: srv("  public_url: /bridge\n"), path: "server.public_url", line: 2, msg: "absolute"},
		{name: "public_url not http", snippet: srv("  public_url: ftp://bridge.example.com\n"), path: "server.public_url", line: 2, msg: "http or https"},
		{name: "public_url with query", snippet: srv("  public_url: https://bridge.example.com/?a=b\n"), path: "server.public_url", line: 2, msg: "query"},
		{name: "public_url with fragment", snippet: srv("  public_url: https://bridge.example.com/#x\n"), path: "server.public_url", line: 2, msg: "fragment"},
		{name: "public_url http not loopback", snippet: srv("  public_url: http://bridge.example.com\n"), path: "server.public_url", line: 2, msg: "https"},
		{name: "public_url with user info", snippet: srv("  public_url: https://u:p@bridge.example.com\n"), path: "server.public_url", line: 2, msg: "user info"},
		{name: "listen without port", snippet: srv("  public_url: https://bridge.example.com\n  listen: \"8080\"\n"), path: "server.listen", line: 3, msg: "listen address"},
		{name: "metrics_listen bad port", snippet: srv("  public_url: https://bridge.example.com\n  metrics_listen: \":http\"\n"), path: "server.metrics_listen", line: 3, msg: "listen address"},
		{name: "trusted proxy not an IP", snippet: srv("  public_url: https://bridge.example.com\n  trusted_proxies: [10.0.0.0/8, proxy.local]\n"),
			path: "server.trusted_proxies[1]", line: 3, msg: "proxy.local"},
		{name: "trusted proxy bad CIDR", snippet: srv("  public_url: https://bridge.example.com\n  trusted_proxies:\n    - 10.0.0.0/33\n"),
			path: "server.trusted_proxies[0]", line: 4, msg: "CIDR"},
		{name: "tls cert without key", snippet: srv("  public_url: https://bridge.example.com\n  tls:\n    cert_file: c.pem\n"),
			path: "server.tls", line: 3, msg: "both"},
		{name: "tls key without cert", snippet: srv("  public_url: https://bridge.example.com\n  tls:\n    key_file: k.pem\n"),
			path: "server.tls", line: 3, msg: "both"},
	})
}

func TestSessionProblems(t *testing.T) {
	runBad(t, []badCase{
		{name: "no keys", snippet: "session: {}\n", path: "session.keys", line: 1, msg: "at least one"},
		{name: "no session section", snippet: "log: {}\nsession:\n", path: "session.keys", line: 2, msg: "at least one"},
		{name: "no colon", snippet: "session:\n  keys: [\"" + strings.Replace(keyA, ":", "", 1) + "\"]\n", path: "session.keys[0]", line: 2, msg: "two base64 keys of 32 bytes"},
		{name: "hash not base64", snippet: "session:\n  keys:\n    - \"" + keyA + "\"\n    - \"not*base64:" + strings.SplitN(keyA, ":", 2)[1] + "\"\n",
			path: "session.keys[1]", line: 4, msg: "hash key is not valid base64"},
		{name: "hash too short", snippet: "session:\n  keys: [\"" + key16 + ":" + strings.SplitN(keyA, ":", 2)[1] + "\"]\n",
			path: "session.keys[0]", line: 2, msg: "hash key decodes to 16 bytes, want 32"},
		{name: "block too short", snippet: "session:\n  keys: [\"" + strings.SplitN(keyA, ":", 2)[0] + ":" + key16 + "\"]\n",
			path: "session.keys[0]", line: 2, msg: "block key decodes to 16 bytes, want 32"},
	})
}

func TestCookieProblems(t *testing.T) {
	loopback := "server:\n  public_url: http://127.0.0.1:8080\n"
	runBad(t, []badCase{
		{name: "insecure on https", snippet: "cookie:\n  secure: false\n", path: "cookie.secure", line: 2, msg: "loopback"},
		{name: "insecure on http localhost is fine but none needs secure", snippet: loopback + "cookie:\n  secure: false\n  same_site: none\n",
			path: "cookie.same_site", line: 5, msg: "requires secure"},
		{name: "same_site unknown", snippet: "cookie:\n  same_site: relaxed\n", path: "cookie.same_site", line: 2, msg: "lax, strict or none"},
		{name: "same_site is case-sensitive", snippet: "cookie:\n  same_site: Lax\n", path: "cookie.same_site", line: 2, msg: "lax, strict or none"},
		{name: "partitioned with lax", snippet: "cookie:\n  partitioned: true\n", path: "cookie.partitioned", line: 2, msg: "same_site: none"},
		{name: "partitioned without secure", snippet: loopback + "cookie:\n  secure: false\n  same_site: none\n  partitioned: true\n",
			path: "cookie.partitioned", line: 6, msg: "secure: true"},
		{name: "domain not containing host", snippet: "cookie:\n  domain: .other.com\n", path: "cookie.domain", line: 2, msg: "bridge.example.com"},
		{name: "domain suffix without dot boundary", snippet: "cookie:\n  domain: ample.com\n", path: "cookie.domain", line: 2, msg: "does not contain"},
		{name: "domain more specific than host", snippet: "cookie:\n  domain: x.bridge.example.com\n", path: "cookie.domain", line: 2, msg: "does not contain"},
		{name: "domain on IP host", snippet: "server:\n  public_url: http://127.0.0.1\ncookie:\n  domain: .example.com\n", path: "cookie.domain", line: 4, msg: "IP address"},
		{name: "domain not a name", snippet: "cookie:\n  domain: \"exa mple.com\"\n", path: "cookie.domain", line: 2, msg: "not a domain name"},
		{name: "domain single label", snippet: "cookie:\n  domain: .com\n", path: "cookie.domain", line: 2, msg: "not a domain name"},
		{name: "max_age zero", snippet: "cookie:\n  max_age: 0s\n", path: "cookie.max_age", line: 2, msg: "positive"},
		{name: "max_age negative", snippet: "cookie:\n  max_age: -1h\n", path: "cookie.max_age", line: 2, msg: "positive"},
		{name: "name with space", snippet: "cookie:\n  name: AC TOKEN\n", path: "cookie.name", line: 2, msg: "cookie name"},
	})
}

func TestOriginProblems(t *testing.T) {
	var cases []badCase
	for _, c := range []struct{ name, origin, msg string }{
		{"http not loopback", "http://crm.example.com", "must be https"},
		{"http wildcard", "http://*.localhost", "must be https"},
		{"scheme missing", "crm.example.com", "want an origin"},
		{"other scheme", "ftp://crm.example.com", "scheme must be https"},
		{"path", "https://crm.example.com/app", "no user, path"},
		{"query", "https://crm.example.com?a=b", "no user, path"},
		{"fragment", "https://crm.example.com#top", "no user, path"},
		{"user info", "https://u@crm.example.com", "no user, path"},
		{"inner wildcard", "https://a.*.example.com", "whole first label"},
		{"partial wildcard", "https://*crm.example.com", "whole first label"},
		{"wildcard on tld", "https://*.com", "two labels"},
		{"bad host", "https://crm_example.com", "not a domain name"},
		{"empty", "", "want an origin"},
	} {
		cases = append(cases,
			badCase{name: "redirects " + c.name, snippet: "redirects:\n  allowed:\n    - https://ok.example.com\n    - \"" + c.origin + "\"\n",
				path: "redirects.allowed[1]", line: 4, msg: c.msg},
			badCase{name: "embed " + c.name, snippet: "embed:\n  allowed_origins: [\"" + c.origin + "\"]\n",
				path: "embed.allowed_origins[0]", line: 2, msg: c.msg})
	}
	runBad(t, cases)
}

func TestFuyunProblems(t *testing.T) {
	fy := func(extra string) string {
		return "fuyun:\n  client_id: c\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: crmapp\n" + extra
	}
	jwtProvider := "providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    fuyun_mode: jwt\n"
	runBad(t, []badCase{
		{name: "token_url http", snippet: fy("  token_url: http://signin.example.com/token\n"), path: "fuyun.token_url", line: 6, msg: "https"},
		{name: "token_url relative", snippet: fy("  token_url: /oauth/token_exchange\n"), path: "fuyun.token_url", line: 6, msg: "absolute"},
		{name: "client_id missing", snippet: "fuyun:\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n", path: "fuyun.client_id", line: 1, msg: "required"},
		{name: "client secret missing", snippet: "fuyun:\n  client_id: c\n  redirect_url: https://b.example.com/cb\n  app_name: a\n", path: "fuyun.client_secret", line: 1, msg: "required"},
		{name: "mode unknown", snippet: fy("  mode: saml\n"), path: "fuyun.mode", line: 6, msg: "oauth or jwt"},
		{name: "app_name missing with oauth provider", snippet: "fuyun:\n  client_id: c\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n",
			path: "fuyun.app_name", line: 1, msg: "required when a provider uses oauth"},
		{name: "app_name too long", snippet: strings.Replace(fy(""), "crmapp", "crmapplication", 1), path: "fuyun.app_name", line: 5, msg: "1 to 10 letters and digits"},
		{name: "app_name with dash", snippet: strings.Replace(fy(""), "crmapp", "crm-app", 1), path: "fuyun.app_name", line: 5, msg: "1 to 10 letters and digits"},
		{name: "jwt issuer missing", snippet: fy("  jwt:\n    private_key: k\n") + jwtProvider, path: "fuyun.jwt.issuer", line: 6, msg: "jwt mode"},
		{name: "jwt key missing", snippet: fy("  jwt:\n    issuer: https://crm.example.com\n") + jwtProvider, path: "fuyun.jwt.private_key", line: 6, msg: "jwt mode"},
		{name: "jwt section missing with default jwt mode", snippet: fy("  mode: jwt\n"), path: "fuyun.jwt.issuer", line: 1, msg: "jwt mode"},
		{name: "jwt ttl too short", snippet: fy("  jwt:\n    ttl: 10s\n"), path: "fuyun.jwt.ttl", line: 7, msg: "between 30s and 1h0m0s"},
		{name: "jwt ttl too long", snippet: fy("  jwt:\n    ttl: 2h\n"), path: "fuyun.jwt.ttl", line: 7, msg: "out of range"},
		{name: "redirect_url missing", snippet: "fuyun:\n  client_id: c\n  client_secret: s\n  app_name: a\n", path: "fuyun.redirect_url", line: 1, msg: "required"},
		{name: "redirect_url not a URL", snippet: strings.Replace(fy(""), "https://b.example.com/cb", "callback", 1), path: "fuyun.redirect_url", line: 4, msg: "absolute"},
		{name: "timeout zero", snippet: fy("  timeout: 0s\n"), path: "fuyun.timeout", line: 6, msg: "positive"},
	})
}

func TestProviderProblems(t *testing.T) {
	one := func(lines string) string { return "providers:\n  - id: p\n" + lines }
	runBad(t, []badCase{
		{name: "null", snippet: "providers:\n", path: "providers", line: 1, msg: "at least one"},
		{name: "empty list", snippet: "providers: []\n", path: "providers", line: 1, msg: "at least one"},
		{name: "id missing", snippet: "providers:\n  - type: google\n    client_id: c\n", path: "providers[0].id", line: 2, msg: "required"},
		{name: "id upper case", snippet: "providers:\n  - id: Google\n    type: google\n    client_id: c\n", path: "providers[0].id", line: 2, msg: `"Google"`},
		{name: "id with slash", snippet: "providers:\n  - id: a/b\n    type: google\n    client_id: c\n", path: "providers[0].id", line: 2, msg: "a-z"},
		{name: "id too long", snippet: "providers:\n  - id: " + strings.Repeat("a", 33) + "\n    type: google\n    client_id: c\n", path: "providers[0].id", line: 2, msg: "1 to 32"},
		{name: "id duplicate", snippet: baseProviders + "  - id: ms\n    type: google\n    client_id: c\n", path: "providers[1].id", line: 7, msg: "providers[0]"},
		{name: "type unknown", snippet: one("    type: saml\n    client_id: c\n"), path: "providers[0].type", line: 3, msg: "oidc"},
		{name: "type missing", snippet: one("    client_id: c\n"), path: "providers[0].type", line: 2, msg: "required: one of"},
		{name: "client_id missing", snippet: one("    type: google\n"), path: "providers[0].client_id", line: 2, msg: "required"},
		{name: "oidc without issuer", snippet: one("    type: oidc\n    client_id: c\n"), path: "providers[0].issuer", line: 2, msg: "oidc"},
		{name: "oidc issuer http", snippet: one("    type: oidc\n    client_id: c\n    issuer: http://idp.example.com\n"), path: "providers[0].issuer", line: 5, msg: "https"},
		{name: "oauth2 without auth_url", snippet: one("    type: oauth2\n    client_id: c\n    token_url: https://i.example.com/t\n    userinfo_url: https://i.example.com/u\n"),
			path: "providers[0].auth_url", line: 2, msg: "oauth2"},
		{name: "oauth2 without token_url", snippet: one("    type: oauth2\n    client_id: c\n    auth_url: https://i.example.com/a\n    userinfo_url: https://i.example.com/u\n"),
			path: "providers[0].token_url", line: 2, msg: "oauth2"},
		{name: "oauth2 without userinfo_url", snippet: one("    type: oauth2\n    client_id: c\n    auth_url: https://i.example.com/a\n    token_url: https://i.example.com/t\n"),
			path: "providers[0].userinfo_url", line: 2, msg: "oauth2"},
		{name: "oauth2 relative url", snippet: one("    type: oauth2\n    client_id: c\n    auth_url: /a\n    token_url: https://i.example.com/t\n    userinfo_url: https://i.example.com/u\n"),
			path: "providers[0].auth_url", line: 5, msg: "absolute"},
		{name: "microsoft open to every tenant", snippet: one("    type: microsoft\n    client_id: c\n    tenant: organizations\n"),
			path: "providers[0].allowed_tenants", line: 2, msg: "admits every Entra tenant"},
		{name: "microsoft common open to every tenant, own field", snippet: one("    type: microsoft\n    client_id: c\n    tenant: common\n    mapping: {field: upn, transform: lowercase}\n"),
			path: "providers[0].allowed_tenants", line: 2, msg: "another tenant's user"},
		{name: "microsoft without tenant", snippet: one("    type: microsoft\n    client_id: c\n"), path: "providers[0].tenant", line: 2, msg: "organizations"},
		{name: "own fuyun client without client_id", snippet: one("    type: google\n    client_id: c\n    fuyun:\n      client_secret: s\n"),
			path: "providers[0].fuyun.client_id", line: 5, msg: "required"},
		{name: "own fuyun client without secret", snippet: one("    type: google\n    client_id: c\n    fuyun:\n      client_id: f\n"),
			path: "providers[0].fuyun.client_secret", line: 5, msg: "required"},
		{name: "own fuyun client bad app_name", snippet: one("    type: google\n    client_id: c\n    fuyun:\n      client_id: f\n      client_secret: s\n      app_name: a-b\n"),
			path: "providers[0].fuyun.app_name", line: 8, msg: "1 to 10 letters"},
		{name: "microsoft bad tenant", snippet: one("    type: microsoft\n    client_id: c\n    tenant: a/b\n"), path: "providers[0].tenant", line: 5, msg: "neither a tenant id"},
		{name: "salesforce without domain", snippet: one("    type: salesforce\n    client_id: c\n"), path: "providers[0].domain", line: 2, msg: "login.salesforce.com"},
		{name: "salesforce domain with scheme", snippet: one("    type: salesforce\n    client_id: c\n    domain: https://login.salesforce.com\n"),
			path: "providers[0].domain", line: 5, msg: "no scheme"},
		{name: "key of another type", snippet: one("    type: oidc\n    client_id: c\n    issuer: https://idp.example.com\n    tenant: common\n"),
			path: "providers[0].tenant", line: 6, msg: `unknown key "tenant" for type oidc (its keys: `},
		{name: "salesforce has no issuer", snippet: one("    type: salesforce\n    client_id: c\n    domain: login.salesforce.com\n    issuer: https://x.example\n"),
			path: "providers[0].issuer", line: 6, msg: `unknown key "issuer" for type salesforce`},
		{name: "fuyun_mode unknown", snippet: one("    type: google\n    client_id: c\n    fuyun_mode: saml\n"), path: "providers[0].fuyun_mode", line: 5, msg: "oauth or jwt"},
		{name: "transform unknown", snippet: one("    type: google\n    client_id: c\n    mapping:\n      transform: upper\n"),
			path: "providers[0].mapping.transform", line: 6, msg: `unknown transform "upper" (want none, lowercase, strip_domain or e164)`},
		{name: "field with empty segment", snippet: one("    type: google\n    client_id: c\n    mapping:\n      field: address..phone\n"),
			path: "providers[0].mapping.field", line: 6, msg: "dotted path"},
		{name: "field trailing dot", snippet: one("    type: google\n    client_id: c\n    mapping:\n      field: \"email.\"\n"),
			path: "providers[0].mapping.field", line: 6, msg: "dotted path"},
		{name: "fallback empty", snippet: one("    type: google\n    client_id: c\n    mapping:\n      fallbacks: [upn, \"\"]\n"),
			path: "providers[0].mapping.fallbacks[1]", line: 6, msg: "dotted path"},
		{name: "allowed domain with at", snippet: one("    type: google\n    client_id: c\n    mapping:\n      allowed_domains: [\"@corp.example.com\"]\n"),
			path: "providers[0].mapping.allowed_domains[0]", line: 6, msg: "domain name"},
		{name: "require_verified not bool", snippet: one("    type: google\n    client_id: c\n    mapping:\n      require_verified: sometimes\n"),
			path: "providers[0].mapping.require_verified", line: 6, msg: "true or false"},
	})
}

func TestLogProblems(t *testing.T) {
	runBad(t, []badCase{
		{name: "level unknown", snippet: "log:\n  level: verbose\n", path: "log.level", line: 2, msg: "debug, info, warn or error"},
		{name: "format unknown", snippet: "log:\n  format: logfmt\n", path: "log.format", line: 2, msg: "json or text"},
	})
}

func TestAPIRateLimitProblems(t *testing.T) {
	runBad(t, []badCase{
		{name: "per_key zero", snippet: "api:\n  rate_limit:\n    per_key: 0\n", path: "api.rate_limit.per_key", line: 3, msg: "greater than 0"},
		{name: "per_ip negative", snippet: "api:\n  rate_limit:\n    per_ip: -1\n", path: "api.rate_limit.per_ip", line: 3, msg: "greater than 0"},
		{name: "per_key_burst zero", snippet: "api:\n  rate_limit:\n    per_key_burst: 0\n", path: "api.rate_limit.per_key_burst", line: 3, msg: "greater than 0"},
		{name: "per_ip_burst not a number", snippet: "api:\n  rate_limit:\n    per_ip_burst: many\n", path: "api.rate_limit.per_ip_burst", line: 3, msg: "want"},
	})
}

func TestAPIRateLimitParsed(t *testing.T) {
	cfg := mustParse(t, compose("api:\n  rate_limit: {per_key: 2.5, per_key_burst: 5, per_ip: 1, per_ip_burst: 3}\n"), nil, nil)
	want := APIRateLimit{PerKey: 2.5, PerKeyBurst: 5, PerIP: 1, PerIPBurst: 3}
	if cfg.API.RateLimit != want {
		t.Errorf("rate_limit = %+v, want %+v", cfg.API.RateLimit, want)
	}
}

// TestPostureRefusalsAndWarnings: settings that parse but weaken a protection. A catch-all trusted_proxies is
// refused unless explicitly allowed; Salesforce without an organization_id pin, Google without a domain pin and
// /metrics on the public listener are accepted with a warning at the key's line.
func TestPostureRefusalsAndWarnings(t *testing.T) {
	const fuyunBlock = "fuyun:\n  client_id: crm\n  client_secret: s\n  redirect_url: https://crm.example.com/cb\n  app_name: app\n"
	doc := func(server, provider string) string {
		return "server:\n  public_url: https://bridge.example.com\n" + server + "session: {keys: [\"" + keyA + "\"]}\n" + fuyunBlock + "providers:\n" + provider
	}
	const oidc = "  - {id: corp, type: oidc, issuer: https://idp.example.com, client_id: c, client_secret: s}\n"
	const quietServer = "" // /metrics is off the public listener by default
	for _, proxy := range []string{"0.0.0.0/0", "::/0"} {
		_, err := Parse([]byte(doc(quietServer+"  trusted_proxies: [\""+proxy+"\"]\n", oidc)), ParseOptions{})
		if err == nil || !strings.Contains(err.Error(), "server.trusted_proxies[0]") || !strings.Contains(err.Error(), "allow_insecure_trusted_proxies") {
			t.Errorf("trusted_proxies %s: %v, want a refusal naming allow_insecure_trusted_proxies", proxy, err)
		}
		cfg, err := Parse([]byte(doc(quietServer+"  trusted_proxies: [\""+proxy+"\"]\n  allow_insecure_trusted_proxies: true\n", oidc)), ParseOptions{})
		if err != nil || len(cfg.Warnings) != 0 {
			t.Errorf("trusted_proxies %s explicitly allowed: %v, warnings %v", proxy, err, cfg.Warnings)
		}
	}
	cases := []struct {
		name, server, provider, path string
	}{
		{"public metrics", "  metrics_public: true\n", oidc, "server.metrics_public"},
		{"salesforce any org", quietServer, "  - {id: sf, type: salesforce, domain: login.salesforce.com, client_id: c, client_secret: s}\n", "providers[0].mapping.require_claims"},
		{"google any account", quietServer, "  - {id: g, type: google, client_id: c, client_secret: s}\n", "providers[0].mapping.allowed_domains"},
	}
	for _, tc := range cases {
		cfg, err := Parse([]byte(doc(tc.server, tc.provider)), ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(cfg.Warnings) != 1 || cfg.Warnings[0].Path != tc.path || cfg.Warnings[0].Line == 0 {
			t.Errorf("%s: warnings %v, want one at %s with a line", tc.name, cfg.Warnings, tc.path)
		}
	}
	pinned := []string{
		"  - {id: sf, type: salesforce, domain: login.salesforce.com, client_id: c, client_secret: s, mapping: {require_claims: [{claim: organization_id, values: [00D000000000001]}]}}\n",
		"  - {id: g, type: google, client_id: c, client_secret: s, mapping: {allowed_domains: [corp.example.com]}}\n",
		"  - {id: g, type: google, client_id: c, client_secret: s, mapping: {require_claims: [{claim: hd, values: [corp.example.com]}]}}\n",
	}
	for _, pr := range pinned {
		cfg, err := Parse([]byte(doc(quietServer, pr)), ParseOptions{})
		if err != nil || len(cfg.Warnings) != 0 {
			t.Errorf("pinned provider %q: %v, warnings %v", pr, err, cfg.Warnings)
		}
	}
}

// TestUnknownTypeDoesNotCascade: an unknown type is the one problem of its entry — not also one "unknown key" per
// key of the type the author meant, nor the mapping problems that follow from having no preset.
func TestUnknownTypeDoesNotCascade(t *testing.T) {
	doc := compose("providers:\n  - id: p\n    type: okta\n    client_id: c\n    issuer: https://corp.okta.com\n    tenant: x\n")
	_, err := Parse([]byte(doc), testOptions(nil, nil))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse: %v", err)
	}
	if len(ps) != 1 || ps[0].Path != "providers[0].type" || !strings.Contains(ps[0].Msg, `unknown type "okta"`) {
		t.Errorf("problems:\n%v\nwant exactly the unknown type", err)
	}
}

// TestTypoDoesNotCascade: a misspelt key close to a missing one (edit distance 2 or less) is reported once, with
// the key it likely meant, and not also as that key's "required".
func TestTypoDoesNotCascade(t *testing.T) {
	tests := []struct{ snippet, path, msg, absent string }{
		{"server:\n  publc_url: https://bridge.example.com\n", "server.publc_url", `unknown key "publc_url" (did you mean public_url?)`, "server.public_url"},
		{"fuyun:\n  client_di: c\n  client_secret: s\n  redirect_url: https://crm.example.com/cb\n  app_name: app\n",
			"fuyun.client_di", `unknown key "client_di" (did you mean client_id?)`, "fuyun.client_id"},
		{"providers:\n  - {id: p, type: oidc, isuser: https://idp.example.com, client_id: c, client_secret: s}\n",
			"providers[0].isuser", `unknown key "isuser" (did you mean issuer?)`, "providers[0].issuer"},
	}
	for _, tc := range tests {
		_, ps := parse(t, compose(tc.snippet), nil, nil)
		if len(ps) != 1 || ps[0].Path != tc.path || ps[0].Msg != tc.msg {
			t.Errorf("%q: problems:%s\nwant only %s: %s", tc.snippet, paths(ps), tc.path, tc.msg)
		}
		if _, ok := find(ps, tc.absent); ok {
			t.Errorf("%q: also reported %s", tc.snippet, tc.absent)
		}
	}
}
