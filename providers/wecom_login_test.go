package providers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/bridgetest"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// wecomProvider is the providers entry of the wecom preset pointed at stub, in fuyunMode.
func wecomProvider(stub *idpstub.WeCom, fuyunMode string) string {
	return fmt.Sprintf(`  - id: wecom
    type: wecom
    corp_id: %s
    agent_id: "1000002"
    secret: wecom-secret
    login_url: %s
    oauth_url: %s
    api_url: %s
    fuyun_mode: %s
    mapping: {field: userid}
`, idpstub.WeComCorp, stub.LoginURL, stub.OAuthURL, stub.APIURL, fuyunMode)
}

// TestWeComLogin signs a WeCom member in end to end over real HTTP: the bridge built from YAML, the WeCom
// stub's sign-in page and API, and the Fuyun emulator, which verifies the AC_TOKEN it issued. The same
// configuration in OAuth mode is refused, naming fuyun_mode.
func TestWeComLogin(t *testing.T) {
	st := bridgetest.New(t, "zhangsan")
	public, _ := url.Parse(st.Public)
	stub := idpstub.NewWeCom(t, idpstub.WeComOptions{TrustedHost: public.Host})
	if _, err := st.Parse(st.Config(wecomProvider(stub, "oauth"))); err == nil || !strings.Contains(err.Error(), "fuyun_mode") {
		t.Fatalf("wecom in oauth mode: %v; want a refusal naming fuyun_mode", err)
	}
	st.Serve(t, wecomProvider(stub, "jwt"))
	r := st.Login(t, "wecom")
	if r.Status != http.StatusOK {
		t.Fatalf("login answered %d", r.Status)
	}
	claims, err := st.Sim.VerifyAccessToken(r.ACToken)
	if err != nil {
		t.Fatalf("AC_TOKEN %q not the emulator's: %v", r.ACToken, err)
	}
	if claims.UserName != "zhangsan" || stub.Hits("login") != 1 || stub.Hits("getuserinfo") != 1 {
		t.Fatalf("token for %q; stub hits login %d getuserinfo %d", claims.UserName, stub.Hits("login"), stub.Hits("getuserinfo"))
	}
}
