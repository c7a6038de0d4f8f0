package bridge

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestOAuthExchangeRunsBesideUserinfo proves the concurrency of OAuth mode without timing it: the userinfo
// endpoint answers only once Fuyun has answered the exchange. Serially (token → userinfo → Fuyun) that can
// never happen and the login fails; with the exchange started as soon as the access token is known, it
// completes.
func TestOAuthExchangeRunsBesideUserinfo(t *testing.T) {
	stub := newUpstreamStub(t)
	_, ts := stubBridge(t, stub, "", BuildOptions{LoginTimeout: 10 * time.Second})
	fuyunAnswered := make(chan struct{})
	var once sync.Once
	stub.hook(stubPathFuyun, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(stub.fuyun)
		once.Do(func() { close(fuyunAnswered) })
	})
	stub.hook("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-fuyunAnswered:
			writeJSON(w, 200, map[string]any{"sub": "u-alice", "email": "alice@example.com", "email_verified": true})
		case <-time.After(3 * time.Second):
			http.Error(w, "Fuyun was not asked while userinfo was pending", http.StatusServiceUnavailable)
		}
	})
	status, code, token, err := stubLogin(jsonClient(http.DefaultTransport, 20*time.Second), ts.URL, "stub")
	if err != nil || status != http.StatusOK || !token {
		t.Fatalf("OAuth-mode login with userinfo held until Fuyun answered: %v %d %q token=%v", err, status, code, token)
	}
}

// TestPolicyRefusalWinsOverFuyun: with the exchange running beside userinfo, the outcome never depends on which
// answers first. A refusal of the identity (here: an email outside allowed_domains) decides the error and sets
// no AC_TOKEN, whether Fuyun answered first with a token or with an error; a Fuyun error is reported only for
// an identity that passed.
func TestPolicyRefusalWinsOverFuyun(t *testing.T) {
	cases := []struct {
		name        string
		foreign     bool // userinfo says the user is outside allowed_domains
		fuyunFails  bool
		fuyunFirst  bool // Fuyun answers before userinfo
		wantCode    string
		wantSuccess bool
	}{
		{"policy refuses, Fuyun gave a token first", true, false, true, "mapping_domain_not_allowed", false},
		{"policy refuses, Fuyun answers after", true, false, false, "mapping_domain_not_allowed", false},
		{"policy refuses, Fuyun failed first", true, true, true, "mapping_domain_not_allowed", false},
		{"identity passes, Fuyun failed", false, true, true, CodeFuyunUnavailable, false},
		{"identity passes, Fuyun answers after userinfo", false, false, false, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := newUpstreamStub(t)
			_, ts := stubBridge(t, stub, "", BuildOptions{LoginTimeout: 10 * time.Second})
			userinfoDone, fuyunDone := make(chan struct{}), make(chan struct{})
			var userinfoOnce, fuyunOnce sync.Once
			stub.hook(stubPathFuyun, func(w http.ResponseWriter, r *http.Request) {
				defer fuyunOnce.Do(func() { close(fuyunDone) }) // Fuyun is retried on 5xx
				if !tc.fuyunFirst {
					<-userinfoDone
				}
				if tc.fuyunFails {
					http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(stub.fuyun)
			})
			stub.hook("/userinfo", func(w http.ResponseWriter, r *http.Request) {
				defer userinfoOnce.Do(func() { close(userinfoDone) })
				if tc.fuyunFirst {
					<-fuyunDone
				}
				email := "alice@example.com"
				if tc.foreign {
					email = "alice@other.example"
				}
				writeJSON(w, 200, map[string]any{"sub": "u-alice", "email": email, "email_verified": true})
			})
			status, code, token, err := stubLogin(jsonClient(http.DefaultTransport, 20*time.Second), ts.URL, "stub")
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantSuccess {
				if status != http.StatusOK || !token {
					t.Fatalf("got %d %q token=%v, want success", status, code, token)
				}
				return
			}
			if token || code != tc.wantCode {
				t.Fatalf("got %d %q token=%v, want %q and no AC_TOKEN", status, code, token, tc.wantCode)
			}
		})
	}
}

// TestUserinfoModes: with `userinfo: auto` a login whose ID token carries the mapped claim and its verification
// makes 2 upstream requests (token, Fuyun) instead of 3; a mapping on a claim only userinfo has still calls it;
// `never` relies on the ID token alone.
func TestUserinfoModes(t *testing.T) {
	cases := []struct {
		name, mode, mapping string
		provider            string
		wantUserinfo        int64
		wantCode            string
	}{
		{"auto, JWT mode, email in the ID token", "auto", "", "stub-jwt", 0, ""},
		{"auto, OAuth mode, email in the ID token", "auto", "", "stub", 0, ""},
		{"auto, claim only in userinfo", "auto", "{field: email, fallbacks: [], require_claims: [{claim: department, values: [support]}]}", "stub-jwt", 1, "mapping_claim_not_allowed"},
		{"always", "always", "", "stub-jwt", 1, ""},
		{"never, claim only in userinfo", "never", "{field: preferred_username}", "stub-jwt", 0, "mapping_missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := newUpstreamStub(t)
			stub.userinfo, stub.mapping = tc.mode, tc.mapping
			_, ts := stubBridge(t, stub, "", BuildOptions{})
			status, code, token, err := stubLogin(jsonClient(http.DefaultTransport, 10*time.Second), ts.URL, tc.provider)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantCode == "" && (status != http.StatusOK || !token) {
				t.Fatalf("login: %d %q token=%v", status, code, token)
			}
			if tc.wantCode != "" && (code != tc.wantCode || token) {
				t.Fatalf("login: %d %q token=%v, want %q", status, code, token, tc.wantCode)
			}
			if got := stub.count("/userinfo"); got != tc.wantUserinfo {
				t.Errorf("userinfo requests: %d, want %d", got, tc.wantUserinfo)
			}
			if tc.wantCode == "" {
				if got := stub.count("/token") + stub.count("/userinfo") + stub.count(stubPathFuyun); got != 2+tc.wantUserinfo {
					t.Errorf("upstream requests per login: %d, want %d", got, 2+tc.wantUserinfo)
				}
			}
		})
	}
}
