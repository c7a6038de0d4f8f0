package providers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/bridgetest"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// feishuAgent is the Fuyun agent of the stub's member: their Feishu user_id, the preset's mapping field.
const feishuAgent = "5d9bd7a1"

// feishuProvider is the providers entry of the feishu preset pointed at stub, in fuyunMode.
func feishuProvider(stub *idpstub.Feishu, fuyunMode string) string {
	return fmt.Sprintf(`  - id: feishu
    type: feishu
    client_id: cli_a5d611352af9d00b
    client_secret: feishu-secret
    tenant_key: %s
    accounts_url: %s
    open_url: %s
    fuyun_mode: %s
`, idpstub.FeishuTenant, stub.AccountsURL, stub.OpenURL, fuyunMode)
}

// feishuLogin is a bridge built from YAML as `serve` builds it, in front of a Feishu stub (users added to its
// directory) and the Fuyun emulator, which knows the agent feishuAgent.
type feishuLogin struct {
	*bridgetest.Stack
	stub *idpstub.Feishu
}

func startFeishuLogin(t *testing.T, users map[string]idpstub.FeishuUser) feishuLogin {
	t.Helper()
	st := bridgetest.New(t, feishuAgent)
	// The stub matches redirect_uri exactly, so the bridge's address is needed before the stub starts.
	stub := idpstub.NewFeishu(t, idpstub.FeishuOptions{RedirectURI: st.Public + "/callback/feishu", Users: users})
	st.Serve(t, feishuProvider(stub, "jwt"))
	return feishuLogin{Stack: st, stub: stub}
}

// login runs /login/feishu and returns the last status, the page and the AC_TOKEN cookie ("" if none).
func (l feishuLogin) login(t *testing.T) (status int, page, acToken string) {
	t.Helper()
	r := l.Login(t, "feishu")
	return r.Status, r.Body, r.ACToken
}

// TestFeishuFullLogin: YAML → bridge → Feishu stub → bridge → Fuyun emulator → an AC_TOKEN the emulator
// verifies, for the agent whose Feishu user_id it names.
func TestFeishuFullLogin(t *testing.T) {
	l := startFeishuLogin(t, nil)
	status, _, tok := l.login(t)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("login answered %d, AC_TOKEN %q", status, tok)
	}
	claims, err := l.Sim.VerifyAccessToken(tok)
	if err != nil {
		t.Fatalf("AC_TOKEN not accepted by the emulator: %v", err)
	}
	if claims.UserName != feishuAgent {
		t.Errorf("Fuyun token for %q, want %q", claims.UserName, feishuAgent)
	}
	for name, want := range map[string]int{"authorize": 1, "token": 1, "user_info": 1} {
		if got := l.stub.Hits(name); got != want {
			t.Errorf("stub %s hit %d times, want %d", name, got, want)
		}
	}
}

// TestFeishuFullLoginOtherTenant: a user of another tenant with the agent's very user_id is refused before
// Fuyun is asked: user_id is unique only within a tenant.
func TestFeishuFullLoginOtherTenant(t *testing.T) {
	l := startFeishuLogin(t, map[string]idpstub.FeishuUser{idpstub.Member: {OpenID: "ou_other", UnionID: "on_other",
		UserID: feishuAgent, TenantKey: idpstub.FeishuOtherTenant, Name: "冒名"}})
	if status, page, tok := l.login(t); status != http.StatusForbidden || tok != "" || !strings.Contains(page, "tenant_not_allowed") {
		t.Fatalf("another tenant's user: %d, AC_TOKEN %q; want 403 tenant_not_allowed and none:\n%s", status, tok, page)
	}
}

// TestFeishuOAuthModeRefused: Fuyun's OAuth mode cannot read Feishu's user_info, so the configuration says so.
func TestFeishuOAuthModeRefused(t *testing.T) {
	st := bridgetest.New(t)
	stub := idpstub.NewFeishu(t, idpstub.FeishuOptions{})
	_, err := st.Parse(st.Config(feishuProvider(stub, "oauth")))
	if err == nil || !strings.Contains(err.Error(), "providers[0].fuyun_mode") || !strings.Contains(err.Error(), "jwt mode only") {
		t.Fatalf("oauth mode: %v; want an error naming fuyun_mode", err)
	}
}
