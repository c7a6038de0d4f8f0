package config

import (
	"errors"
	"strings"
	"testing"
)

// A minimal valid tenant; a test snippet replaces the sections whose top-level keys it has (see composeWith).
const (
	tenantHead      = "id: acme\ndomains: [acme.com]\n"
	tenantPublicURL = "https://bridge.example.com"
)

// composeTenant is compose for a tenant: snippet first, then the base sections it does not replace.
func composeTenant(snippet string) string {
	have := map[string]bool{}
	for _, m := range topKey.FindAllStringSubmatch(snippet, -1) {
		have[m[1]] = true
	}
	doc := snippet
	for _, s := range []string{tenantHead, baseFuyun, baseProviders} {
		if k := topKey.FindStringSubmatch(s)[1]; !have[k] {
			doc += s
		}
	}
	return doc
}

// tenantOptions are hermetic TenantOptions for the admin API (no files) or, with files, for `tenants import`.
func tenantOptions(files map[string]string) TenantOptions {
	o := testOptions(nil, files)
	return TenantOptions{Name: "tenant.yaml", PublicURL: tenantPublicURL, AllowFiles: files != nil,
		Dir: o.Dir, LookupEnv: o.LookupEnv, ReadFile: o.ReadFile}
}

// parseTenant parses doc and returns the tenant or the problems.
func parseTenant(t *testing.T, doc string, opts TenantOptions) (*Tenant, Problems) {
	t.Helper()
	tn, err := ParseTenant([]byte(doc), opts)
	if err == nil {
		return tn, nil
	}
	var ps Problems
	if !errors.As(err, &ps) || len(ps) == 0 {
		t.Fatalf("ParseTenant error is %T, want Problems: %v", err, err)
	}
	return nil, ps
}

func TestTenantBaseIsValid(t *testing.T) {
	tn, ps := parseTenant(t, composeTenant(""), tenantOptions(nil))
	if ps != nil {
		t.Fatalf("problems:%s", paths(ps))
	}
	if got, want := tn.Providers[0].RedirectURL, tenantPublicURL+"/t/acme/callback/ms"; got != want {
		t.Errorf("redirect URI = %s, want %s", got, want)
	}
	if tn.DisplayName != "acme" || tn.Fuyun.TokenURL != DefaultFuyunTokenURL || tn.Providers[0].Mode() != ModeOAuth {
		t.Errorf("defaults not applied: display_name %q, token_url %q, mode %q", tn.DisplayName, tn.Fuyun.TokenURL, tn.Providers[0].Mode())
	}
}

// TestTenantFromJSON: the admin API's JSON is read by the same parser; lines are JSON's lines, and JSON's \/
// escape, which YAML lacks, is understood.
func TestTenantFromJSON(t *testing.T) {
	doc := `{
	"id": "acme",
	"domains": ["acme.com"],
	"fuyun": {"client_id": "c", "client_secret": "s", "redirect_url": "https:\/\/bridge.example.com\/cb", "app_name": "crmapp"},
	"providers": [
		{"id": "ms", "type": "microsoft", "tenant": "organizations",
		 "allowed_tenants": ["72f988bf-86f1-41af-91ab-2d7cd011db47"], "client_id": "ms-client"}
	]
}`
	tn, ps := parseTenant(t, doc, tenantOptions(nil))
	if ps != nil {
		t.Fatalf("problems:%s", paths(ps))
	}
	if tn.Fuyun.RedirectURL != "https://bridge.example.com/cb" {
		t.Errorf("redirect_url = %q", tn.Fuyun.RedirectURL)
	}
	bad := strings.Replace(doc, `"tenant": "organizations"`, `"tennant": "organizations", "tenant": "organizations"`, 1)
	_, ps = parseTenant(t, bad, tenantOptions(nil))
	if p, ok := find(ps, "providers[0].tennant"); !ok || p.Line != 6 {
		t.Errorf("want the unknown key at line 6; got:%s", paths(ps))
	}
}

