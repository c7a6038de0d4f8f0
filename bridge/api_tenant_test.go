package bridge_test

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/logtest"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// msGraphSub is the pairwise sub that the Microsoft stub's ID token and Graph userinfo both carry.
const msGraphSub = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"

// Issue 13, finding 3: POST /api/v1/token reads Microsoft Graph's userinfo, which carries no tid, so tenant
// and allowed_tenants were never applied and a user of any tenant was admitted. An identity whose
// organisation is not proven is now refused unless the mapping pins the user by sub in an accounts table.
func TestAPIMicrosoftTenantNotProven(t *testing.T) {
	dir := t.TempDir()
	table := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bySub := table("by-sub.csv", msGraphSub+",AbeLi\n")
	byEmail := table("by-email.csv", "AbeLi@microsoft.com,AbeLi\n")
	tests := []struct {
		name    string
		home    string // the signed-in user's tenant
		mapping string
		code    string // "" for success
	}{
		{"another tenant's user, email mapping", idpstub.TenantB,
			`{field: email, require_verified: false, transform: strip_domain, allowed_domains: [microsoft.com]}`, "tenant_not_allowed"},
		// Graph cannot tell the two apart, so a listed tenant's user is refused the same way.
		{"listed tenant's user, email mapping", idpstub.TenantA,
			`{field: email, require_verified: false, transform: strip_domain, allowed_domains: [microsoft.com]}`, "tenant_not_allowed"},
		{"table keyed on email", idpstub.TenantB, fmt.Sprintf(`{field: email, require_verified: false, accounts_file: %q}`, byEmail), "tenant_not_allowed"},
		{"sub table with a fallback", idpstub.TenantB, fmt.Sprintf(`{field: sub, fallbacks: [email], accounts_file: %q}`, bySub), "tenant_not_allowed"},
		{"sub table, listed sub", idpstub.TenantA, fmt.Sprintf(`{field: sub, accounts_file: %q}`, bySub), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stub := idpstub.New(t, idpstub.Options{Flavor: idpstub.Microsoft, Tenant: "organizations", HomeTenant: tc.home,
				ClientID: "bridge-client", ClientSecret: "idp-secret"})
			key, err := fuyun.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			sim, tokenURL := startSim(t, []fuyunsim.Client{{ClientID: "crm", ClientSecret: "s3cret", Scopes: []string{"user_management", "hotline"},
				JWT: &fuyunsim.JWTClient{Issuer: "https://crm.example.com", Key: &key.PublicKey}}},
				fuyunsim.Agent{AccountName: "AbeLi", Email: "AbeLi@microsoft.com"})
			apiKey, line, err := apikeys.Generate("crm-backend")
			if err != nil {
				t.Fatal(err)
			}
			keysFile := table("api_keys", line+"\n")
			logs := &logtest.Buffer{}
			public := startYAMLBridgeWith(t, tokenURL, key, "  mode: jwt\n", fmt.Sprintf(`  - id: ms
    type: microsoft
    tenant: organizations
    allowed_tenants: [%s]
    issuer: %s
    userinfo_url: %s/oidc/userinfo
    client_id: bridge-client
    client_secret: idp-secret
    mapping: %s
`, idpstub.TenantA, stub.URL, stub.URL, tc.mapping), fmt.Sprintf("api: {keys_file: %q}\n", keysFile),
				bridge.BuildOptions{Logger: bridge.NewLogger(logs, slog.LevelInfo, "json")})

			a := apiCall(t, public, apiKey, formType, url.Values{"provider": {"ms"}, "subject_token": {stub.IssueAccessToken()}}.Encode())
			audits := logLines(t, logs.String(), "api_token")
			if len(audits) != 1 {
				t.Fatalf("%d api_token audit lines, want 1", len(audits))
			}
			if tc.code == "" {
				tok, _ := a.body["access_token"].(string)
				if claims, err := sim.VerifyAccessToken(tok); a.status != 200 || err != nil || claims.UserName != "AbeLi" {
					t.Fatalf("answer %d %v (%v), want a token for AbeLi", a.status, a.body, err)
				}
				return
			}
			if a.status != 403 || a.body["error"] != tc.code || a.body["access_token"] != nil {
				t.Fatalf("answer %d %v, want 403 %s and no token", a.status, a.body, tc.code)
			}
			if desc, _ := a.body["error_description"].(string); !strings.Contains(desc, "accounts_file") {
				t.Errorf("error_description %q does not name the fix", desc)
			}
			why, _ := audits[0]["error"].(string)
			if audits[0]["error_code"] != tc.code || !strings.Contains(why, "carries no tenant id") {
				t.Errorf("audit line %v does not say why", audits[0])
			}
		})
	}
}
