package devidp

import (
	"net/http"
	"sync"
	"testing"
)

// login runs one full login over HTTP: authorize with login_hint, token, userinfo.
func (ti *testIdP) login(tb testing.TB, hint, wantSub string) {
	code, verifier := ti.loginCode(tb, hint)
	tok := ti.redeem(tb, code, verifier)
	resp, ui := ti.userinfo(tb, tok["access_token"].(string))
	if resp.StatusCode != http.StatusOK || ui["sub"] != wantSub {
		tb.Fatalf("userinfo %d %v, want sub %s", resp.StatusCode, ui, wantSub)
	}
}

// TestConcurrentLogins runs logins in parallel; with -race it proves the IdP safe for concurrent use.
func TestConcurrentLogins(t *testing.T) {
	ti := startIdP(t, nil)
	users := DemoUsers()
	var wg sync.WaitGroup
	for i := range 8 {
		u := users[i%len(users)]
		wg.Go(func() {
			for range 10 {
				ti.login(t, u.Username, u.Subject)
			}
		})
	}
	// A rotation in the middle of the logins must not break any of them.
	if err := ti.RotateKey(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	if n := ti.tokens.len(); n != 80 {
		t.Errorf("%d access tokens, want 80", n)
	}
}

// BenchmarkLogin measures one full login on loopback: authorize with login_hint → token → userinfo.
func BenchmarkLogin(b *testing.B) {
	ti := startIdP(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		ti.login(b, "alice", "dev-alice")
	}
}
