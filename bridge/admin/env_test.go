package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/logtest"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store/pgtest"
)

// spec validates every response a test gets; seen records which operation answered which status.
var (
	spec     routers.Router
	seenMu   sync.Mutex
	seen     = map[string]map[int]bool{} // operationId → statuses
	allTests = false
)

func TestMain(m *testing.M) {
	flag.Parse()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDoc)
	if err == nil {
		spec, err = legacyrouter.NewRouter(doc) // validates the document itself too
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi.json:", err)
		os.Exit(1)
	}
	allTests = flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == ""
	code := m.Run()
	if code == 0 && allTests {
		if missing := uncovered(doc); len(missing) > 0 {
			fmt.Fprintln(os.Stderr, "OpenAPI operations without a validated success and error response:", missing)
			code = 1
		}
	}
	os.Exit(code)
}

// uncovered lists the operations that no test saw answer both a 2xx and a 4xx or 5xx (openapi.json, which
// cannot fail, needs only its 200).
func uncovered(doc *openapi3.T) []string {
	seenMu.Lock()
	defer seenMu.Unlock()
	var missing []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			var ok, failed bool
			for status := range seen[op.OperationID] {
				ok = ok || status < 300
				failed = failed || status >= 400
			}
			if !ok || (!failed && op.OperationID != "openAPI") {
				missing = append(missing, op.OperationID)
			}
		}
	}
	slices.Sort(missing)
	return missing
}

// logLines returns the JSON log lines of l whose msg is msg.
func logLines(t *testing.T, l *logtest.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// env is an admin API on a fresh store with three keys: root (every tenant), acme (only tenant acme) and
// globex (only tenant globex).
type env struct {
	t                  *testing.T
	h                  *Handler
	store              *store.Store
	logs               *logtest.Buffer
	root, acme, globex string
}

var testEncryptionKey = bytes.Repeat([]byte{'k'}, 32)

func sqliteStore(t *testing.T) store.Options {
	return store.Options{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "tenants.db")}
}

// postgresStore starts a PostgreSQL server of the test's own, which the test may stop.
func postgresStore(t *testing.T) (store.Options, *pgtest.Server) {
	pg := pgtest.Start(t)
	return store.Options{Driver: "postgres", DSN: pg.NewDatabase(t)}, pg
}

// newEnv opens the store of so and an admin API on it; tweak may change the options before New.
func newEnv(t *testing.T, so store.Options, tweak func(*Options)) *env {
	t.Helper()
	so.EncryptionKeys = [][]byte{testEncryptionKey}
	so.Timeout = 2 * time.Second
	st, err := store.Open(t.Context(), so)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: st, logs: &logtest.Buffer{}}
	var lines []string
	for _, k := range []struct {
		id   string
		into *string
	}{{"root", &e.root}, {"acme-admin", &e.acme}, {"globex-admin", &e.globex}} {
		key, line, err := apikeys.Generate(k.id)
		if err != nil {
			t.Fatal(err)
		}
		*k.into = key
		lines = append(lines, line)
	}
	keys, err := apikeys.Parse(strings.NewReader(strings.Join(lines, "\n")), "keys")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Store: st, Keys: keys, Codec: testCodec{},
		Scopes: map[string][]string{"acme-admin": {"acme"}, "globex-admin": {"globex"}},
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil)),
	}
	if tweak != nil {
		tweak(&opts)
	}
	e.h = New(opts)
	return e
}

// response is one answer of the admin API, already validated against openapi.json.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a map.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// errorCode is the "error" of a refusal body.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	code, _ := r.json(t)["error"].(string)
	return code
}

// do sends one request with key as the bearer (none if ""), and header lines "Name: value".
func (e *env) do(method, path, key, body string, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(e.t.Context(), method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	validate(e.t, req, res)
	return res
}

// validate checks a response against openapi.json: its status is listed for the operation, and its headers
// and body match. Requests outside the document (unknown paths and methods) are not checked.
func validate(t *testing.T, req *http.Request, res response) {
	t.Helper()
	route, params, err := spec.FindRoute(req)
	if err != nil {
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.status,
		Header:                 res.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(res.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match openapi.json: %v\nbody: %s", req.Method, req.URL.Path, res.status, err, res.body)
		return
	}
	seenMu.Lock()
	defer seenMu.Unlock()
	if seen[route.Operation.OperationID] == nil {
		seen[route.Operation.OperationID] = map[int]bool{}
	}
	seen[route.Operation.OperationID][res.status] = true
}

// tenantDoc is a valid document for tenant id with one domain, one host and one secret.
func tenantDoc(id, secret string) string {
	return fmt.Sprintf(`{"id": %q, "display_name": "%s Inc", "domains": ["%s.example"], "hosts": ["login.%s.example"],
		"providers": [{"type": "oidc", "issuer": "https://idp.%s.example"}],
		"secrets": {"providers[0].client_secret": %q}}`, id, id, id, id, id, secret)
}

// mustCreate creates a tenant as root and returns its ETag.
func (e *env) mustCreate(id, secret string) string {
	e.t.Helper()
	res := e.do("POST", "/admin/v1/tenants", e.root, tenantDoc(id, secret))
	if res.status != http.StatusCreated {
		e.t.Fatalf("create %s: %d %s", id, res.status, res.body)
	}
	return res.header.Get("ETag")
}

// snapshot is every stored tenant, to show that a refusal changed nothing.
func (e *env) snapshot() []store.Tenant {
	e.t.Helper()
	ts, _, err := e.store.List(context.Background(), "", 1000)
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	return ts
}
