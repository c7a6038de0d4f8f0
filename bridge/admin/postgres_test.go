package admin

import (
	"context"
	"net/http"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// TestPostgresCRUD runs the whole life of a tenant on PostgreSQL.
func TestPostgresCRUD(t *testing.T) {
	so, _ := postgresStore(t)
	e := newEnv(t, so, nil)
	tag := e.mustCreate("acme", "s1")
	if res := e.do("GET", "/admin/v1/tenants/acme", e.root, ""); res.status != http.StatusOK || res.header.Get("ETag") != tag {
		t.Fatalf("get = %d ETag %q, want %s", res.status, res.header.Get("ETag"), tag)
	}
	res := e.do("PUT", "/admin/v1/tenants/acme", e.root, tenantDoc("acme", "s2"), "If-Match: "+tag)
	if res.status != http.StatusOK || res.header.Get("ETag") != `"2"` {
		t.Fatalf("put = %d %s", res.status, res.body)
	}
	if res := e.do("POST", "/admin/v1/tenants", e.root, tenantDoc("acme", "s3")); res.status != http.StatusConflict {
		t.Errorf("second create = %d", res.status)
	}
	if res := e.do("GET", "/admin/v1/tenants", e.root, ""); res.status != http.StatusOK || len(res.json(t)["tenants"].([]any)) != 1 {
		t.Errorf("list = %d %s", res.status, res.body)
	}
	if res := e.do("DELETE", "/admin/v1/tenants/acme", e.root, "", `If-Match: "2"`); res.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", res.status, res.body)
	}
	if res := e.do("GET", "/admin/v1/tenants/acme", e.root, ""); res.status != http.StatusNotFound {
		t.Errorf("get after delete = %d", res.status)
	}
}

// TestDatabaseUnavailable stops PostgreSQL under the admin API: every route that needs the database answers
// 503 with Retry-After, and nothing else.
func TestDatabaseUnavailable(t *testing.T) {
	so, pg := postgresStore(t)
	e := newEnv(t, so, func(o *Options) {
		o.Check = func(context.Context, store.Tenant) (any, error) { return "ok", nil }
	})
	e.mustCreate("acme", "s1")
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path, body, ifMatch string }{
		{"GET", "/admin/v1/tenants", "", ""},
		{"POST", "/admin/v1/tenants", tenantDoc("initech", "x"), ""},
		{"GET", "/admin/v1/tenants/acme", "", ""},
		{"PUT", "/admin/v1/tenants/acme", tenantDoc("acme", "s2"), `"1"`},
		{"DELETE", "/admin/v1/tenants/acme", "", `"1"`},
		{"POST", "/admin/v1/tenants/acme/check", "", ""},
	} {
		var headers []string
		if r.ifMatch != "" {
			headers = append(headers, "If-Match: "+r.ifMatch)
		}
		res := e.do(r.method, r.path, e.root, r.body, headers...)
		if res.status != http.StatusServiceUnavailable || res.errorCode(t) != string(CodeUnavailable) || res.header.Get("Retry-After") == "" {
			t.Errorf("%s %s = %d %s Retry-After %q, want 503", r.method, r.path, res.status, res.body, res.header.Get("Retry-After"))
		}
	}
}
