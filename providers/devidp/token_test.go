package devidp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestTokenRefusals covers every check of the token endpoint. Each case gets a fresh code from the same IdP.
func TestTokenRefusals(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	ti := startIdP(t, func(o *Options) { o.Now = clock.Now })
	tests := []struct {
		name string
		// prepare may alter the form and headers, or the world (clock, earlier redemptions).
		prepare    func(t *testing.T, form url.Values, h http.Header)
		wantStatus int
		wantError  string
	}{
		{"wrong code_verifier", func(_ *testing.T, f url.Values, _ http.Header) {
			f.Set("code_verifier", oauth2.GenerateVerifier())
		}, 400, "invalid_grant"},
		{"missing code_verifier", func(_ *testing.T, f url.Values, _ http.Header) { f.Del("code_verifier") }, 400, "invalid_grant"},
		{"short code_verifier", func(_ *testing.T, f url.Values, _ http.Header) { f.Set("code_verifier", "abc") }, 400, "invalid_grant"},
		{"code reuse", func(t *testing.T, f url.Values, _ http.Header) {
			ti.redeem(t, f.Get("code"), f.Get("code_verifier"))
		}, 400, "invalid_grant"},
		{"expired code", func(_ *testing.T, _ url.Values, _ http.Header) { clock.Advance(codeTTL + time.Second) }, 400, "invalid_grant"},
		{"unknown code", func(_ *testing.T, f url.Values, _ http.Header) { f.Set("code", "not-a-code") }, 400, "invalid_grant"},
		{"missing code", func(_ *testing.T, f url.Values, _ http.Header) { f.Del("code") }, 400, "invalid_request"},
		{"redirect_uri mismatch", func(_ *testing.T, f url.Values, _ http.Header) {
			f.Set("redirect_uri", "http://127.0.0.1:1/callback?tenant=a")
		}, 400, "invalid_grant"},
		{"missing redirect_uri", func(_ *testing.T, f url.Values, _ http.Header) { f.Del("redirect_uri") }, 400, "invalid_grant"},
		{"code issued to another client", func(_ *testing.T, f url.Values, _ http.Header) {
			f.Set("client_id", otherID)
			f.Set("client_secret", otherSecret) // the redirect_uri stays the one the code was bound to
		}, 400, "invalid_grant"},
		{"wrong secret (post)", func(_ *testing.T, f url.Values, _ http.Header) { f.Set("client_secret", "nope") }, 401, "invalid_client"},
		{"secret of another client (post)", func(_ *testing.T, f url.Values, _ http.Header) { f.Set("client_secret", otherSecret) }, 401, "invalid_client"},
		{"wrong secret (basic)", func(_ *testing.T, f url.Values, h http.Header) {
			f.Del("client_id")
			f.Del("client_secret")
			h.Set("Authorization", basicAuth(appID, "nope"))
		}, 401, "invalid_client"},
		{"unknown client (basic)", func(_ *testing.T, f url.Values, h http.Header) {
			f.Del("client_id")
			f.Del("client_secret")
			h.Set("Authorization", basicAuth("nobody", appSecret))
		}, 401, "invalid_client"},
		{"basic and post at once", func(_ *testing.T, _ url.Values, h http.Header) {
			h.Set("Authorization", basicAuth(appID, appSecret))
		}, 400, "invalid_request"},
		{"basic with a different client_id", func(_ *testing.T, f url.Values, h http.Header) {
			f.Del("client_secret")
			f.Set("client_id", otherID)
			h.Set("Authorization", basicAuth(appID, appSecret))
		}, 401, "invalid_client"},
		{"no client authentication", func(_ *testing.T, f url.Values, _ http.Header) {
			f.Del("client_id")
			f.Del("client_secret")
		}, 401, "invalid_client"},
		{"client_id without secret", func(_ *testing.T, f url.Values, _ http.Header) { f.Del("client_secret") }, 401, "invalid_client"},
		{"unsupported grant_type", func(_ *testing.T, f url.Values, _ http.Header) { f.Set("grant_type", "refresh_token") }, 400, "unsupported_grant_type"},
		{"missing grant_type", func(_ *testing.T, f url.Values, _ http.Header) { f.Del("grant_type") }, 400, "invalid_request"},
		{"repeated parameter", func(_ *testing.T, f url.Values, _ http.Header) { f.Add("code", "x") }, 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, verifier := ti.loginCode(t, "alice")
			form, h := redeemForm(code, verifier), http.Header{}
			tc.prepare(t, form, h)
			resp := ti.postForm(t, "/token", form, h)
			body := decodeJSON(t, resp)
			if resp.StatusCode != tc.wantStatus || body["error"] != tc.wantError {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tc.wantStatus, tc.wantError)
			}
			if d, _ := body["error_description"].(string); d == "" {
				t.Error("no error_description")
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			for _, secret := range []string{code, appSecret, otherSecret, verifier} {
				if strings.Contains(body["error_description"].(string), secret) {
					t.Errorf("error_description leaks a secret: %v", body)
				}
			}
		})
	}
}

func basicAuth(id, secret string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return r.Header.Get("Authorization")
}

