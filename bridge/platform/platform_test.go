package platform

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/admin"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// acmeYAML is a tenant as an operator writes it, in OAuth mode with its secrets kept ({set: true}, in both
// of YAML's ways). Line 16 is the last.
const acmeYAML = `id: acme
display_name: 富云 Acme
domains: [acme.com]
fuyun:
  client_id: acme-fuyun
  client_secret:
    set: true
  redirect_url: https://crm.acme.com/fuyun/callback
  app_name: crmapp
providers:
  - id: corp
    type: oidc
    issuer: https://idp.acme.com
    client_id: bridge
    client_secret: {set: true}  # kept
    scopes: [openid, email]
`

var options = config.TenantOptions{Name: "acme.yaml", PublicURL: publicURL}

// TestParseKeeps: {set: true} is read as "keep", in YAML block and flow form and in JSON on one line or
// several, with escaped slashes and wide characters before it; everything else is read as ParseTenant reads it.
func TestParseKeeps(t *testing.T) {
	keep := map[string]admin.Secret{"fuyun.client_secret": {Keep: true}, "providers[0].client_secret": {Keep: true}}
	for name, doc := range map[string]string{
		"YAML": acmeYAML,
		"JSON on one line": `{"id": "acme", "display_name": "富云 Acme", "domains": ["acme.com"], "fuyun": {"client_id": "acme-fuyun", ` +
			`"client_secret": {"set": true}, "redirect_url": "https:\/\/crm.acme.com\/fuyun\/callback", "app_name": "crmapp"}, ` +
			`"providers": [{"id": "corp", "type": "oidc", "issuer": "https:\/\/idp.acme.com", "client_id": "bridge", "client_secret": {"set":true}, "scopes": ["openid", "email"]}]}`,
		"JSON on several lines": "{\"id\": \"acme\", \"display_name\": \"富云 Acme\", \"domains\": [\"acme.com\"],\n\"fuyun\": {\"client_id\": \"acme-fuyun\",\n" +
			"\"client_secret\": {\n  \"set\": true\n},\n\"redirect_url\": \"https://crm.acme.com/fuyun/callback\", \"app_name\": \"crmapp\"},\n" +
			"\"providers\": [{\"id\": \"corp\", \"type\": \"oidc\", \"issuer\": \"https://idp.acme.com\", \"client_id\": \"bridge\",\n" +
			"\"client_secret\": {\"set\": true}, \"scopes\": [\"openid\", \"email\"]}]}",
	} {
		t.Run(name, func(t *testing.T) {
			d, err := Parse([]byte(doc), options)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !maps.Equal(d.Secrets, keep) || d.ID != "acme" || d.DisplayName != "富云 Acme" {
				t.Errorf("decoded %+v", d)
			}
			if strings.Contains(string(d.Config), placeholder) || strings.Contains(string(d.Config), "set") {
				t.Errorf("the document keeps a stand-in:\n%s", d.Config)
			}
		})
	}
}

// TestParseProblems: with kept secrets, problems keep their lines, and only "required" at a kept secret is
// dropped.
func TestParseProblems(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		path           string
		line           int
		msg            string
	}{
		{"a line after a kept secret", "    scopes: [openid, email]\n", "    scopes: [openid, email]\n    colour: red\n",
			"providers[0].colour", 17, `unknown key "colour"`},
		{"required elsewhere stays", "  client_id: acme-fuyun\n", "", "fuyun.client_id", 0, "required"},
		{"kept in a list", "domains: [acme.com]", "domains: [{set: true}]", "domains[0]", 3, ""},
		{"kept with a comment inside", "client_secret: {set: true}  # kept", "client_secret: {set: # }\n true}",
			"providers[0].client_secret", 15, "on one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(strings.Replace(acmeYAML, tc.from, tc.to, 1)), options)
			var ps config.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse error = %v, want problems", err)
			}
			for _, p := range ps {
				if p.Path == tc.path && (tc.line == 0 || p.Line == tc.line) && strings.Contains(p.Msg, tc.msg) && p.File == "acme.yaml" {
					return
				}
			}
			t.Errorf("no problem at %s line %d containing %q; got:\n%v", tc.path, tc.line, tc.msg, err)
		})
	}
}

// TestLoadRecord: Record takes a tenant apart for the store, Load puts it back, and Validate (with the stored
// values of kept secrets merged) accepts it.
func TestLoadRecord(t *testing.T) {
	doc := strings.Replace(strings.ReplaceAll(acmeYAML, "{set: true}", "idp-secret-value"), "\n    set: true", " fuyun-secret-value", 1)
	ct, err := config.ParseTenant([]byte(doc), options)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Record(ct)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"fuyun.client_secret": "fuyun-secret-value", "providers[0].client_secret": "idp-secret-value"}
	if rec.ID != "acme" || !maps.Equal(rec.Secrets, want) || strings.Contains(string(rec.Config), "-value") {
		t.Fatalf("Record = %+v\n%s", rec, rec.Config)
	}
	back, err := Load(rec, options)
	if err != nil || back.Providers[0].RedirectURL != publicURL+"/t/acme/callback/corp" {
		t.Fatalf("Load = %v, %v", back, err)
	}

	d, err := Parse([]byte(acmeYAML), options)
	if err != nil {
		t.Fatal(err)
	}
	merged, ps := admin.Merge(d, rec.Secrets)
	if ps != nil || !reflect.DeepEqual(merged.Secrets, want) {
		t.Fatalf("Merge = %v, %v", merged.Secrets, ps)
	}
	if err := Validate(merged, options); err != nil {
		t.Errorf("Validate: %v", err)
	}
	delete(merged.Secrets, "fuyun.client_secret")
	var problems config.Problems
	if err := Validate(merged, options); !errors.As(err, &problems) || problems[0].Path != "fuyun.client_secret" || problems[0].Line != 0 {
		t.Errorf("Validate without a secret = %v, want fuyun.client_secret without a line", err)
	}
	rec.ID = "globex"
	if _, err := Load(rec, options); err == nil {
		t.Error("Load accepted a document stored under another id")
	}
}

// TestTenantIDRulesAgree: the store and the configuration accept the same tenant ids, so that no tenant
// the admin API validates is refused when written, and none the store holds fails to load.
func TestTenantIDRulesAgree(t *testing.T) {
	for _, id := range []string{
		"acme", "a", "0", "acme-2", "a-", strings.Repeat("a", 63), strings.Repeat("a", 64), "",
		"-acme", "Acme", "ac_me", "ac.me", "ac me", "acmé", "t/0", "acme\n", "../x",
	} {
		if c, s := config.ValidTenantID(id), store.ValidID(id); c != s {
			t.Errorf("tenant id %q: config says %v, store says %v", id, c, s)
		}
	}
}
