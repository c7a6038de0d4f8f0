package providers

// Provider type names as written in the config's `type:`.
const (
	TypeMicrosoft  = "microsoft"
	TypeSalesforce = "salesforce"
	TypeGoogle     = "google"
	TypeOIDC       = "oidc"
	TypeOAuth2     = "oauth2"
	TypeDingTalk   = "dingtalk"
	TypeWeCom      = "wecom"
	TypeFeishu     = "feishu"
)

// registry maps each `type:` to its preset. Adding an identity provider is one file (or folder) in this
// package and one line here.
var registry = map[string]Preset{
	TypeMicrosoft:  microsoftPreset,
	TypeSalesforce: salesforcePreset,
	TypeGoogle:     googlePreset,
	TypeOIDC:       oidcPreset,
	TypeOAuth2:     oauth2Preset,
	TypeDingTalk:   dingTalkPreset,
	TypeWeCom:      wecomPreset,
	TypeFeishu:     feishuPreset,
}