func TestTenantRefusals(t *testing.T) {
	processWide := "is a process-wide setting: it belongs in the bridge's YAML file, not in a tenant"
	cases := []struct {
		name, snippet string
		files         map[string]string
		path          string
		line          int
		msg           string
	}{
		{"bad id", "id: Acme\n", nil, "id", 1, `"Acme": want 1 to 63 of a-z`},
		{"id too long", "id: " + strings.Repeat("a", 64) + "\n", nil, "id", 1, "want 1 to 63"},
		{"missing id", "id:\ndomains: [acme.com]\n", nil, "id", 1, "required"},
		{"duplicate domain", "id: acme\ndomains: [acme.com, acme.org, acme.com]\n", nil, "domains[2]", 2, `"acme.com" is already domains[0]`},
		{"upper-case domain", "id: acme\ndomains: [Acme.com]\n", nil, "domains[0]", 2, "lower-case domain"},
		{"domain without a dot", "id: acme\ndomains: [localhost]\n", nil, "domains[0]", 2, "lower-case domain"},
		{"host with a path", "hosts: [crm.acme.com/x]\n", nil, "hosts[0]", 1, "host:port"},
		{"host with a bad port", "hosts: [\"crm.acme.com:0\"]\n", nil, "hosts[0]", 1, "host:port"},
		{"duplicate host", "hosts: [crm.acme.com, crm.acme.com]\n", nil, "hosts[1]", 1, "already hosts[0]"},
		{"unknown key", "colour: red\n", nil, "colour", 1, `unknown key "colour"`},
		{"server", "server:\n  listen: :1\n", nil, "server", 1, "server " + processWide},
		{"session", "session:\n  keys: [x]\n", nil, "session", 1, "session " + processWide},
		{"log", "log: {level: debug}\n", nil, "log", 1, "log " + processWide},
		{"cookie name", "cookie:\n  domain: .example.com\n  name: X\n", nil, "cookie.name", 3, "cookie.name " + processWide},
		{"fuyun timeout", baseFuyun + "  timeout: 5s\n", nil, "fuyun.timeout", 6, "fuyun.timeout " + processWide},
		{"unknown provider type", "providers:\n  - id: x\n    type: okta\n", nil, "providers[0].type", 3, `unknown type "okta"`},
		{"missing fuyun client", "fuyun:\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n", nil, "fuyun.client_id", 1, "required"},
		{"secret file from the admin API", "fuyun:\n  client_id: c\n  client_secret_file: /run/s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n",
			nil, "fuyun.client_secret_file", 3, "give client_secret itself"},
		{"accounts file from the admin API", "providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    mapping:\n      accounts_file: a.csv\n",
			nil, "providers[0].mapping.accounts_file", 7, "not read for a tenant sent through the admin API"},
		{"secret file missing on import", "fuyun:\n  client_id: c\n  client_secret_file: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n",
			map[string]string{}, "fuyun.client_secret_file", 3, "/cfg/s"},
		{"cookie domain not ours", "cookie:\n  domain: .other.com\n", nil, "cookie.domain", 2, "server.public_url's host"},
		{"alias", "id: &x acme\ndisplay_name: *x\n", nil, "", 1, "anchors and aliases"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := composeTenant(tc.snippet)
			_, ps := parseTenant(t, doc, tenantOptions(tc.files))
			for _, p := range ps {
				if p.Path == tc.path && (tc.line == 0 || p.Line == tc.line) && strings.Contains(p.Msg, tc.msg) && p.File == "tenant.yaml" {
					return
				}
			}
			t.Errorf("no problem at %q (line %d) containing %q; got:%s\ndocument:\n%s", tc.path, tc.line, tc.msg, paths(ps), doc)
		})
	}
}

// TestTenantAllProblemsAtOnce: a tenant with several problems gets them all, in the document's order.
func TestTenantAllProblemsAtOnce(t *testing.T) {
	doc := "id: A\ndomains: [a.com, a.com]\nserver: {}\nfuyun:\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n" + baseProviders
	_, ps := parseTenant(t, doc, tenantOptions(nil))
	for _, path := range []string{"id", "domains[1]", "server", "fuyun.client_id"} {
		if _, ok := find(ps, path); !ok {
			t.Errorf("no problem at %s; got:%s", path, paths(ps))
		}
	}
}

// TestSameProblemSameMessage: a per-company section is checked by the same rules whether it sits in the YAML
// file or in a tenant, so the same mistake reads the same (path and message) in both.
func TestSameProblemSameMessage(t *testing.T) {
	for _, snippet := range []string{
		"redirects:\n  allowed: [http://crm.example.com]\n",
		"embed:\n  allowed_origins: [\"https://*\"]\n",
		"cookie:\n  domain: .other.com\n",
		"fuyun:\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: a\n  mode: sideways\n",
		"fuyun:\n  client_id: c\n  client_secret: s\n  redirect_url: https://b.example.com/cb\n  app_name: waytoolongname\n  jwt:\n    ttl: 2h\n",
		"providers:\n  - id: x\n    type: okta\n",
		"providers:\n  - id: ms\n    type: microsoft\n    tenant: common\n    client_id: c\n    mapping:\n      transform: upper\n",
		"providers:\n  - id: BAD\n    type: microsoft\n    tenant: common\n    client_id: c\n  - id: dt\n    type: dingtalk\n    client_id: c\n    client_secret: s\n    corp_id: x\n",
	} {
		_, fromFile := parse(t, compose(snippet), nil, nil)
		_, fromTenant := parseTenant(t, composeTenant(snippet), tenantOptions(nil))
		if fromFile == nil || fromTenant == nil {
			t.Errorf("accepted (file: %v, tenant: %v):\n%s", fromFile == nil, fromTenant == nil, snippet)
			continue
		}
		if got, want := messages(fromTenant), messages(fromFile); got != want {
			t.Errorf("snippet:\n%s\nfile:%s\ntenant:%s", snippet, want, got)
		}
	}
}

// messages lists path: message of each problem, lines left out (the base sections differ).
func messages(ps Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\n  " + p.Path + ": " + p.Msg)
	}
	return b.String()
}
