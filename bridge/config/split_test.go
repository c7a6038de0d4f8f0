package config

import (
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// presetTenant is a tenant whose one provider is typ's documented example (secrets from files, so the import
// path is exercised), and the files it reads: each holds a value unique to its secret.
func presetTenant(typ string) (doc string, files map[string]string) {
	p, _ := providers.Lookup(typ)
	doc = "id: acme\ndomains: [acme.com]\nproviders:\n  " + strings.ReplaceAll(p.Example, "\n", "\n  ") + "\n" +
		"fuyun:\n  client_id: c\n  client_secret_file: fuyun.secret\n  redirect_url: https://b.example.com/cb\n  app_name: a\n" +
		"  jwt:\n    issuer: https://crm.example.com\n    private_key: inline-private-key\n"
	files = map[string]string{"/cfg/fuyun.secret": "fuyun-file-secret"}
	for _, line := range strings.Split(p.Example, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "_file: "); ok && !strings.HasPrefix(k, "#") {
			files[strings.Fields(v)[0]] = typ + "-" + k + "-value"
		}
	}
	return doc, files
}

// TestSplitJoinEveryPreset: a tenant using each provider type splits into a document with no secret (neither
// value nor *_file key) and a map with every secret, file contents read; joined back it is the same tenant.
func TestSplitJoinEveryPreset(t *testing.T) {
	for _, typ := range providers.Types() {
		t.Run(typ, func(t *testing.T) {
			src, files := presetTenant(typ)
			tn, ps := parseTenant(t, src, tenantOptions(files))
			if ps != nil {
				t.Fatalf("problems:%s\n%s", paths(ps), src)
			}
			doc, secrets, err := tn.Split()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"fuyun.client_secret": "fuyun-file-secret", "fuyun.jwt.private_key": "inline-private-key"}
			for _, v := range files {
				if strings.HasPrefix(v, typ+"-") {
					key := strings.TrimPrefix(strings.TrimSuffix(v, "-value"), typ+"-")
					want["providers[0]."+key] = v
				}
			}
			if !maps.Equal(secrets, want) {
				t.Errorf("secrets = %v, want %v", secrets, want)
			}
			for _, v := range secrets {
				if strings.Contains(string(doc), v) {
					t.Errorf("doc holds the secret %q:\n%s", v, doc)
				}
			}
			if strings.Contains(string(doc), "_file") || strings.Contains(string(doc), "#") {
				t.Errorf("doc names a file or keeps a comment:\n%s", doc)
			}
			back, err := JoinTenant(doc, secrets, tenantOptions(nil))
			if err != nil {
				t.Fatalf("JoinTenant: %v\n%s", err, doc)
			}
			if back.Providers[0].RedirectURL != tn.Providers[0].RedirectURL ||
				!reflect.DeepEqual(back.Providers[0].Preset, clearFiles(tn).Providers[0].Preset) {
				t.Errorf("joined provider differs:\n%+v\n%+v", back.Providers[0].Preset, tn.Providers[0].Preset)
			}
			doc2, secrets2, err := back.Split()
			if err != nil || string(doc2) != string(doc) || !maps.Equal(secrets2, secrets) {
				t.Errorf("second split differs (%v):\n%s\n%s", err, doc, doc2)
			}
		})
	}
}

// clearFiles forgets the tenant's *_file names, which a joined tenant never has.
func clearFiles(tn *Tenant) *Tenant {
	for _, s := range tn.company(nil).secrets() {
		*s.file = ""
	}
	return tn
}

