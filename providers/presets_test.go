package providers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// microsoftStub serves tenant (organizations, common or a GUID) for a user of home.
func microsoftStub(t *testing.T, tenant, home string, allowed []string) (*idpstub.Stub, testProvider) {
	s := newStub(t, idpstub.Options{Flavor: idpstub.Microsoft, Tenant: tenant, HomeTenant: home})
	cfg := baseConfig("microsoft")
	cfg.Tenant, cfg.Issuer, cfg.AllowedTenants, cfg.Scopes = tenant, s.URL, allowed, DefaultScopes("microsoft")
	return s, build(t, cfg, nil)
}

func TestMicrosoftRefusals(t *testing.T) {
	tests := []struct {
		name    string
		tenant  string
		home    string
		allowed []string
		idToken func(s *idpstub.Stub, c map[string]any)
		issPar  bool
		want    string
	}{
		{name: "organizations, tenant allowed", tenant: "organizations", home: idpstub.TenantA, allowed: []string{idpstub.TenantA}},
		{name: "organizations, any tenant", tenant: "organizations", home: idpstub.TenantB},
		{name: "tenant not allowed", tenant: "organizations", home: idpstub.TenantB, allowed: []string{idpstub.TenantA}, want: CodeTenantNotAllowed},
		{name: "common, personal account", tenant: "common", home: MicrosoftConsumerTenant, want: CodeTenantNotAllowed},
		{name: "iss and tid mismatch", tenant: "organizations", home: idpstub.TenantB, allowed: []string{idpstub.TenantA},
			idToken: func(_ *idpstub.Stub, c map[string]any) { c["tid"] = idpstub.TenantA }, want: CodeIDTokenInvalid},
		{name: "tid missing", tenant: "organizations", home: idpstub.TenantA,
			idToken: func(_ *idpstub.Stub, c map[string]any) { delete(c, "tid") }, want: CodeIDTokenInvalid},
		{name: "iss of another cloud", tenant: "organizations", home: idpstub.TenantA,
			idToken: func(_ *idpstub.Stub, c map[string]any) {
				c["iss"] = "https://login.microsoftonline.com/" + idpstub.TenantA + "/v2.0"
			}, want: CodeIDTokenInvalid},
		{name: "single tenant, token of another tenant", tenant: idpstub.TenantA, home: idpstub.TenantA,
			idToken: func(s *idpstub.Stub, c map[string]any) {
				c["tid"] = idpstub.TenantB
				c["iss"] = s.URL + "/" + idpstub.TenantB + "/v2.0"
			}, want: CodeIDTokenInvalid},
		{name: "multi-tenant iss parameter must match the token", tenant: "organizations", home: idpstub.TenantA, issPar: true, want: CodeIssuerMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := microsoftStub(t, tt.tenant, tt.home, tt.allowed)
			var sh idpstub.Shape
			if tt.idToken != nil {
				sh.IDToken = func(c map[string]any) { tt.idToken(s, c) }
			}
			if tt.issPar {
				sh.IssParam = s.URL + "/" + idpstub.TenantB + "/v2.0"
			}
			s.Shape(func(x *idpstub.Shape) { *x = sh })
			id, err := login(t, p, s, nil)
			if tt.want == "" {
				if err != nil || id.Claims["tid"] != tt.home || id.Issuer != s.URL+"/"+tt.home+"/v2.0" {
					t.Fatalf("Callback = %+v, %v", id, err)
				}
				return
			}
			wantCode(t, err, tt.want)
		})
	}
}

