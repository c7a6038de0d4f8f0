package templates

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestEmbedAndPopupPages(t *testing.T) {
	s := mustNew(t)
	for _, lang := range []string{LangEN, LangZH} {
		p := NewPage(lang, "req-1")
		out := render(t, s, PageEmbed, Embed{Page: p, ParentOrigin: "https://crm.example.com", HandoffURL: "/embed/handoff",
			LogoutURL: "/logout", TimeoutSeconds: 300, Providers: []ProviderLink{{ID: "dev", Name: "Dev", Type: "dev", URL: "/login/dev?mode=popup"}}})
		for _, want := range []string{`<html lang="` + lang + `">`, `data-parent-origin="https://crm.example.com"`, `data-provider="dev"`,
			`<script src="/static/embed.js" defer></script>`, `data-text="popup_closed"`,
			`<div id="signed-in" class="embed-signed-in" hidden><button type="button" id="sign-out"`, ">" + p.M.T("embed.sign_out") + "</button>"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s embed lacks %s", lang, want)
			}
		}
		// The one script is the bridge's own file; no inline script, style or handler.
		checkCSPSafe(t, strings.ReplaceAll(out, `<script src="/static/embed.js" defer></script>`, ""))

		hostile := `</script><script>alert(1)</script>`
		out = render(t, s, PagePopup, Popup{Page: p, UserName: "alice", Message: PopupMessage{Type: MessageLogin, AccessToken: "tok" + hostile, UserName: "alice"}})
		m := regexp.MustCompile(`(?s)<script type="application/json" id="fuyun-bridge-result">(.*?)</script>`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s popup has no result block:\n%s", lang, out)
		}
		var msg PopupMessage
		if err := json.Unmarshal([]byte(m[1]), &msg); err != nil || msg.AccessToken != "tok"+hostile || msg.Type != MessageLogin {
			t.Errorf("result block %q: %v", m[1], err)
		}
		if strings.Count(out, "<script") != 2 {
			t.Errorf("popup page has %d script tags, want the data block and popup.js", strings.Count(out, "<script"))
		}
		out = render(t, s, PagePopup, Popup{Page: p, Code: "idp_error", Message: PopupMessage{Type: MessageError, Error: "idp_error"}})
		if !strings.Contains(out, "<code>idp_error</code>") || !strings.Contains(out, Catalog(lang).ErrorTitle("idp_error")) {
			t.Errorf("%s popup error page lacks the error", lang)
		}
	}
}
