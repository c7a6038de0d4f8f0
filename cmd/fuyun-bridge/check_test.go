package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// checkEnv is a stub IdP and a Fuyun emulator on loopback, and a config file naming them.
type checkEnv struct {
	stub     *idpstub.Stub
	fuyunURL string
	dir      string
}

func newCheckEnv(t *testing.T) *checkEnv {
	t.Helper()
	stub := idpstub.New(t, idpstub.Options{ClientID: "bridge-client", ClientSecret: "idp-secret"})
	sim, err := fuyunsim.New(fuyunsim.Config{
		Issuer: "http://fuyun.test",
		Clients: []fuyunsim.Client{{ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"hotline"},
			OAuth: &fuyunsim.OAuthClient{AppName: "crmapp", UserEndpoint: stub.URL + "/userinfo", MappingField: "email"}}},
	}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return &checkEnv{stub: stub, fuyunURL: ts.URL + fuyunsim.TokenPath, dir: t.TempDir()}
}

// config writes a bridge config; extra is appended under the provider list's first entry.
func (e *checkEnv) config(t *testing.T, fuyunURL, providerExtra string) string {
	t.Helper()
	k := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32))
	doc := fmt.Sprintf(`server: {public_url: "http://127.0.0.1:8080"}
session: {keys: ["%s:%s"]}
cookie: {secure: false}
fuyun:
  token_url: %q
  client_id: crm
  client_secret: s3cret
  redirect_url: https://crm.example.com/callback
  app_name: crmapp
providers:
  - id: idp
    type: oidc
    issuer: %q
    client_id: bridge-client
    client_secret: idp-secret
%s`, k, k, fuyunURL, e.stub.URL, providerExtra)
	path := filepath.Join(e.dir, "bridge.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheck(t *testing.T) {
	e := newCheckEnv(t)
	closed := httptest.NewServer(nil)
	closedURL := closed.URL + "/oauth/token_exchange"
	closed.Close()
	tests := []struct {
		name     string
		fuyunURL string
		extra    string
		idpDown  bool
		args     func(path string) []string
		wantCode int
		stdout   []string // each must appear
		stderr   []string
	}{
		{name: "all reachable", fuyunURL: e.fuyunURL, wantCode: 0,
			stdout: []string{"PROVIDER", "STATUS", "KEYS", "redirect URI to register",
				"idp  ", e.stub.URL, "\n    http://127.0.0.1:8080/callback/idp\n", "fuyun", e.fuyunURL},
		},
		{name: "IdP down", fuyunURL: e.fuyunURL, idpDown: true, wantCode: 1,
			stdout: []string{"failed", "error: ", "idp_unavailable"}, stderr: []string{"not reachable"}},
		{name: "Fuyun unreachable", fuyunURL: closedURL, wantCode: 1,
			stdout: []string{"token_exchange  unreachable", "no HTTP answer"}, stderr: []string{"not reachable"}},
		{name: "Fuyun refused", fuyunURL: e.fuyunURL + "/wrong", wantCode: 1,
			stdout: []string{"token_exchange  refused", "Fuyun refused: HTTP 404"}, stderr: []string{"refused"}},
		{name: "offline: no network", fuyunURL: closedURL, idpDown: true, wantCode: 0,
			args:   func(path string) []string { return []string{"check", "--offline", "--config", path} },
			stdout: []string{"configuration ok", "--offline"}},
		{name: "offline: invalid config", fuyunURL: e.fuyunURL, extra: "    mapping: {transform: upper}\n", wantCode: 1,
			args:   func(path string) []string { return []string{"check", "--offline", "--config", path} },
			stderr: []string{"providers[0].mapping.transform"}},
		{name: "invalid config names the key", fuyunURL: e.fuyunURL, extra: "    mapping: {transform: upper}\n", wantCode: 1,
			stderr: []string{"providers[0].mapping.transform"}},
		{name: "no --config", fuyunURL: e.fuyunURL, args: func(string) []string { return []string{"check"} }, wantCode: 2,
			stderr: []string{"--config FILE is required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.stub.Shape(func(s *idpstub.Shape) { s.Down = tc.idpDown })
			path := e.config(t, tc.fuyunURL, tc.extra)
			args := []string{"check", "--config", path, "--timeout", "3s"}
			if tc.args != nil {
				args = tc.args(path)
			}
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			for _, line := range strings.Split(stdout.String(), "\n") {
				if n := utf8.RuneCountInString(line); n > 100 {
					t.Errorf("a line of %d columns: %q", n, line)
				}
			}
			for _, secret := range []string{"idp-secret", "s3cret"} {
				if strings.Contains(stdout.String()+stderr.String(), secret) {
					t.Errorf("output shows the secret %q", secret)
				}
			}
		})
	}
}

