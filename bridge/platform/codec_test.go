package platform

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/admin"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/logtest"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

const publicURL = "https://bridge.example.com"

// acmeJSON is a realistic tenant as the admin API receives it: an OIDC provider with a client secret, a
// Feishu-less JWT-mode Fuyun client, a host and a cookie domain. Secret values end in "-value".
const acmeJSON = `{
  "id": "acme",
  "display_name": "Acme Corp",
  "domains": ["acme.com"],
  "hosts": ["login.acme.com"],
  "cookie": {"domain": ".acme.com"},
  "fuyun": {
    "client_id": "acme-fuyun",
    "client_secret": "fuyun-secret-value",
    "redirect_url": "https:\/\/crm.acme.com\/fuyun\/callback",
    "mode": "jwt",
    "jwt": {"issuer": "https://crm.acme.com", "private_key": "jwt-key-value"}
  },
  "providers": [
    {"id": "corp", "type": "oidc", "issuer": "https://idp.acme.com", "client_id": "bridge",
     "client_secret": "idp-secret-value"}
  ]
}`

// apiEnv is the real admin API on a SQLite store with the real codec, and a root admin key.
type apiEnv struct {
	t     *testing.T
	h     http.Handler
	store *store.Store
	key   string
	logs  *logtest.Buffer
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	st, err := store.Open(t.Context(), store.Options{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "tenants.db"),
		EncryptionKeys: [][]byte{bytes.Repeat([]byte{'k'}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, line, err := apikeys.Generate("root")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := apikeys.Parse(strings.NewReader(line), "keys")
	if err != nil {
		t.Fatal(err)
	}
	codec, err := NewCodec(publicURL)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	return &apiEnv{t: t, h: admin.New(admin.Options{Store: st, Keys: keys, Codec: codec, Logger: slog.New(slog.NewJSONHandler(logs, nil))}),
		store: st, key: key, logs: logs}
}

// do sends one request and returns the status, the ETag and the body.
func (e *apiEnv) do(method, path, body, ifMatch string) (int, string, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(e.t.Context(), method, path, rd)
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("ETag"), rec.Body.Bytes()
}

// stored is the tenant as the store holds it.
func (e *apiEnv) stored(id string) store.Tenant {
	e.t.Helper()
	t, err := e.store.Get(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

// problems decodes a refusal's problems.
func problems(t *testing.T, body []byte) []admin.Problem {
	t.Helper()
	var r struct {
		Error    string
		Problems []admin.Problem
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Error != "invalid_tenant" {
		t.Fatalf("not an invalid_tenant refusal (%v): %s", err, body)
	}
	return r.Problems
}

// hasProblem reports whether ps has a problem at path (and line, unless 0) whose message contains msg.
func hasProblem(ps []admin.Problem, path string, line int, msg string) bool {
	for _, p := range ps {
		if p.Path == path && (line == 0 || p.Line == line) && strings.Contains(p.Message, msg) {
			return true
		}
	}
	return false
}

var allSecrets = map[string]string{"fuyun.client_secret": "fuyun-secret-value", "fuyun.jwt.private_key": "jwt-key-value",
	"providers[0].client_secret": "idp-secret-value"}

// TestAdminLifecycle: create, read, keep, refuse, on the real schema, the real admin API and a real store.
func TestAdminLifecycle(t *testing.T) {
	e := newAPIEnv(t)
	status, tag, body := e.do("POST", "/admin/v1/tenants", acmeJSON, "")
	if status != http.StatusCreated || tag != `"1"` {
		t.Fatalf("create = %d %s", status, body)
	}
	if got := e.stored("acme"); !reflect.DeepEqual(got.Secrets, allSecrets) || strings.Contains(string(got.Config), "-value") ||
		got.DisplayName != "Acme Corp" || !reflect.DeepEqual(got.Hosts, []string{"login.acme.com"}) {
		t.Fatalf("stored = %+v\n%s", got, got.Config)
	}

	status, tag, body = e.do("GET", "/admin/v1/tenants/acme", "", "")
	if status != http.StatusOK || strings.Contains(string(body), "-value") {
		t.Fatalf("get = %d, want 200 without a secret value: %s", status, body)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	set := map[string]any{"set": true}
	fuyun := doc["fuyun"].(map[string]any)
	provider := doc["providers"].([]any)[0].(map[string]any)
	if !reflect.DeepEqual(fuyun["client_secret"], set) || !reflect.DeepEqual(fuyun["jwt"].(map[string]any)["private_key"], set) ||
		!reflect.DeepEqual(provider["client_secret"], set) {
		t.Fatalf("GET does not show every secret as {set: true}: %s", body)
	}

	// The GET document, edited and sent back: the secrets shown {"set": true} keep their values.
	provider["scopes"] = []string{"openid", "email"}
	edited, _ := json.Marshal(doc)
	status, tag, body = e.do("PUT", "/admin/v1/tenants/acme", string(edited), tag)
	if status != http.StatusOK || tag != `"2"` {
		t.Fatalf("put of the GET document = %d %s", status, body)
	}
	if got := e.stored("acme"); !reflect.DeepEqual(got.Secrets, allSecrets) || !strings.Contains(string(got.Config), "email") {
		t.Fatalf("after PUT: secrets %v\n%s", got.Secrets, got.Config)
	}
	// Its audit line names what changed — the providers section, no secret — and never a value.
	if logs := e.logs.String(); !strings.Contains(logs, `"msg":"admin_change"`) || !strings.Contains(logs, `"fields":["providers"],"secrets":[]`) ||
		strings.Contains(logs, "-value") {
		t.Fatalf("audit lines:\n%s", logs)
	}

	// Kept secrets and a bad field: refused with the config's path and message, nothing changed.
	before := e.stored("acme")
	broken := strings.Replace(string(edited), `"type":"oidc"`, `"type":"okta"`, 1)
	status, _, body = e.do("PUT", "/admin/v1/tenants/acme", broken, tag)
	if status != http.StatusBadRequest || !hasProblem(problems(t, body), "providers[0].type", 0, `unknown type "okta"`) {
		t.Fatalf("put with a bad type = %d %s", status, body)
	}
	if after := e.stored("acme"); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused PUT changed the tenant")
	}
}

// TestAdminRefusals: what the admin API refuses of the real schema, with the config's paths, lines and
// messages, and nothing written.
func TestAdminRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		path           string
		line           int
		msg            string
	}{
		{"secret file", `"client_secret": "idp-secret-value"`, `"client_secret_file": "/run/secrets/idp"`,
			"providers[0].client_secret_file", 16, "files are not read for a tenant sent through the admin API"},
		{"process-wide key", `"id": "acme",`, `"id": "acme", "server": {"listen": ":80"},`,
			"server", 2, "process-wide setting"},
		{"bad field", `"mode": "jwt"`, `"mode": "sideways"`, "fuyun.mode", 0, `unknown mode "sideways"`},
		{"kept secret on create", `"idp-secret-value"`, `{"set": true}`,
			"providers[0].client_secret", 0, "no value is stored"},
		{"kept value that is no secret", `"client_id": "bridge"`, `"client_id": {"set": true}`,
			"providers[0].client_id", 0, "not a secret"},
		{"missing secret", `"client_secret": "fuyun-secret-value",`, ``, "fuyun.client_secret", 0, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAPIEnv(t)
			doc := strings.Replace(acmeJSON, tc.from, tc.to, 1)
			status, _, body := e.do("POST", "/admin/v1/tenants", doc, "")
			if status != http.StatusBadRequest || !hasProblem(problems(t, body), tc.path, tc.line, tc.msg) {
				t.Fatalf("= %d %s, want a problem at %s line %d: %s", status, body, tc.path, tc.line, tc.msg)
			}
			if ts, _, _ := e.store.List(t.Context(), "", 10); len(ts) != 0 {
				t.Errorf("a refused POST wrote %d tenant(s)", len(ts))
			}
		})
	}
}

// TestAuditOfAnImportedTenant: a tenant stored from YAML (as `tenants import` stores it) and then replaced
// through the admin API has an audit line that names the one section that changed.
func TestAuditOfAnImportedTenant(t *testing.T) {
	e := newAPIEnv(t)
	yamlDoc := "id: acme\nfuyun:\n  client_id: c\n  client_secret: fuyun-secret-value\n  redirect_url: https://crm.acme.com/cb\n  app_name: app\n" +
		"providers:\n  - id: corp\n    type: oidc\n    issuer: https://idp.acme.com\n    client_id: bridge\n    client_secret: idp-secret-value\n"
	ct, err := config.ParseTenant([]byte(yamlDoc), config.TenantOptions{PublicURL: publicURL})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Record(ct)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	body := `{"id": "acme", "fuyun": {"client_id": "c", "client_secret": {"set": true}, "redirect_url": "https://crm.acme.com/cb", "app_name": "app2"},
	  "providers": [{"id": "corp", "type": "oidc", "issuer": "https://idp.acme.com", "client_id": "bridge", "client_secret": {"set": true}}]}`
	if status, _, out := e.do("PUT", "/admin/v1/tenants/acme", body, `"1"`); status != http.StatusOK {
		t.Fatalf("put = %d %s", status, out)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"fields":["fuyun"],"secrets":[]`) || strings.Contains(logs, "-value") {
		t.Fatalf("audit lines:\n%s", logs)
	}
}