func TestMicrosoftDiscoveryIssuer(t *testing.T) {
	tests := []struct {
		name, tenant, discovered string
		want                     string // expected issuer, or "!" for an error
	}{
		{"multi template", "organizations", "https://login.microsoftonline.com/{tenantid}/v2.0", ""},
		{"multi concrete", "common", "https://login.microsoftonline.com/" + idpstub.TenantA + "/v2.0", "!"},
		{"guid", idpstub.TenantA, "https://login.microsoftonline.com/" + idpstub.TenantA + "/v2.0", "https://login.microsoftonline.com/" + idpstub.TenantA + "/v2.0"},
		{"guid other tenant", idpstub.TenantA, "https://login.microsoftonline.com/" + idpstub.TenantB + "/v2.0", "!"},
		{"domain names its guid", "contoso.onmicrosoft.com", "https://login.microsoftonline.com/" + idpstub.TenantB + "/v2.0", "https://login.microsoftonline.com/" + idpstub.TenantB + "/v2.0"},
		{"domain, foreign host", "contoso.onmicrosoft.com", "https://evil.example/" + idpstub.TenantB + "/v2.0", "!"},
		{"domain, template", "contoso.onmicrosoft.com", "https://login.microsoftonline.com/{tenantid}/v2.0", "!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, _, err := microsoftFromConfig(&MicrosoftConfig{Tenant: tt.tenant})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ms.acceptIssuer(tt.discovered)
			if tt.want == "!" {
				if err == nil {
					t.Fatalf("accepted %q", tt.discovered)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("acceptIssuer = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestMicrosoftNOAuthGuard: a user of tenant B whose admin set the email of tenant A's agent must not
// come out with a verified email, whatever email_verified the token or userinfo claim.
func TestMicrosoftNOAuthGuard(t *testing.T) {
	const victim = "agent@tenant-a.example"
	tests := []struct {
		name string
		edov any // nil = claim absent
		want bool
	}{
		{"no xms_edov", nil, false},
		{"xms_edov false", false, false},
		{"xms_edov as string", "true", false},
		{"xms_edov true", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := microsoftStub(t, "organizations", idpstub.TenantB, nil)
			s.Shape(func(sh *idpstub.Shape) {
				sh.IDToken = func(c map[string]any) {
					c["email"], c["email_verified"] = victim, true
					if tt.edov != nil {
						c["xms_edov"] = tt.edov
					}
				}
				sh.Userinfo = func(c map[string]any) { c["email"], c["email_verified"] = victim, true }
			})
			id, err := login(t, p, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if id.Claims["email"] != victim || id.Claims["email_verified"] != tt.want {
				t.Fatalf("email %v email_verified %v, want verified=%v", id.Claims["email"], id.Claims["email_verified"], tt.want)
			}
			if id.Unpinned != "" {
				t.Fatalf("an ID token login (tid checked) is marked unpinned: %q", id.Unpinned)
			}
		})
	}
	// The backend path has no ID token, hence no xms_edov (email is never vouched for) and no tid (the
	// tenant is not proven).
	s, p := microsoftStub(t, "organizations", idpstub.TenantB, nil)
	s.Shape(func(sh *idpstub.Shape) { sh.Userinfo = func(c map[string]any) { c["email_verified"] = true } })
	id, err := p.UserInfo(context.Background(), s.IssueAccessToken())
	if err != nil || id.Claims["email_verified"] != false || !strings.Contains(id.Unpinned, "no tenant id") {
		t.Fatalf("UserInfo = %+v, %v", id, err)
	}
}

func TestSalesforceIssuer(t *testing.T) {
	tests := []struct {
		domain, discovered string
		ok                 bool
	}{
		{"login.salesforce.com", "https://login.salesforce.com", true},
		{"login.salesforce.com", "https://test.salesforce.com", false},
		{"test.salesforce.com", "https://test.salesforce.com", true},
		{"test.salesforce.com", "https://login.salesforce.com", false},
		{"acme.my.salesforce.com", "https://login.salesforce.com", true},
		{"acme.my.salesforce.com", "https://acme.my.salesforce.com", true},
		{"acme.my.salesforce.com", "https://test.salesforce.com", false},
		{"acme.my.salesforce.com", "https://other.my.salesforce.com", false},
		{"acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com", true},
		{"acme--uat.sandbox.my.salesforce.com", "https://login.salesforce.com", false},
		{"127.0.0.1:8443", "http://127.0.0.1:8443", true},
		{"127.0.0.1:8443", "https://login.salesforce.com", false},
	}
	for _, tt := range tests {
		origin, err := salesforceOrigin(tt.domain)
		if err != nil {
			t.Fatalf("salesforceOrigin(%s): %v", tt.domain, err)
		}
		got, err := salesforceIssuer(origin, tt.discovered)
		if (err == nil) != tt.ok || (tt.ok && got != tt.discovered) {
			t.Errorf("domain %s, discovered %s: got %q, %v; want ok=%v", tt.domain, tt.discovered, got, err, tt.ok)
		}
	}
}

func TestSalesforceUserInfo(t *testing.T) {
	s := newStub(t, idpstub.Options{Flavor: idpstub.Salesforce})
	cfg := baseConfig("salesforce")
	cfg.Domain, cfg.Scopes = strings.TrimPrefix(s.URL, "http://"), DefaultScopes("salesforce")
	p := build(t, cfg, nil)
	id, err := p.UserInfo(context.Background(), s.IssueAccessToken())
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != s.URL+"/id/00Dxx0000001gPLEAY/005xx000001Sv6AAAS" || id.Claims["organization_id"] != "00Dxx0000001gPLEAY" {
		t.Fatalf("identity = %+v", id)
	}
	if _, ok := id.Claims["urls"].(map[string]any); !ok {
		t.Fatalf("urls claim = %T", id.Claims["urls"])
	}
}

// oauth2Stub runs a plain OAuth2 flow against the generic stub's endpoints, without ID token.
func oauth2Stub(t *testing.T, userinfo map[string]any) (*idpstub.Stub, testProvider) {
	s := newStub(t, idpstub.Options{})
	s.Shape(func(sh *idpstub.Shape) {
		sh.TokenResponse = func(r map[string]any) { delete(r, "id_token") }
		sh.Userinfo = func(c map[string]any) {
			clear(c)
			for k, v := range userinfo {
				c[k] = v
			}
		}
	})
	cfg := baseConfig("oauth2")
	cfg.AuthURL, cfg.TokenURL, cfg.UserinfoURL = s.URL+"/authorize", s.URL+"/token", s.URL+"/userinfo"
	return s, build(t, cfg, nil)
}

func TestOAuth2(t *testing.T) {
	tests := []struct {
		name     string
		userinfo map[string]any
		want     string // subject, or an error code prefixed with "!"
	}{
		{"sub", map[string]any{"sub": "abc", "id": 1}, "abc"},
		{"numeric id", map[string]any{"id": 9007199254740993, "login": "octocat"}, "9007199254740993"},
		{"string id", map[string]any{"id": "ou_7d8a6e6df7621556ce0d21922b676706"}, "ou_7d8a6e6df7621556ce0d21922b676706"},
		{"user_id", map[string]any{"user_id": "u-1"}, "u-1"},
		{"fractional id", map[string]any{"id": 1.5}, "!" + CodeUserinfoFailed},
		{"no subject", map[string]any{"email": "a@example.com"}, "!" + CodeUserinfoFailed},
		{"empty sub", map[string]any{"sub": ""}, "!" + CodeUserinfoFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := oauth2Stub(t, tt.userinfo)
			// An iss parameter is not checked: plain OAuth2 has no issuer.
			id, err := login(t, p, s, func(c *CallbackRequest) { c.Query.Set("iss", "https://anything.example") })
			if code, isErr := strings.CutPrefix(tt.want, "!"); isErr {
				wantCode(t, err, code)
				return
			}
			if err != nil || id.Subject != tt.want || id.Issuer != "" || id.AccessToken == "" {
				t.Fatalf("Callback = %+v, %v", id, err)
			}
		})
	}
}

func TestOAuth2AuthURLAndUserInfo(t *testing.T) {
	s, p := oauth2Stub(t, map[string]any{"id": 42})
	u, err := p.AuthCodeURL(context.Background(), AuthRequest{State: "st", CodeVerifier: testVerifier, LoginHint: "bob"})
	if err != nil || !strings.Contains(u, "code_challenge_method=S256") || !strings.Contains(u, "login_hint=bob") {
		t.Fatalf("AuthCodeURL = %s, %v", u, err)
	}
	if err := p.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = p.UserInfo(context.Background(), "not-issued")
	wantCode(t, err, CodeInvalidToken)
	s.Shape(func(sh *idpstub.Shape) {
		sh.UserinfoHTTP = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "x", http.StatusInternalServerError) }
	})
	_, err = p.UserInfo(context.Background(), "any")
	wantCode(t, err, CodeUserinfoFailed)
}
