package devstack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platformtest"
)

// TestPlatformDemo walks through what `dev --platform` prints: both demo tenants log in with their own Fuyun
// registration, the printed curl creates the third tenant, which then logs in too, the email box finds a
// tenant, and Close removes the temporary directory.
func TestPlatformDemo(t *testing.T) {
	ps, err := StartPlatform(Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = ps.Close(context.Background())
		}
	})
	if len(ps.Tenants) != 2 || ps.NewTenant == "" {
		t.Fatalf("tenants %v, new %q", ps.Tenants, ps.NewTenant)
	}
	for _, id := range ps.Tenants {
		loginAs(t, ps, id)
	}

	// Before the curl, the third tenant is unknown.
	if res := platformtest.Login(t, ps.BridgeURL, ps.NewTenant, "alice"); res.Status != http.StatusNotFound || res.ACToken != "" {
		t.Fatalf("%s before the curl: %d %q", ps.NewTenant, res.Status, res.ACToken)
	}
	resp, body := runCurl(t, ps.CreateCommand())
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the printed curl: %d %s", resp.StatusCode, body)
	}
	created := time.Now()
	platformtest.Eventually(t, 2*time.Second, func() error {
		if ps.Platform.TenantVersion(ps.NewTenant) == 0 {
			return errors.New("the new tenant is not served yet")
		}
		return nil
	})
	loginAs(t, ps, ps.NewTenant)
	if d := time.Since(created); d > 2*time.Second {
		t.Errorf("the new tenant logged in %s after the curl, want within 2s", d)
	}

	// The root page's email box: the domain finds the tenant, whose page moves on (a refresh, which a
	// browser follows and this client does not) to the login, which completes there.
	b := platformtest.NewBrowser()
	res := b.Get(t, ps.BridgeURL+"/discover?email=alice@acme.example")
	next := ps.BridgeURL + "/t/acme/login/dev?login_hint=alice%40acme.example"
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `content="0;url=`+next+`"`) {
		t.Fatalf("discover alice@acme.example: %d %.400s", res.Status, res.Body)
	}
	if res = b.Get(t, next); res.ACToken == "" || !strings.HasPrefix(res.URL.Path, "/t/acme/") {
		t.Errorf("discovered login ended at %s with %d, token %t", res.URL, res.Status, res.ACToken != "")
	}

	// The admin API's check reaches the tenant's IdP and Fuyun registration.
	req, _ := http.NewRequest(http.MethodPost, ps.AdminURL+"/admin/v1/tenants/acme/check", nil)
	req.Header.Set("Authorization", "Bearer "+ps.AdminKey)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok":true`) {
			t.Errorf("check of acme: %d %s", resp.StatusCode, body)
		}
	}

	if err := ps.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed = true
	if _, err := os.Stat(ps.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close, %s: %v, want it removed", ps.Dir, err)
	}
}

// loginAs signs alice in at tenant id and checks that her AC_TOKEN came from the tenant's own registration.
func loginAs(t *testing.T, ps *PlatformStack, id string) {
	t.Helper()
	res := platformtest.Login(t, ps.BridgeURL, id, "alice")
	if res.Status != http.StatusOK || res.ACToken == "" {
		t.Fatalf("login at %s: ended at %s with %d, no AC_TOKEN: %.300s", id, res.URL, res.Status, res.Body)
	}
	if _, err := ps.Fuyun.VerifyAccessToken(res.ACToken); err != nil {
		t.Fatalf("login at %s: AC_TOKEN is not the emulator's: %v", id, err)
	}
	claims, err := (&fuyun.Token{AccessToken: res.ACToken}).Claims()
	if err != nil {
		t.Fatal(err)
	}
	if claims.ClientID != "crm-"+id || claims.UserName != "alice" {
		t.Errorf("login at %s: token of client %q for %q, want crm-%s for alice", id, claims.ClientID, claims.UserName, id)
	}
}

// runCurl sends the request a printed `curl -s -X METHOD URL -H 'H: V'… -d @FILE` stands for.
func runCurl(t *testing.T, cmd string) (*http.Response, string) {
	t.Helper()
	args := shellWords(cmd)
	if len(args) == 0 || args[0] != "curl" {
		t.Fatalf("not a curl: %s", cmd)
	}
	method, target, headers, file := http.MethodGet, "", http.Header{}, ""
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "-s":
		case "-X":
			i++
			method = args[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(args[i], ": ")
			headers.Add(k, v)
		case "-d":
			i++
			file = strings.TrimPrefix(args[i], "@")
		default:
			target = a
		}
	}
	var body io.Reader
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		body = strings.NewReader(string(data))
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = headers
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// shellWords splits a command line at spaces outside single quotes, as a POSIX shell would for these.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
			}
			inWord = false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
