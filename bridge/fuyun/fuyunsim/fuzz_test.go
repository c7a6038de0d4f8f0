package fuyunsim_test

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

// FuzzTokenExchangeRequest feeds arbitrary methods, query strings, headers and bodies to the token
// endpoint. The emulator must never panic, always answer an OAuth error body when it refuses, and never
// answer 2xx unless the request carried this client's exact credentials.
func FuzzTokenExchangeRequest(f *testing.F) {
	sim, err := fuyunsim.New(testConfig("http://127.0.0.1:1/userinfo"), fuyunsim.Options{SigningKey: simKey()})
	if err != nil {
		f.Fatal(err)
	}
	good := basic(clientID, clientSecret)
	valid := jwtForm(mint(f, jose.RS256, integratorKey(), claims(nil))).Encode()
	form := "application/x-www-form-urlencoded"
	f.Add("POST", "", form, good, valid)
	f.Add("POST", "", form, good, jwtForm(mint(f, jose.RS256, strangerKey(), claims(nil))).Encode())
	f.Add("POST", "", form, good, jwtForm(unsignedJWT(claims(nil))).Encode())
	f.Add("POST", valid, form, good, "")
	f.Add("POST", "", "application/json", good, `{"grant_type":"x"}`)
	f.Add("POST", "", form, basic(clientID, "wrong"), valid)
	f.Add("POST", "", form, "Basic "+strings.Repeat("=", 10), valid)
	f.Add("POST", "", form, good, oauthForm("t-alice", appName).Encode())
	f.Add("POST", "", "multipart/form-data; boundary=--", good, "--\r\n")
	f.Add("GET", "a=b", "", "", "")
	f.Add("POST", "", form+"; charset=\"", good, "scope=%zz&&&=")

	f.Fuzz(func(t *testing.T, method, query, contentType, authorization, body string) {
		if !validMethod(method) {
			return // net/http would refuse to send it; nothing to learn
		}
		target := "http://fuyun.test" + fuyunsim.TokenPath
		if query != "" {
			target += "?" + url.PathEscape(query)
		}
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		resp := rec.Result()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			id, secret, ok := req.BasicAuth()
			if !ok || id != clientID || secret != clientSecret {
				t.Fatalf("HTTP %d without valid credentials (Authorization %q)", resp.StatusCode, authorization)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(out, &tok); err != nil || tok.AccessToken == "" {
				t.Fatalf("success without a token: %q", out)
			}
			if _, err := sim.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Fatalf("issued a token that does not verify: %v", err)
			}
			return
		}
		var e oauthError
		if err := json.Unmarshal(out, &e); err != nil || e.Error == "" || e.ErrorDescription == "" {
			t.Fatalf("HTTP %d without an OAuth error body: %q", resp.StatusCode, out)
		}
		if strings.Contains(string(out), clientSecret) {
			t.Fatal("the answer echoes the client secret")
		}
	})
}

// validMethod reports whether m is a method httptest.NewRequest can build a request for: an HTTP token,
// and not CONNECT, whose request target has another form.
func validMethod(m string) bool {
	if m == "" || strings.EqualFold(m, "CONNECT") {
		return false
	}
	for _, r := range m {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return true
}
