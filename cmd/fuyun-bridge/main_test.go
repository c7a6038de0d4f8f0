package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageAndExitCodes(t *testing.T) {
	cases := []struct {
		args       []string
		code       int
		out, errIn string
	}{
		{nil, 2, "", "Usage: fuyun-bridge"},
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"version"}, 0, "fuyun-bridge ", ""},
		{[]string{"version", "extra"}, 2, "", "unexpected argument"},
		{[]string{"serve"}, 2, "", "--config FILE is required"},
		{[]string{"serve", "--help"}, 0, "Usage: fuyun-bridge serve --config FILE", ""},
		{[]string{"serve", "--nope"}, 2, "", "flag provided but not defined"},
		{[]string{"dev", "--help"}, 0, "--listen", ""},
		{[]string{"dev", "--listen", "0.0.0.0:0"}, 1, "", "loopback only"},
		{[]string{"dev", "--platform", "--help"}, 0, "--platform", ""},
		{[]string{"dev", "--platform", "--listen", "0.0.0.0:0"}, 1, "", "loopback only"},
		{[]string{"dev", "--platform=maybe"}, 2, "", "invalid boolean value"},
		{[]string{"check"}, 2, "", "--config FILE is required"},
		{[]string{"token", "--config", "x.yaml"}, 2, "", "--user NAME are required"},
		{[]string{"token", "--help"}, 0, "--user", ""},
		{[]string{"--version"}, 0, "fuyun-bridge ", ""},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.errIn) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
}

// TestHelpPrintsOnce: every command's --help prints its usage exactly once, to stdout; a bad flag prints the
// error and the usage once, to stderr.
func TestHelpPrintsOnce(t *testing.T) {
	for _, c := range commands() {
		if c.name == "version" {
			continue
		}
		code, out, errOut := runCmd(c.name, "--help")
		if code != 0 || strings.Count(out, "Usage:") != 1 || errOut != "" {
			t.Errorf("%s --help: exit %d, %d usages on stdout, stderr %q", c.name, code, strings.Count(out, "Usage:"), errOut)
		}
		code, out, errOut = runCmd(c.name, "--no-such-flag")
		if code != 2 || strings.Count(errOut, "Usage:") != 1 || out != "" {
			t.Errorf("%s --no-such-flag: exit %d, %d usages on stderr, stdout %q", c.name, code, strings.Count(errOut, "Usage:"), out)
		}
	}
}

func TestServeListsEveryConfigProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("server:\n  public_url: ftp://x\ncookie:\n  same_site: sideways\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd("serve", "--config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"server.public_url", "cookie.same_site", "bogus", "providers", "session"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("problems do not mention %q:\n%s", want, errOut)
		}
	}
}

// TestTokenAgainstEmulator is README's offline walk-through: keygen's key, the emulator, `token --user`.
func TestTokenAgainstEmulator(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCmd("keygen", "--out", filepath.Join(dir, "keys")); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	pub, err := fuyun.LoadPublicKeyFile(filepath.Join(dir, "keys", "fuyun-public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := fuyunsim.New(fuyunsim.Config{
		Clients: []fuyunsim.Client{{ClientID: "crm-dev", ClientSecret: "crm-dev-secret", Scopes: []string{"user_management", "hotline"},
			JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: pub}}},
		Agents: []fuyunsim.Agent{{AccountName: "alice"}},
	}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	defer ts.Close()
	demo, err := os.ReadFile("../../configs/token-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(demo), "http://127.0.0.1:8081/oauth/token_exchange", ts.URL+fuyunsim.TokenPath, 1)
	cfg = strings.Replace(cfg, "../keys/fuyun-private.pem", "keys/fuyun-private.pem", 1)
	path := filepath.Join(dir, "token.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCmd("token", "--config", path, "--user", "alice")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, errOut)
	}
	var tok fuyun.Token
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatalf("token printed %q: %v", out, err)
	}
	if claims, err := sim.VerifyAccessToken(tok.AccessToken); err != nil || claims.UserName != "alice" {
		t.Fatalf("printed token: %v %v", claims, err)
	}

	code, _, errOut = runCmd("token", "--config", path, "--user", "mallory")
	if code != 1 || !strings.Contains(errOut, "invalid_grant") || !strings.Contains(errOut, "mallory") {
		t.Errorf("unknown agent: exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "crm-dev-secret") {
		t.Error("client secret in the error output")
	}
}
