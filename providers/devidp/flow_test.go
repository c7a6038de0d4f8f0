package devidp

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestFullFlowWithGoOIDC drives the whole authorization-code flow with the client libraries the bridge uses.
func TestFullFlowWithGoOIDC(t *testing.T) {
	tests := []struct {
		name      string
		issuerDir string // a path under which the IdP is published
		authStyle oauth2.AuthStyle
		hint      string
		scopes    []string
		want      map[string]any // expected ID token claims beyond the standard ones
		absent    []string       // claims the scopes must not release
	}{
		{
			name: "client_secret_basic, all scopes", authStyle: oauth2.AuthStyleInHeader, hint: "alice",
			scopes: []string{oidc.ScopeOpenID, "profile", "email", "phone"},
			want: map[string]any{"sub": "dev-alice", "preferred_username": "alice", "name": "Alice Chen",
				"email": "alice@example.com", "email_verified": true, "phone_number": "+8613800000001"},
		},
		{
			name: "client_secret_post, issuer with a path", issuerDir: "/idp", authStyle: oauth2.AuthStyleInParams,
			hint: "carol@example.com", scopes: []string{oidc.ScopeOpenID, "email"},
			want:   map[string]any{"sub": "dev-carol", "email": "carol@example.com", "email_verified": true},
			absent: []string{"name", "preferred_username", "phone_number"},
		},
		{
			name: "auto-detected auth style, openid only", authStyle: oauth2.AuthStyleAutoDetect, hint: "bob",
			scopes: []string{oidc.ScopeOpenID},
			want:   map[string]any{"sub": "dev-bob"},
			absent: []string{"name", "email", "email_verified", "phone_number"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ti := startIdP(t, func(o *Options) { o.Issuer += tc.issuerDir })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			provider, err := oidc.NewProvider(ctx, ti.Issuer())
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			ep := provider.Endpoint()
			ep.AuthStyle = tc.authStyle
			cfg := oauth2.Config{ClientID: appID, ClientSecret: appSecret, Endpoint: ep, RedirectURL: appRedirect, Scopes: tc.scopes}
			verifier, nonce := oauth2.GenerateVerifier(), "nonce-"+tc.hint
			authURL := cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce),
				oauth2.SetAuthURLParam("login_hint", tc.hint))

			resp, err := ti.client.Get(authURL)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			q := location(t, resp, http.StatusFound, appRedirect)
			if q.Get("state") != "state-1" || q.Get("iss") != ti.Issuer() {
				t.Fatalf("authorization response %v: want state-1 and iss %s", q, ti.Issuer())
			}

			tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
				t.Errorf("token type %q expiry %v", tok.TokenType, tok.Expiry)
			}
			rawID, _ := tok.Extra("id_token").(string)
			idt, err := provider.Verifier(&oidc.Config{ClientID: appID}).Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			if idt.Nonce != nonce {
				t.Errorf("nonce %q, want %q", idt.Nonce, nonce)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var claims map[string]any
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if claims[k] != v {
					t.Errorf("ID token %s = %v, want %v", k, claims[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := claims[k]; ok {
					t.Errorf("ID token has %s, which the scopes do not release", k)
				}
			}
			if claims["azp"] != appID || claims["auth_time"] == nil {
				t.Errorf("azp %v auth_time %v", claims["azp"], claims["auth_time"])
			}
			if got := tok.Extra("scope"); got != strings.Join(tc.scopes, " ") {
				t.Errorf("scope %q, want %q", got, strings.Join(tc.scopes, " "))
			}

			ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if ui.Subject != idt.Subject {
				t.Errorf("userinfo sub %q != ID token sub %q", ui.Subject, idt.Subject)
			}
			var uiClaims map[string]any
			if err := ui.Claims(&uiClaims); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if uiClaims[k] != v {
					t.Errorf("userinfo %s = %v, want %v", k, uiClaims[k], v)
				}
			}
			if slices.Contains(tc.scopes, "phone") && uiClaims["phone_number_verified"] != true {
				t.Errorf("userinfo phone_number_verified = %v", uiClaims["phone_number_verified"])
			}
		})
	}
}

// TestDiscoveryDocument checks the metadata fields relying parties read.
func TestDiscoveryDocument(t *testing.T) {
	ti := startIdP(t, nil)
	resp := ti.get(t, "/.well-known/openid-configuration", nil)
	doc := decodeJSON(t, resp)
	want := map[string]any{
		"issuer":                 ti.Issuer(),
		"authorization_endpoint": ti.Issuer() + "/authorize",
		"token_endpoint":         ti.Issuer() + "/token",
		"userinfo_endpoint":      ti.Issuer() + "/userinfo",
		"jwks_uri":               ti.Issuer() + "/jwks",
		"authorization_response_iss_parameter_supported": true,
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
	lists := map[string][]any{
		"response_types_supported":              {"code"},
		"subject_types_supported":               {"public"},
		"id_token_signing_alg_values_supported": {"RS256"},
		"code_challenge_methods_supported":      {"S256"},
		"grant_types_supported":                 {"authorization_code"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post"},
	}
	for k, v := range lists {
		got, _ := doc[k].([]any)
		if !slices.Equal(got, v) {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	for _, k := range []string{"scopes_supported", "claims_supported"} {
		if got, _ := doc[k].([]any); len(got) == 0 {
			t.Errorf("%s is empty", k)
		}
	}
	if resp := ti.get(t, "/nope", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", resp.StatusCode)
	}
}
