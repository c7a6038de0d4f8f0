package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/logtest"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platformtest"
)

// TestServePlatform runs the real binary in platform mode: a tenant created through the admin API logs in,
// SIGHUP with a broken file changes nothing, SIGHUP with a good one applies it, SIGTERM stops cleanly.
func TestServePlatform(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fuyun-bridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rig := platformtest.New(t)
	dir := t.TempDir()
	key, line, err := apikeys.Generate("ops")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "admin_keys"), []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	adminAddr := freeAddr(t)
	cfgText := strings.Replace(rig.ConfigYAML("sqlite", filepath.Join(dir, "tenants.db")), `admin: {listen: "127.0.0.1:0"}`,
		fmt.Sprintf("admin: {listen: %q, keys_file: admin_keys}", adminAddr), 1)
	cfgPath := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := rig.Release()
	cmd := exec.Command(bin, "serve", "--config", cfgPath, "--listen", listen)
	logs := &logtest.Buffer{} // serve writes from two pipes while the test reads
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("serve's log:\n%s", logs.String())
		}
	})
	platformtest.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get(rig.Public + "/readyz")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "store: current, 0 tenants") {
			return fmt.Errorf("readyz %d: %s", resp.StatusCode, body)
		}
		return nil
	})

	// Onboard a tenant through the admin API (JSON), then log in at it.
	admin := func(method, path, body string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+adminAddr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	doc, err := yamlToJSON(rig.TenantYAML("acme"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := admin("POST", "/admin/v1/tenants", doc); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	platformtest.Eventually(t, 2*time.Second, func() error {
		res := platformtest.Login(t, rig.Public, "acme", "alice")
		if res.ACToken == "" {
			return fmt.Errorf("login at the new tenant: %d %.200s", res.Status, res.Body)
		}
		return nil
	})
	if resp, body := admin("POST", "/admin/v1/tenants/acme/check", ""); resp.StatusCode != 200 || !strings.Contains(body, `"ok":true`) {
		t.Errorf("check: %d %s", resp.StatusCode, body)
	}

	// SIGHUP with a broken file: refused, logged, the old configuration keeps serving.
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(cfgText, "cookie: {secure: false}", "cookie: {secure: false, same_site: sideways}", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), "reload refused") {
			return fmt.Errorf("no refusal logged")
		}
		return nil
	})
	if resp, body := admin("POST", "/admin/v1/reload", ""); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, `"error":"config_refused"`) || !strings.Contains(body, "cookie.same_site") {
		t.Errorf("POST /admin/v1/reload of the broken file: %d %s", resp.StatusCode, body)
	}
	if res := platformtest.Login(t, rig.Public, "acme", "bob"); res.ACToken == "" {
		t.Fatalf("login after a refused reload: %d %.200s", res.Status, res.Body)
	}
	// A key added to admin.keys_file is refused until a reload, and accepted after it (what `admin apikey`
	// tells the operator to do).
	key2, line2, err := apikeys.Generate("ops2")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "admin_keys"), []byte(line+"\n"+line2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withKey2 := func() int {
		req, _ := http.NewRequest("GET", "http://"+adminAddr+"/admin/v1/tenants", nil)
		req.Header.Set("Authorization", "Bearer "+key2)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := withKey2(); code != http.StatusUnauthorized {
		t.Errorf("a key not yet loaded: %d, want 401", code)
	}
	// A good file: applied (the root page now lists a redirect origin the old file did not allow).
	good := strings.Replace(cfgText, "cookie: {secure: false}", "cookie: {secure: false}\nredirects: {allowed: [\"https://portal.example\"]}", 1)
	if err := os.WriteFile(cfgPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	platformtest.Eventually(t, 5*time.Second, func() error {
		resp, err := http.Get(rig.Public + "/?return_to=" + "https://portal.example/x")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("return_to of the reloaded file: %d", resp.StatusCode)
		}
		return nil
	})
	if !strings.Contains(logs.String(), "configuration reloaded") {
		t.Errorf("no reload logged")
	}
	if code := withKey2(); code != http.StatusOK {
		t.Errorf("the key added before the reload: %d, want 200", code)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("serve exited: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}

// yamlToJSON turns a YAML tenant into the JSON the admin API takes.
func yamlToJSON(doc string) (string, error) {
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// freeAddr is a loopback address nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
