package providers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/bridgetest"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// dingTalkProvider is the providers entry of the dingtalk preset pointed at stub, in fuyunMode.
func dingTalkProvider(stub *idpstub.DingTalk, fuyunMode string) string {
	return fmt.Sprintf(`  - id: dingtalk
    type: dingtalk
    client_id: dingapp
    client_secret: ding-secret
    corp_id: %s
    login_url: %s
    api_url: %s
    oapi_url: %s
    fuyun_mode: %s
`, idpstub.DingTalkCorp, stub.LoginURL, stub.APIURL, stub.OAPIURL, fuyunMode)
}

// startDingTalk serves the bridge with one dingtalk provider in front of the DingTalk stub and the Fuyun
// emulator, which knows the stub's member zhangsan.
func startDingTalk(t *testing.T) (*bridgetest.Stack, *idpstub.DingTalk) {
	t.Helper()
	st := bridgetest.New(t, "zhangsan")
	stub := idpstub.NewDingTalk(t, idpstub.DingTalkOptions{ClientID: "dingapp", ClientSecret: "ding-secret",
		RedirectURI: st.Public + "/callback/dingtalk"})
	st.Serve(t, dingTalkProvider(stub, "jwt"))
	return st, stub
}

// TestDingTalkFullLogin: /login/dingtalk → DingTalk's login page (the stub signs its member in) → the
// bridge's callback redeems the authCode, pins the corpId, looks the member up → JWT exchange at Fuyun →
// AC_TOKEN, which the emulator verifies as its own token for zhangsan.
func TestDingTalkFullLogin(t *testing.T) {
	st, stub := startDingTalk(t)
	r := st.Login(t, "dingtalk")
	if r.Status != http.StatusOK {
		t.Fatalf("login answered %d", r.Status)
	}
	claims, err := st.Sim.VerifyAccessToken(r.ACToken)
	if err != nil {
		t.Fatalf("AC_TOKEN %q not accepted by the emulator: %v", r.ACToken, err)
	}
	if claims.UserName != "zhangsan" {
		t.Errorf("Fuyun token for %q, want zhangsan", claims.UserName)
	}
	for name, want := range map[string]int{"authorize": 1, "userAccessToken": 1, "contactUser": 1, "accessToken": 1, "getbyunionid": 1, "userGet": 1} {
		if got := stub.Hits(name); got != want {
			t.Errorf("stub %s hits = %d, want %d", name, got, want)
		}
	}
}

// TestDingTalkOAuthModeRefused: Fuyun's OAuth mode cannot read DingTalk's user endpoint, so the same
// configuration with fuyun_mode: oauth is refused, naming the key.
func TestDingTalkOAuthModeRefused(t *testing.T) {
	st := bridgetest.New(t)
	stub := idpstub.NewDingTalk(t, idpstub.DingTalkOptions{})
	_, err := st.Parse(st.Config(dingTalkProvider(stub, "oauth")))
	if err == nil || !strings.Contains(err.Error(), "providers[0].fuyun_mode") || !strings.Contains(err.Error(), "jwt mode only") {
		t.Fatalf("oauth mode: %v; want a problem on providers[0].fuyun_mode", err)
	}
}