// TestTokenBasicAuth proves client_secret_basic works on its own, including form-encoded credentials.
func TestTokenBasicAuth(t *testing.T) {
	secret := "s3cr:t+/ü"
	ti := startIdP(t, func(o *Options) { o.Clients[0].Secret = secret })
	code, verifier := ti.loginCode(t, "alice")
	form := redeemForm(code, verifier)
	form.Del("client_secret")
	form.Del("client_id")
	resp := ti.postForm(t, "/token", form, http.Header{"Authorization": {basicAuth(appID, secret)}})
	body := decodeJSON(t, resp)
	if resp.StatusCode != http.StatusOK || body["access_token"] == "" || body["token_type"] != "Bearer" {
		t.Fatalf("got %d %v", resp.StatusCode, body)
	}
	if body["expires_in"] != float64(3600) || body["scope"] != defaultScope {
		t.Errorf("expires_in %v scope %v", body["expires_in"], body["scope"])
	}
}

// TestCodeReplayRevokesToken: RFC 6749 §4.1.2 — a replayed code revokes the access token it bought.
func TestCodeReplayRevokesToken(t *testing.T) {
	ti := startIdP(t, nil)
	code, verifier := ti.loginCode(t, "bob")
	tok := ti.redeem(t, code, verifier)["access_token"].(string)
	if resp, _ := ti.userinfo(t, tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo before replay: %d", resp.StatusCode)
	}
	resp := ti.postForm(t, "/token", redeemForm(code, verifier), nil)
	if body := decodeJSON(t, resp); body["error"] != "invalid_grant" {
		t.Fatalf("replay: %d %v", resp.StatusCode, body)
	}
	if resp, _ := ti.userinfo(t, tok); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo after replay: %d, want 401", resp.StatusCode)
	}
}

func TestUserinfoRefusals(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	ti := startIdP(t, func(o *Options) { o.Now = clock.Now; o.TokenTTL = 5 * time.Minute })
	code, verifier := ti.loginCode(t, "alice")
	valid := ti.redeem(t, code, verifier)["access_token"].(string)

	tests := []struct {
		name      string
		header    string
		advance   time.Duration
		wantError string
	}{
		{"no token", "", 0, "invalid_request"},
		{"not bearer", "Basic " + valid, 0, "invalid_request"},
		{"empty bearer", "Bearer ", 0, "invalid_request"},
		{"unknown token", "Bearer not-a-token", 0, "invalid_token"},
		{"expired token", "Bearer " + valid, 5*time.Minute + time.Second, "invalid_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.advance)
			req, _ := http.NewRequest(http.MethodGet, ti.Issuer()+"/userinfo", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := ti.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			body := decodeJSON(t, resp)
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != tc.wantError {
				t.Fatalf("got %d %v, want 401 %s", resp.StatusCode, body, tc.wantError)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestUserinfoAccepts is the positive counterpart of TestUserinfoRefusals, by GET and by POST.
func TestUserinfoAccepts(t *testing.T) {
	ti := startIdP(t, nil)
	code, verifier := ti.loginCode(t, "carol")
	tok := ti.redeem(t, code, verifier)["access_token"].(string)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, ti.Issuer()+"/userinfo", nil)
		req.Header.Set("Authorization", "bearer "+tok)
		resp, err := ti.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := decodeJSON(t, resp)
		_ = resp.Body.Close()
		want := map[string]any{"sub": "dev-carol", "name": "Carol Wang", "preferred_username": "carol",
			"email": "carol@example.com", "email_verified": true, "phone_number": "+8613800000003", "phone_number_verified": true}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("%s: %s = %v, want %v", method, k, body[k], v)
			}
		}
	}
}

func TestTokenMethod(t *testing.T) {
	ti := startIdP(t, nil)
	resp := ti.get(t, "/token", nil)
	if body := decodeJSON(t, resp); resp.StatusCode != http.StatusMethodNotAllowed || body["error"] != "invalid_request" {
		t.Errorf("GET /token: %d %v", resp.StatusCode, body)
	}
}

// TestVerifierFormat: RFC 7636 §4.1 — a verifier outside 43–128 unreserved characters is refused even when
// its digest matches the challenge.
func TestVerifierFormat(t *testing.T) {
	ti := startIdP(t, nil)
	tests := []struct {
		name, verifier string
		wantOK         bool
	}{
		{"too short", "short-verifier", false},
		{"too long", strings.Repeat("a", 129), false},
		{"reserved character", strings.Repeat("a", 42) + "+", false},
		{"43 unreserved characters", strings.Repeat("a", 40) + "-._~"[:3], true},
		{"128 characters", strings.Repeat("b", 128), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := authParamsFor("alice")
			q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(tc.verifier))
			code := location(t, ti.get(t, "/authorize", q), http.StatusFound, appRedirect).Get("code")
			resp := ti.postForm(t, "/token", redeemForm(code, tc.verifier), nil)
			body := decodeJSON(t, resp)
			if ok := resp.StatusCode == http.StatusOK; ok != tc.wantOK {
				t.Fatalf("got %d %v, want success %v", resp.StatusCode, body, tc.wantOK)
			}
			if !tc.wantOK && body["error"] != "invalid_grant" {
				t.Errorf("error %v, want invalid_grant", body["error"])
			}
		})
	}
}
