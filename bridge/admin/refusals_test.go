package admin

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestRefusals sends every kind of refused request once, checks the status, the code, the headers the status
// calls for and the problems, and that the store is exactly as it was before.
func TestRefusals(t *testing.T) {
	type request struct{ method, path, key, body string }
	for _, tc := range []struct {
		name    string
		req     func(e *env) request
		headers []string
		status  int
		code    Code
		check   func(t *testing.T, e *env, res response)
	}{
		{name: "bad JSON", status: 400, code: CodeInvalidJSON,
			req: func(e *env) request {
				return request{"POST", "/admin/v1/tenants", e.root, "{\n\"id\": \"acme\",\n\"display_name\": }"}
			},
			check: wantProblems(Problem{Line: 3})},
		{name: "unknown field", status: 400, code: CodeInvalidTenant,
			req: func(e *env) request {
				return request{"POST", "/admin/v1/tenants", e.root, "{\"id\": \"initech\",\n\"display_name\": \"Initech\",\n\"colour\": \"red\"}"}
			},
			check: wantProblems(Problem{Path: "colour", Line: 3, Message: "unknown field"})},
		{name: "invalid tenant lists every problem", status: 400, code: CodeInvalidTenant,
			req: func(e *env) request {
				return request{"POST", "/admin/v1/tenants", e.root, `{"id": "initech", "providers": [{"type": "oidc"}, {}]}`}
			},
			check: wantProblems(Problem{Path: "display_name", Message: "is required"},
				Problem{Path: "providers[1].type", Message: "is required"})},
		{name: "keeping a secret that is not stored", status: 400, code: CodeInvalidTenant,
			req: func(e *env) request {
				return request{"POST", "/admin/v1/tenants", e.root, `{"id": "initech", "display_name": "Initech", "secrets": {"api_key": {"set": true}}}`}
			},
			check: wantProblems(Problem{Path: "api_key"})},
		{name: "PUT keeping a secret that the merged tenant cannot hold", status: 400, code: CodeInvalidTenant, headers: []string{`If-Match: "1"`},
			req: func(e *env) request {
				return request{"PUT", "/admin/v1/tenants/acme", e.root, `{"id": "acme", "display_name": "Acme", "providers": [],
					"secrets": {"providers[0].client_secret": {"set": true}}}`}
			},
			check: wantProblems(Problem{Path: "providers[0].client_secret", Message: "the secret's entry is not in the document"})},
		{name: "an id the store refuses", status: 400, code: CodeInvalidTenant,
			req: func(e *env) request {
				return request{"POST", "/admin/v1/tenants", e.root, `{"id": "Not A Slug", "display_name": "x"}`}
			}},
		{name: "PUT that changes the id", status: 400, code: CodeInvalidTenant, headers: []string{`If-Match: "1"`},
			req: func(e *env) request {
				return request{"PUT", "/admin/v1/tenants/acme", e.root, tenantDoc("globex", "x")}
			},
			check: wantProblems(Problem{Path: "id"})},
		{name: "limit out of range", status: 400, code: CodeInvalidRequest,
			req: func(e *env) request { return request{"GET", "/admin/v1/tenants?limit=0", e.root, ""} }},
		{name: "duplicate id", status: 409, code: CodeTenantExists,
			req: func(e *env) request { return request{"POST", "/admin/v1/tenants", e.root, tenantDoc("acme", "x")} }},
		{name: "duplicate domain names the holder to a key that may see it", status: 409, code: CodeNameTaken,
			req: func(e *env) request {
				return request{"POST", "/admin/v1/tenants", e.root, strings.Replace(tenantDoc("initech", "x"), `"initech.example"`, `"acme.example"`, 1)}
			},
			check: wantProblems(Problem{Path: "domains", Message: `domain "acme.example" belongs to tenant "acme"`})},
		{name: "duplicate host hides the holder from a key that may not see it", status: 409, code: CodeNameTaken,
			req: func(e *env) request {
				return request{"POST", "/admin/v1/tenants", e.globex, strings.Replace(tenantDoc("globex", "x"), `"login.globex.example"`, `"login.acme.example"`, 1)}
			},
			check: wantProblems(Problem{Path: "hosts", Message: `host "login.acme.example" belongs to another tenant`})},
		{name: "stale If-Match on PUT", status: 412, code: CodeVersionMismatch, headers: []string{`If-Match: "7"`},
			req: func(e *env) request {
				return request{"PUT", "/admin/v1/tenants/acme", e.root, tenantDoc("acme", "new")}
			}},
		{name: "stale If-Match on DELETE", status: 412, code: CodeVersionMismatch, headers: []string{`If-Match: "7"`},
			req: func(e *env) request { return request{"DELETE", "/admin/v1/tenants/acme", e.root, ""} }},
		{name: "If-Match that is not a version", status: 412, code: CodeVersionMismatch, headers: []string{`If-Match: *`},
			req: func(e *env) request { return request{"DELETE", "/admin/v1/tenants/acme", e.root, ""} }},
		{name: "missing If-Match on PUT", status: 428, code: CodeIfMatchRequired,
			req: func(e *env) request {
				return request{"PUT", "/admin/v1/tenants/acme", e.root, tenantDoc("acme", "new")}
			}},
		{name: "missing If-Match on DELETE", status: 428, code: CodeIfMatchRequired,
			req: func(e *env) request { return request{"DELETE", "/admin/v1/tenants/acme", e.root, ""} }},
		{name: "oversized body", status: 413, code: CodeBodyTooLarge,
			req: func(e *env) request {
				padded := strings.Replace(tenantDoc("initech", "x"), "initech Inc", strings.Repeat("i", DefaultMaxBody), 1)
				return request{"POST", "/admin/v1/tenants", e.root, padded}
			}},
		{name: "not JSON", status: 415, code: CodeUnsupportedMedia, headers: []string{"Content-Type: text/plain"},
			req: func(e *env) request { return request{"POST", "/admin/v1/tenants", e.root, tenantDoc("initech", "x")} }},
		{name: "missing key", status: 401, code: CodeInvalidAPIKey,
			req: func(e *env) request { return request{"GET", "/admin/v1/tenants", "", ""} }},
		{name: "wrong key", status: 401, code: CodeInvalidAPIKey,
			req: func(e *env) request {
				return request{"DELETE", "/admin/v1/tenants/acme", e.root[:len(e.root)-2] + "xx", ""}
			}},
		{name: "a key limited to other tenants reads", status: 403, code: CodeForbidden,
			req: func(e *env) request { return request{"GET", "/admin/v1/tenants/acme", e.globex, ""} }},
		{name: "a key limited to other tenants deletes", status: 403, code: CodeForbidden, headers: []string{`If-Match: "1"`},
			req: func(e *env) request { return request{"DELETE", "/admin/v1/tenants/acme", e.globex, ""} }},
		{name: "a key limited to other tenants replaces", status: 403, code: CodeForbidden, headers: []string{`If-Match: "1"`},
			req: func(e *env) request {
				return request{"PUT", "/admin/v1/tenants/acme", e.globex, tenantDoc("acme", "x")}
			}},
		{name: "a key limited to other tenants creates", status: 403, code: CodeForbidden,
			req: func(e *env) request { return request{"POST", "/admin/v1/tenants", e.globex, tenantDoc("initech", "x")} }},
		{name: "a key limited to other tenants checks", status: 403, code: CodeForbidden,
			req: func(e *env) request { return request{"POST", "/admin/v1/tenants/acme/check", e.globex, ""} }},
		{name: "a limited key reloads", status: 403, code: CodeForbidden,
			req: func(e *env) request { return request{"POST", "/admin/v1/reload", e.acme, ""} }},
		{name: "a tenant that does not exist", status: 404, code: CodeNotFound,
			req: func(e *env) request { return request{"GET", "/admin/v1/tenants/initech", e.root, ""} }},
		{name: "PUT on a tenant that does not exist", status: 404, code: CodeNotFound, headers: []string{`If-Match: "1"`},
			req: func(e *env) request {
				return request{"PUT", "/admin/v1/tenants/initech", e.root, tenantDoc("initech", "x")}
			}},
		{name: "an unknown path", status: 404, code: CodeNotFound,
			req: func(e *env) request { return request{"GET", "/admin/v1/tenant", e.root, ""} }},
		{name: "a method the path does not have", status: 405, code: CodeMethodNotAllowed,
			req: func(e *env) request { return request{"PATCH", "/admin/v1/tenants/acme", e.root, ""} },
			check: func(t *testing.T, e *env, res response) {
				if got := res.header.Get("Allow"); got != "DELETE, GET, PUT" {
					t.Errorf("Allow = %q", got)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sqliteStore(t), nil)
			e.mustCreate("acme", "acme-secret")
			before := e.snapshot()
			r := tc.req(e)
			res := e.do(r.method, r.path, r.key, r.body, tc.headers...)
			if res.status != tc.status || res.errorCode(t) != string(tc.code) {
				t.Fatalf("%s %s = %d %s, want %d %s", r.method, r.path, res.status, res.body, tc.status, tc.code)
			}
			body := res.json(t)
			if body["request_id"] == "" || body["request_id"] != res.header.Get("X-Request-Id") {
				t.Errorf("request_id %v, X-Request-Id %q", body["request_id"], res.header.Get("X-Request-Id"))
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate = %q", res.header.Get("WWW-Authenticate"))
			}
			if tc.check != nil {
				tc.check(t, e, res)
			}
			if after := e.snapshot(); !reflect.DeepEqual(after, before) {
				t.Errorf("the refusal changed the store:\nbefore %+v\nafter  %+v", before, after)
			}
			if n := len(logLines(t, e.logs, "admin_change")); n != 1 { // the setup's create only
				t.Errorf("%d audit lines, want only the setup's", n)
			}
		})
	}
}

// wantProblems checks the problems of a refusal: each wanted one's path, and its line and message when set.
func wantProblems(want ...Problem) func(t *testing.T, e *env, res response) {
	return func(t *testing.T, _ *env, res response) {
		t.Helper()
		var body struct{ Problems []Problem }
		if err := json.Unmarshal(res.body, &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Problems) != len(want) {
			t.Fatalf("problems = %+v, want %+v", body.Problems, want)
		}
		for i, w := range want {
			got := body.Problems[i]
			if got.Path != w.Path || (w.Line != 0 && got.Line != w.Line) || (w.Message != "" && got.Message != w.Message) {
				t.Errorf("problem %d = %+v, want %+v", i, got, w)
			}
		}
	}
}
