package devstack

import (
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// The demo's DingTalk-, Feishu- and WeCom-style sign-in: the project's stubs of the three vendors' documented
// wire formats, so that their presets can be seen working locally. A browser that reaches a stub's sign-in
// page is signed in at once as that stub's member: dingtalk-user (DingTalk userid), feishu-user (Feishu
// user_id) and wecom-user (WeCom userid), each also an agent of the Fuyun emulator.
const (
	dingTalkAgent = "dingtalk-user"
	feishuAgent   = "feishu-user"
	weComAgent    = "wecom-user"
)

// Credentials the dev config gives the vendor presets; the stubs expect the same.
const (
	devDingTalkKey    = "dingdevapp"
	devDingTalkSecret = "dev-dingtalk-secret"
	devFeishuAppID    = "cli_devapp0000000000"
	devFeishuSecret   = "dev-feishu-secret"
	devWeComAgentID   = "1000002"
	devWeComSecret    = "dev-wecom-secret"
)

// vendorAgents are the Fuyun emulator's accounts for the stubs' members.
var vendorAgents = []fuyunsim.Agent{
	{AccountName: dingTalkAgent, Email: dingTalkAgent + "@example.com"},
	{AccountName: feishuAgent, Email: feishuAgent + "@example.com"},
	{AccountName: weComAgent, Email: weComAgent + "@example.com"},
}

type vendorStubs struct {
	dingtalk *idpstub.DingTalk
	feishu   *idpstub.Feishu
	wecom    *idpstub.WeCom
}

// startVendorStubs starts the three stubs on loopback with callbacks to the bridge at bridgeURL.
func startVendorStubs(bridgeURL, bridgeHost string) *vendorStubs {
	return &vendorStubs{
		dingtalk: idpstub.StartDingTalk(idpstub.DingTalkOptions{
			ClientID: devDingTalkKey, ClientSecret: devDingTalkSecret, RedirectURI: bridgeURL + "/callback/dingtalk",
			Users: map[string]idpstub.DingTalkUser{idpstub.Member: {
				UnionID: "dev-union-" + dingTalkAgent, OpenID: "dev-open-" + dingTalkAgent, UserID: dingTalkAgent,
				CorpID: idpstub.DingTalkCorp, Nick: "钉钉用户", Name: "钉钉用户",
			}},
		}),
		feishu: idpstub.StartFeishu(idpstub.FeishuOptions{
			ClientID: devFeishuAppID, ClientSecret: devFeishuSecret, RedirectURI: bridgeURL + "/callback/feishu",
			Users: map[string]idpstub.FeishuUser{idpstub.Member: {
				OpenID: "ou_dev" + feishuAgent, UnionID: "on_dev" + feishuAgent, UserID: feishuAgent,
				TenantKey: idpstub.FeishuTenant, Name: "飞书用户", EnName: feishuAgent,
			}},
		}),
		wecom: idpstub.StartWeCom(idpstub.WeComOptions{
			AgentID: devWeComAgentID, CorpSecret: devWeComSecret, TrustedHost: bridgeHost,
			Users: map[string]idpstub.WeComUser{idpstub.Member: {UserID: weComAgent, CorpID: idpstub.WeComCorp, Name: "企业微信用户"}},
		}),
	}
}

func (v *vendorStubs) close() {
	v.dingtalk.Close()
	v.feishu.Close()
	v.wecom.Close()
}
