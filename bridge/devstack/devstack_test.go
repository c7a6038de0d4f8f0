package devstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

func startStack(t *testing.T) *Stack {
	t.Helper()
	st, err := Start(Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.Close(ctx)
	})
	return st
}

// loginToCRM runs /login/{provider}?{query}return_to={the CRM page} in a fresh cookie jar, following every
// redirect, fails the test unless it ends at the CRM page, and returns the cookies the jar holds for the bridge.
func loginToCRM(t *testing.T, st *Stack, provider, query string) []*http.Cookie {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(st.BridgeURL + "/login/" + provider + "?" + query + "return_to=" + url.QueryEscape(st.CRMURL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.String() != st.CRMURL+"/" {
		t.Fatalf("ended at %s with %d, want the CRM page: %.400s", resp.Request.URL, resp.StatusCode, body)
	}
	bridgeURL, _ := url.Parse(st.BridgeURL)
	return jar.Cookies(bridgeURL)
}

func TestDevLoginBothModes(t *testing.T) {
	st := startStack(t)
	for _, tc := range []struct{ provider, user, mode string }{
		{"dev", "alice", "jwt"},
		{"dev-oauth", "bob", "oauth"},
		{"dev", "carol@example.com", "jwt"},
	} {
		t.Run(tc.provider+"/"+tc.user, func(t *testing.T) {
			// The scripted login: login_hint approves at the dev IdP without a page.
			cookies := loginToCRM(t, st, tc.provider, "login_hint="+url.QueryEscape(tc.user)+"&")
			var token string
			for _, ck := range cookies {
				if ck.Name == "AC_TOKEN" {
					token = ck.Value
				}
				if ck.Name == "fb_login" && ck.MaxAge >= 0 && ck.Value != "" {
					t.Errorf("login-state cookie %s left behind", ck.Name)
				}
			}
			claims, err := st.Fuyun.VerifyAccessToken(token)
			if err != nil {
				t.Fatalf("AC_TOKEN is not the emulator's: %v", err)
			}
			want := strings.TrimSuffix(tc.user, "@example.com")
			if claims.UserName != want || claims.ClientID != ClientID {
				t.Errorf("token for %q/%q, want %q/%q", claims.UserName, claims.ClientID, want, ClientID)
			}
		})
	}
}

func TestDevLoginJSON(t *testing.T) {
	st := startStack(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, st.BridgeURL+"/login/dev?login_hint=alice", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		UserName    string `json:"user_name"`
		Provider    string `json:"provider"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.UserName != "alice" || got.Provider != "dev" || got.TokenType != "bearer" || got.ExpiresIn != 2591999 {
		t.Errorf("JSON answer %+v", got)
	}
	if _, err := st.Fuyun.VerifyAccessToken(got.AccessToken); err != nil {
		t.Errorf("access_token: %v", err)
	}
}

func TestDevRefusesNonLoopback(t *testing.T) {
	if _, err := Start(Options{Listen: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("dev on 0.0.0.0: %v, want a loopback refusal", err)
	}
	if _, err := StartPlatform(Options{Listen: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("dev --platform on 0.0.0.0: %v, want a loopback refusal", err)
	}
}

// TestEmbeddedDemoPage: the embedded demo CRM is served on http://localhost (another site than the bridge on
// 127.0.0.1), loads the SDK from the bridge, and the bridge lets exactly that origin frame /embed.
func TestEmbeddedDemoPage(t *testing.T) {
	st := startStack(t)
	resp, err := http.Get(st.EmbedCRMURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), st.BridgeURL+"/static/fuyun-bridge.js") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-src "+st.BridgeURL) {
		t.Fatalf("demo page: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	origin := strings.TrimSuffix(st.EmbedCRMURL, "/embedded")
	resp, err = http.Get(st.BridgeURL + "/embed?parent_origin=" + url.QueryEscape(origin))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasSuffix(resp.Header.Get("Content-Security-Policy"), "frame-ancestors "+origin) {
		t.Fatalf("/embed for the demo: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}

// TestDevVendorLogins: dev's DingTalk-, Feishu- and WeCom-style buttons complete a login through the vendors'
// stubs, the presets and the Fuyun emulator, each for its own demo agent.
func TestDevVendorLogins(t *testing.T) {
	st := startStack(t)
	for _, tc := range []struct{ provider, agent string }{
		{"dingtalk", dingTalkAgent}, {"feishu", feishuAgent}, {"wecom", weComAgent},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			var token string
			for _, ck := range loginToCRM(t, st, tc.provider, "") {
				if ck.Name == "AC_TOKEN" {
					token = ck.Value
				}
			}
			claims, err := st.Fuyun.VerifyAccessToken(token)
			if err != nil || claims.UserName != tc.agent {
				t.Fatalf("AC_TOKEN for %q (%v), want %q", claims.UserName, err, tc.agent)
			}
		})
	}
}