// TestSecretOnlyInTheMap: a secret left out of the map is missing from the joined tenant (so it was not in
// the document), and a map entry that is not a secret key, or collides with the document, is refused.
func TestSecretOnlyInTheMap(t *testing.T) {
	tn, ps := parseTenant(t, composeTenant(""), tenantOptions(nil))
	if ps != nil {
		t.Fatalf("problems:%s", paths(ps))
	}
	doc, secrets, err := tn.Split()
	if err != nil {
		t.Fatal(err)
	}
	if secrets["fuyun.client_secret"] != "base-fuyun-secret" {
		t.Fatalf("secrets = %v", secrets)
	}
	for name, tc := range map[string]struct {
		secrets map[string]string
		path    string
		msg     string
	}{
		"secret left out":      {map[string]string{}, "fuyun.client_secret", "required"},
		"not a secret key":     {map[string]string{"fuyun.client_secret": "value-s1", "fuyun.scope": "value-x1"}, "fuyun.scope", "is not a secret key"},
		"also in the document": {map[string]string{"fuyun.client_secret": "value-s1", "fuyun.client_id": "value-x1"}, "fuyun.client_id", "set both"},
		"no such entry":        {map[string]string{"fuyun.client_secret": "value-s1", "providers[3].client_secret": "value-x1"}, "providers[3].client_secret", "not in the document"},
	} {
		_, err := JoinTenant(doc, tc.secrets, tenantOptions(nil))
		if err == nil {
			t.Errorf("%s: joined", name)
			continue
		}
		ps := err.(Problems)
		if p, ok := find(ps, tc.path); !ok || !strings.Contains(p.Msg, tc.msg) {
			t.Errorf("%s: want %q at %s; got:%s", name, tc.msg, tc.path, paths(ps))
		}
		for _, v := range tc.secrets {
			if strings.Contains(err.Error(), v) {
				t.Errorf("%s: the problems echo a secret value: %v", name, err)
			}
		}
	}
}

