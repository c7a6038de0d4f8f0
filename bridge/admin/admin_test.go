package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

func TestEveryCodeHasAStatus(t *testing.T) {
	for _, code := range []Code{CodeInvalidAPIKey, CodeForbidden, CodeNotFound, CodeMethodNotAllowed,
		CodeInvalidJSON, CodeInvalidTenant, CodeInvalidRequest, CodeUnsupportedMedia, CodeBodyTooLarge,
		CodeTenantExists, CodeNameTaken, CodeVersionMismatch, CodeIfMatchRequired, CodeUnavailable,
		CodeNotConfigured, CodeConfigRefused, CodeInternal} {
		if statusOf[code] == 0 {
			t.Errorf("code %s has no status", code)
		}
	}
}

// TestETagRoundTrip follows one tenant through create, read, replace and delete, the ETag of each answer
// being the If-Match of the next, and checks the secret rules of PUT against the store.
func TestETagRoundTrip(t *testing.T) {
	e := newEnv(t, sqliteStore(t), nil)
	doc := `{"id": "acme", "display_name": "Acme", "providers": [{"type": "oidc"}],
		"secrets": {"keep": "kept-value", "replace": "old-value", "drop": "dropped-value", "omit": "omitted-value"}}`
	res := e.do("POST", "/admin/v1/tenants", e.root, doc)
	if res.status != http.StatusCreated || res.header.Get("ETag") != `"1"` || res.header.Get("Location") != "/admin/v1/tenants/acme" {
		t.Fatalf("create = %d ETag %q Location %q %s", res.status, res.header.Get("ETag"), res.header.Get("Location"), res.body)
	}
	if strings.Contains(string(res.body), "-value") {
		t.Fatalf("create answered a secret value: %s", res.body)
	}
	got := e.do("GET", "/admin/v1/tenants/acme", e.acme, "")
	if got.status != http.StatusOK || got.header.Get("ETag") != `"1"` {
		t.Fatalf("get = %d ETag %q", got.status, got.header.Get("ETag"))
	}
	secrets := got.json(t)["secrets"].(map[string]any)
	if !reflect.DeepEqual(secrets["keep"], map[string]any{"set": true}) || len(secrets) != 4 {
		t.Fatalf("GET secrets = %v, want each as {set: true}", secrets)
	}

	edit := `{"id": "acme", "display_name": "Acme Corp", "providers": [{"type": "oidc"}],
		"secrets": {"keep": {"set": true}, "replace": "new-value", "drop": null}}`
	put := e.do("PUT", "/admin/v1/tenants/acme", e.acme, edit, "If-Match: "+got.header.Get("ETag"))
	if put.status != http.StatusOK || put.header.Get("ETag") != `"2"` {
		t.Fatalf("put = %d ETag %q %s", put.status, put.header.Get("ETag"), put.body)
	}
	stored, err := e.store.Get(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"keep": "kept-value", "replace": "new-value"}; !reflect.DeepEqual(stored.Secrets, want) {
		t.Errorf("secrets after PUT = %v, want %v ({set: true} keeps, a string replaces, null and omission remove)", stored.Secrets, want)
	}
	if stored.DisplayName != "Acme Corp" || stored.Version != 2 {
		t.Errorf("stored = %+v", stored)
	}
	if again := e.do("PUT", "/admin/v1/tenants/acme", e.acme, edit, `If-Match: "1"`); again.status != http.StatusPreconditionFailed {
		t.Errorf("PUT with the first ETag again = %d, want 412", again.status)
	}
	del := e.do("DELETE", "/admin/v1/tenants/acme", e.acme, "", "If-Match: "+put.header.Get("ETag"))
	if del.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", del.status, del.body)
	}
	if _, err := e.store.Get(t.Context(), "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

// TestPagination walks all tenants a page at a time, as an unlimited key and as a key limited to some.
func TestPagination(t *testing.T) {
	e := newEnv(t, sqliteStore(t), func(o *Options) {
		o.Scopes["some"] = []string{"t4", "t1", "t2", "missing"}
		o.Keys = keysWith(t, o.Keys, "some", &someKey)
	})
	for i := range 5 {
		e.mustCreate(fmt.Sprintf("t%d", i), "x")
	}
	for _, tc := range []struct {
		key   *string
		limit int
		pages [][]string
	}{
		{&e.root, 2, [][]string{{"t0", "t1"}, {"t2", "t3"}, {"t4"}}},
		{&e.root, 5, [][]string{{"t0", "t1", "t2", "t3", "t4"}}},
		{&someKey, 2, [][]string{{"t1", "t2"}, {"t4"}}},
		{&e.acme, 10, [][]string{{}}},
	} {
		var pages [][]string
		cursor := ""
		for range 10 {
			res := e.do("GET", fmt.Sprintf("/admin/v1/tenants?limit=%d&cursor=%s", tc.limit, cursor), *tc.key, "")
			if res.status != http.StatusOK {
				t.Fatalf("list = %d %s", res.status, res.body)
			}
			body := res.json(t)
			ids := []string{}
			for _, it := range body["tenants"].([]any) {
				ids = append(ids, it.(map[string]any)["id"].(string))
			}
			pages = append(pages, ids)
			if cursor = body["next_cursor"].(string); cursor == "" {
				break
			}
		}
		if !reflect.DeepEqual(pages, tc.pages) {
			t.Errorf("limit %d: pages = %v, want %v", tc.limit, pages, tc.pages)
		}
	}
}

var someKey string

// TestAuditLine checks the one log line of each change: key, tenant, versions, changed fields and secret
// paths, and that a planted secret value never reaches the log, whatever the request.
func TestAuditLine(t *testing.T) {
	const planted = "PLANTED-s3cr3t-4f9a"
	e := newEnv(t, sqliteStore(t), func(o *Options) {
		o.Check = func(context.Context, store.Tenant) (any, error) { return map[string]string{"ok": "yes"}, nil }
	})
	e.mustCreate("acme", planted)
	doc := strings.Replace(tenantDoc("acme", planted+"-2"), `"acme Inc"`, `"Acme Renamed"`, 1)
	doc = strings.Replace(doc, `"secrets": {`, `"secrets": {"extra": "`+planted+`-3", `, 1)
	if res := e.do("PUT", "/admin/v1/tenants/acme", e.acme, doc, `If-Match: "1"`); res.status != http.StatusOK {
		t.Fatalf("put = %d %s", res.status, res.body)
	}
	e.do("PUT", "/admin/v1/tenants/acme", e.acme, `{"id":"acme","display_name":"x","secrets":{"a":"`+planted+`"},"bad":1}`, `If-Match: "2"`)
	e.do("POST", "/admin/v1/tenants/acme/check", e.acme, "")
	e.do("GET", "/admin/v1/tenants/acme", e.acme, "")
	if res := e.do("DELETE", "/admin/v1/tenants/acme", e.root, "", `If-Match: "2"`); res.status != http.StatusNoContent {
		t.Fatalf("delete = %d", res.status)
	}

	lines := logLines(t, e.logs, "admin_change")
	if len(lines) != 3 {
		t.Fatalf("%d audit lines, want 3 (create, update, delete):\n%s", len(lines), e.logs)
	}
	want := []map[string]any{
		{"key_id": "root", "action": "create", "tenant": "acme", "old_version": 0.0, "new_version": 1.0,
			"fields": []any{"display_name", "domains", "hosts", "providers"}, "secrets": []any{"providers[0].client_secret"}},
		{"key_id": "acme-admin", "action": "update", "tenant": "acme", "old_version": 1.0, "new_version": 2.0,
			"fields": []any{"display_name"}, "secrets": []any{"extra", "providers[0].client_secret"}},
		{"key_id": "root", "action": "delete", "tenant": "acme", "old_version": 2.0, "new_version": 0.0},
	}
	for i, w := range want {
		for k, v := range w {
			if !reflect.DeepEqual(lines[i][k], v) {
				t.Errorf("audit line %d: %s = %v, want %v", i, k, lines[i][k], v)
			}
		}
		if lines[i]["request_id"] == "" {
			t.Errorf("audit line %d has no request id", i)
		}
	}
	if strings.Contains(e.logs.String(), planted) {
		t.Errorf("a secret value reached the log:\n%s", e.logs)
	}
}

// TestCheckAndReload calls the injected functions, passes the check's report through, and hides their
// errors' text in the log.
func TestCheckAndReload(t *testing.T) {
	var reloads int
	fail, badFile := false, false
	e := newEnv(t, sqliteStore(t), func(o *Options) {
		o.Check = func(_ context.Context, ten store.Tenant) (any, error) {
			if fail {
				return nil, errors.New("idp unreachable: secret-in-error")
			}
			return map[string]any{"providers": len(ten.Secrets)}, nil
		}
		o.Reload = func() error {
			if badFile {
				return ReloadRefused{Err: errors.New("bridge.yaml:3: cookie.same_site: unknown value \"sideways\"")}
			}
			if fail {
				return errors.New("reload broke")
			}
			reloads++
			return nil
		}
	})
	e.mustCreate("acme", "x")
	res := e.do("POST", "/admin/v1/tenants/acme/check", e.acme, "")
	if res.status != http.StatusOK || !reflect.DeepEqual(res.json(t)["report"], map[string]any{"providers": 1.0}) {
		t.Fatalf("check = %d %s", res.status, res.body)
	}
	if res := e.do("POST", "/admin/v1/tenants/initech/check", e.root, ""); res.status != http.StatusNotFound {
		t.Errorf("check of a missing tenant = %d", res.status)
	}
	if res := e.do("POST", "/admin/v1/reload", e.root, ""); res.status != http.StatusOK || reloads != 1 {
		t.Fatalf("reload = %d, %d reloads", res.status, reloads)
	}
	badFile = true
	if res := e.do("POST", "/admin/v1/reload", e.root, ""); res.status != http.StatusConflict ||
		res.json(t)["error"] != "config_refused" || !strings.Contains(string(res.body), "cookie.same_site") {
		t.Errorf("reload of a bad file = %d %s", res.status, res.body)
	}
	badFile, fail = false, true
	for _, path := range []string{"/admin/v1/tenants/acme/check", "/admin/v1/reload"} {
		res := e.do("POST", path, e.root, "")
		if res.status != http.StatusInternalServerError || strings.Contains(string(res.body), "secret-in-error") {
			t.Errorf("%s failing = %d %s", path, res.status, res.body)
		}
	}
	if !strings.Contains(e.logs.String(), "secret-in-error") {
		t.Errorf("the check's error is not in the log")
	}

	bare := newEnv(t, sqliteStore(t), nil)
	bare.mustCreate("acme", "x")
	for _, path := range []string{"/admin/v1/tenants/acme/check", "/admin/v1/reload"} {
		if res := bare.do("POST", path, bare.root, ""); res.status != http.StatusNotImplemented {
			t.Errorf("%s without a function = %d", path, res.status)
		}
	}
}

// TestOpenAPIServed serves the document without a key, byte for byte the embedded one.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, sqliteStore(t), nil)
	res := e.do("GET", "/admin/v1/openapi.json", "", "")
	if res.status != http.StatusOK || string(res.body) != string(openAPIDoc) {
		t.Fatalf("openapi.json = %d", res.status)
	}
}

// TestDocumentedCodes keeps openapi.json's list of error codes the same as the package's.
func TestDocumentedCodes(t *testing.T) {
	doc := (&response{body: openAPIDoc}).json(t)
	enum := doc["components"].(map[string]any)["schemas"].(map[string]any)["Error"].(map[string]any)["properties"].(map[string]any)["error"].(map[string]any)["enum"].([]any)
	var documented, defined []string
	for _, c := range enum {
		documented = append(documented, c.(string))
	}
	for c := range statusOf {
		defined = append(defined, string(c))
	}
	slices.Sort(documented)
	slices.Sort(defined)
	if !slices.Equal(documented, defined) {
		t.Errorf("openapi.json codes %v\npackage codes %v", documented, defined)
	}
}