// TestCheckTableRows pins the rows of a reachable provider and Fuyun: status ok and the JWKS key count.
func TestCheckTableRows(t *testing.T) {
	e := newCheckEnv(t)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "--config", e.config(t, e.fuyunURL, "")}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var idpRow, fuyunRow []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "idp" && idpRow == nil: // the table row, not the details heading
			idpRow = f
		case len(f) > 0 && f[0] == "fuyun" && fuyunRow == nil:
			fuyunRow = f
		}
	}
	wantIdP := []string{"idp", "oidc", "ok", "1"}
	if strings.Join(idpRow, " ") != strings.Join(wantIdP, " ") {
		t.Errorf("idp row %q, want %q", idpRow, wantIdP)
	}
	if strings.Join(fuyunRow, " ") != "fuyun token_exchange ok -" {
		t.Errorf("fuyun row %q, want status ok", fuyunRow)
	}
}

// TestConfigFromEnvironmentAndFlags: check reads the configuration as serve does — the file named by --config
// or FUYUN_BRIDGE_CONFIG, FUYUN_BRIDGE_* variables over it, flags over those — and names a bad value's origin.
func TestConfigFromEnvironmentAndFlags(t *testing.T) {
	e := newCheckEnv(t)
	path := e.config(t, e.fuyunURL, "")
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{name: "file from FUYUN_BRIDGE_CONFIG", env: map[string]string{"FUYUN_BRIDGE_CONFIG": path},
			wantCode: 0, stdout: "http://127.0.0.1:8080/callback/idp"},
		{name: "environment over file", env: map[string]string{"FUYUN_BRIDGE_SERVER_PUBLIC_URL": "http://127.0.0.1:9998"},
			args: []string{"--config", path}, wantCode: 0, stdout: "http://127.0.0.1:9998/callback/idp"},
		{name: "flag over environment", env: map[string]string{"FUYUN_BRIDGE_SERVER_PUBLIC_URL": "ftp://bad"},
			args: []string{"--config", path, "--public-url", "http://127.0.0.1:9999"}, wantCode: 0, stdout: "http://127.0.0.1:9999/callback/idp"},
		{name: "bad variable named", env: map[string]string{"FUYUN_BRIDGE_SERVER_PUBLIC_URL": "ftp://bad"},
			args: []string{"--config", path}, wantCode: 1, stderr: "server.public_url (from FUYUN_BRIDGE_SERVER_PUBLIC_URL): want an absolute http or https URL"},
		{name: "bad flag named", args: []string{"--config", path, "--log-level", "loud"},
			wantCode: 1, stderr: `log.level (from --log-level): unknown level "loud"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, out, errOut := runCmd(append([]string{"check", "--timeout", "3s"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("exit %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s", code, tc.wantCode, tc.stdout, out, tc.stderr, errOut)
			}
		})
	}
}

// TestCheckPlatformFileWithoutProviders: a platform-mode file whose own company has no provider is valid;
// check says the tenants are the store's and how to check one, and contacts nothing.
func TestCheckPlatformFileWithoutProviders(t *testing.T) {
	k := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32))
	dir := t.TempDir()
	path := filepath.Join(dir, "platform.yaml")
	yaml := fmt.Sprintf(`server: {public_url: "https://sso.crm.example"}
session: {keys: ["%s:%s"]}
store: {driver: sqlite, path: tenants.db, encryption_keys: ["%s"]}
`, k, k, k)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "--config", path}, {"check", "--offline", "--config", path}} {
		code, out, errOut := runCmd(args...)
		if code != 0 || !strings.Contains(out, "platform mode: tenants in the sqlite store") || !strings.Contains(out, "configuration ok: 0 provider(s)") {
			t.Errorf("%q: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants.db")); err == nil {
		t.Error("check created the store's database")
	}
}