// TestRedacted: the admin API's view shows each secret as {"set": true} and never its value.
func TestRedacted(t *testing.T) {
	src, files := presetTenant(providers.TypeWeCom)
	tn, ps := parseTenant(t, src, tenantOptions(files))
	if ps != nil {
		t.Fatalf("problems:%s", paths(ps))
	}
	out, err := tn.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ID    string `json:"id"`
		Fuyun struct {
			ClientSecret any `json:"client_secret"`
			JWT          struct {
				PrivateKey any `json:"private_key"`
			} `json:"jwt"`
		} `json:"fuyun"`
		Providers []map[string]any `json:"providers"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	set := map[string]any{"set": true}
	if v.ID != "acme" || !reflect.DeepEqual(v.Fuyun.ClientSecret, set) || !reflect.DeepEqual(v.Fuyun.JWT.PrivateKey, set) ||
		!reflect.DeepEqual(v.Providers[0]["secret"], set) {
		t.Errorf("redacted:\n%s", out)
	}
	for _, secret := range []string{"fuyun-file-secret", "inline-private-key", "wecom-secret-value"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("redacted shows %s:\n%s", secret, out)
		}
	}
	if _, _, err := (&Tenant{ID: "x"}).Split(); err == nil {
		t.Error("Split of a tenant not read by ParseTenant succeeded")
	}
}

// FuzzParseTenant: no input panics, and every accepted tenant survives Split and JoinTenant unchanged.
func FuzzParseTenant(f *testing.F) {
	f.Add([]byte(composeTenant("")))
	f.Add([]byte(`{"id": "a", "domains": ["a.com"], "fuyun": {"client_id": "c", "client_secret": "s", "redirect_url": "https:\/\/b.example.com\/cb", "app_name": "a"}, "providers": [{"id": "g", "type": "google", "client_id": "c", "client_secret": "true", "mapping": {"allowed_domains": ["a.com"]}}]}`))
	for _, typ := range providers.Types() {
		src, _ := presetTenant(typ)
		f.Add([]byte(strings.NewReplacer("_file: ", ": ", "fuyun.secret", "x").Replace(src)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tn, err := ParseTenant(data, tenantOptions(nil))
		if err != nil {
			return
		}
		doc, secrets, err := tn.Split()
		if err != nil {
			t.Fatalf("Split: %v", err)
		}
		back, err := JoinTenant(doc, secrets, tenantOptions(nil))
		if err != nil {
			t.Fatalf("JoinTenant: %v\ndoc:\n%s", err, doc)
		}
		doc2, secrets2, err := back.Split()
		if err != nil || string(doc2) != string(doc) || !maps.Equal(secrets, secrets2) {
			t.Fatalf("round trip differs (%v):\n%s\n%s", err, doc, doc2)
		}
	})
}

// TestYAML: the exported document keeps the author's key order and shows each secret as {set: true}, or, with
// secrets, as its value, so that reading it back gives the same tenant.
func TestYAML(t *testing.T) {
	src, files := presetTenant(providers.TypeWeCom)
	tn, ps := parseTenant(t, src, tenantOptions(files))
	if ps != nil {
		t.Fatalf("problems:%s", paths(ps))
	}
	redacted, err := tn.YAML(false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(redacted), "id: acme\ndomains:") || !strings.Contains(string(redacted), "client_secret: {set: true}") {
		t.Errorf("redacted YAML:\n%s", redacted)
	}
	for _, secret := range []string{"fuyun-file-secret", "inline-private-key", "wecom-secret-value"} {
		if strings.Contains(string(redacted), secret) {
			t.Errorf("redacted YAML shows %s:\n%s", secret, redacted)
		}
	}
	full, err := tn.YAML(true)
	if err != nil {
		t.Fatal(err)
	}
	back, ps := parseTenant(t, string(full), tenantOptions(nil))
	if ps != nil {
		t.Fatalf("problems:%s\n%s", paths(ps), full)
	}
	doc, secrets, _ := tn.Split()
	doc2, secrets2, err := back.Split()
	var v, v2 any
	if err != nil || yaml.Unmarshal(doc, &v) != nil || yaml.Unmarshal(doc2, &v2) != nil || !reflect.DeepEqual(v, v2) || !maps.Equal(secrets2, secrets) {
		t.Errorf("read back differs (%v):\n%s\n%s", err, doc, doc2)
	}

	// A tenant sent as JSON is exported in YAML's block style, quoted only where a value needs it.
	fromJSON, ps := parseTenant(t, `{"id": "acme", "domains": ["acme.com"], "fuyun": {"client_id": "1000", "client_secret": "s",
		"redirect_url": "https://b.example.com/cb", "app_name": "true"}, "providers": [{"id": "ms", "type": "microsoft",
		"tenant": "organizations", "allowed_tenants": ["72f988bf-86f1-41af-91ab-2d7cd011db47"], "client_id": "ms-client"}]}`, tenantOptions(nil))
	if ps != nil {
		t.Fatalf("problems:%s", paths(ps))
	}
	out, err := fromJSON.YAML(false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "domains:\n  - acme.com\nfuyun:\n  client_id: \"1000\"\n") ||
		!strings.Contains(string(out), `app_name: "true"`) || !strings.Contains(string(out), "client_secret: {set: true}") {
		t.Errorf("YAML of a JSON tenant:\n%s", out)
	}
}

// TestAccountsTableTravelsWithTheTenant: a tenant imported with mapping.accounts_file is stored with the
// table itself, sealed like a secret (a replica that serves it need not have the file), and joined back it maps
// with that table.
func TestAccountsTableTravelsWithTheTenant(t *testing.T) {
	const table = "idp_value,fuyun_account_name\nalice@acme.com,alice\n"
	doc := "id: acme\nfuyun: {client_id: c, client_secret: s, redirect_url: https://b.example.com/cb, app_name: a}\n" +
		"providers:\n  - {id: corp, type: oidc, issuer: https://idp.acme.com, client_id: c, client_secret: s,\n" +
		"     mapping: {field: email, accounts_file: accounts.csv}}\n"
	tn, ps := parseTenant(t, doc, tenantOptions(map[string]string{"/cfg/accounts.csv": table}))
	if ps != nil {
		t.Fatalf("problems:%s", paths(ps))
	}
	stored, secrets, err := tn.Split()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "accounts") || strings.TrimSpace(secrets["providers[0].mapping.accounts"]) != strings.TrimSpace(table) {
		t.Fatalf("document:\n%s\nsecrets: %v", stored, secrets)
	}
	back, err := JoinTenant(stored, secrets, tenantOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.New(back.Providers[0].Mapping, mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := m.Map(map[string]any{"email": "alice@acme.com", "email_verified": true}); err != nil || res.Account != "alice" {
		t.Fatalf("mapped %+v, %v", res, err)
	}
	if _, err := m.Map(map[string]any{"email": "bob@acme.com", "email_verified": true}); err == nil {
		t.Fatal("a user not in the table mapped")
	}
}
