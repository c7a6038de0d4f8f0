package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/logtest"
)

func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var stdout, stderr bytes.Buffer
	if code := runKeygen([]string{"--out", dir, "--name", "crm"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	privPath := filepath.Join(dir, "crm-private.pem")
	pubPath := filepath.Join(dir, "crm-public.pem")
	txtPath := filepath.Join(dir, "crm-public.txt")

	info, err := os.Stat(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("private key mode %o; want 600", perm)
	}
	priv, err := fuyun.LoadPrivateKeyFile(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(mustRead(t, privPath), []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Fatal("private key is not PKCS#8 PEM")
	}
	pub, err := fuyun.LoadPublicKeyFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(string(mustRead(t, txtPath)), "\n")
	if strings.ContainsAny(line, " \r\n") {
		t.Fatalf("public-key text is not one line: %q", line)
	}
	fromLine, err := fuyun.ParsePublicKey([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&priv.PublicKey) || !fromLine.Equal(&priv.PublicKey) || priv.N.BitLen() != 2048 {
		t.Fatal("the written files are not one RSA-2048 key pair")
	}
	out := stdout.String()
	for _, want := range []string{privPath, pubPath, txtPath, "developer portal", "private_key_file"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, line[:40]) || strings.Contains(out, "PRIVATE KEY-----") {
		t.Error("output prints key material; it should point at the files")
	}
}

func TestKeygenRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name     string
		existing string
	}{
		{"private key exists", "fuyun-private.pem"},
		{"public key exists", "fuyun-public.pem"},
		{"portal text exists", "fuyun-public.txt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sub := filepath.Join(dir, tc.name)
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			existing := filepath.Join(sub, tc.existing)
			if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := runKeygen([]string{"--out", sub}, &stdout, &stderr); code != 1 {
				t.Fatalf("exit %d; want 1", code)
			}
			if !strings.Contains(stderr.String(), existing) || !strings.Contains(stderr.String(), "refusing to overwrite") {
				t.Fatalf("message does not name the file: %q", stderr.String())
			}
			if got := string(mustRead(t, existing)); got != "keep me" {
				t.Fatal("the existing file was changed")
			}
			entries, _ := os.ReadDir(sub)
			if len(entries) != 1 {
				t.Fatalf("%d files in the directory; nothing new should be written", len(entries))
			}
		})
	}
}

func TestKeygenUsage(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		code       int
		stdoutHas  string
		stderrHas  string
		wantsFiles bool
	}{
		{"help", []string{"--help"}, 0, "Usage: fuyun-bridge keygen", "", false},
		{"short help", []string{"-h"}, 0, "--out", "", false},
		{"unknown flag", []string{"--bits", "4096"}, 2, "", "flag provided but not defined: -bits", false},
		{"stray argument", []string{"extra"}, 2, "", `unexpected argument "extra"`, false},
		{"bad name", []string{"--name", "../evil"}, 2, "", "--name", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			var stdout, stderr bytes.Buffer
			if code := runKeygen(tc.args, &stdout, &stderr); code != tc.code {
				t.Fatalf("exit %d; want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdoutHas) || !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Fatalf("stdout %q\nstderr %q", stdout.String(), stderr.String())
			}
			if _, err := os.Stat("keys"); err == nil {
				t.Fatal("wrote keys although it should not have")
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestFuyunSimServesAndStops(t *testing.T) {
	dir := t.TempDir()
	var kgOut, kgErr bytes.Buffer
	if code := runKeygen([]string{"--out", filepath.Join(dir, "keys")}, &kgOut, &kgErr); code != 0 {
		t.Fatal(kgErr.String())
	}
	config := filepath.Join(dir, "sim.yaml")
	yaml := `listen: "127.0.0.1:1"   # overridden by --listen below
clients:
  - client_id: crm-dev
    client_secret: crm-dev-secret
    scopes: [user_management, hotline]
    jwt: {issuer: "https://crm.example.com", public_key_file: keys/fuyun-public.pem}
agents:
  - account_name: alice
`
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	addrCh := make(chan string, 1)
	done := make(chan int, 1)
	var stdout, stderr logtest.Buffer
	go func() {
		done <- serveFuyunSim(ctx, []string{"--config", config, "--listen", "127.0.0.1:0"}, &stdout, &stderr,
			func(addr string) { addrCh <- addr })
	}()
	var addr string
	select {
	case addr = <-addrCh:
	case code := <-done:
		t.Fatalf("exited %d: %s", code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("did not start")
	}

	// A real JWT-mode exchange with the key keygen wrote.
	key, err := fuyun.LoadPrivateKeyFile(filepath.Join(dir, "keys", "fuyun-private.pem"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := fuyun.NewSigner(key, "https://crm.example.com", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	client, err := fuyun.NewClient(fuyun.Config{TokenURL: "http://" + addr + "/oauth/token_exchange", ClientID: "crm-dev",
		ClientSecret: "crm-dev-secret", Scope: "hotline", RedirectURL: "https://bridge.example.com/callback", Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := client.ExchangeJWT(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tok.Claims(); err != nil || c.UserName != "alice" {
		t.Fatalf("claims %+v, %v", c, err)
	}
	resp, err := http.Get("http://" + addr + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []json.RawMessage }
	_ = json.NewDecoder(resp.Body).Decode(&jwks)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if len(jwks.Keys) != 1 {
		t.Fatalf("JWKS has %d keys", len(jwks.Keys))
	}

	stop() // what SIGINT does
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after shutdown: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not shut down")
	}
	if !strings.Contains(stdout.String(), "/oauth/token_exchange") {
		t.Errorf("stdout does not show the endpoint: %q", stdout.String())
	}
	logs := stderr.String()
	if !strings.Contains(logs, "msg=\"token exchange\"") || !strings.Contains(logs, "user_name=alice") {
		t.Errorf("no text log line for the exchange:\n%s", logs)
	}
	if strings.Contains(logs, tok.AccessToken) || strings.Contains(logs, "crm-dev-secret") {
		t.Error("the log carries a token or the client secret")
	}
}

func TestFuyunSimUsageAndConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("clients: []\nsurprise: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		args      []string
		code      int
		stdoutHas string
		stderrHas string
	}{
		{"help", []string{"--help"}, 0, "Usage: fuyun-bridge fuyun-sim", ""},
		{"no config", nil, 2, "", "--config FILE is required"},
		{"unknown flag", []string{"--port", "1"}, 2, "", "flag provided but not defined"},
		{"missing file", []string{"--config", filepath.Join(dir, "absent.yaml")}, 1, "", "absent.yaml"},
		{"unknown key", []string{"--config", bad}, 1, "", "field surprise not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runFuyunSim(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdoutHas) || !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Fatalf("exit %d (want %d)\nstdout %q\nstderr %q", code, tc.code, stdout.String(), stderr.String())
			}
		})
	}
}
