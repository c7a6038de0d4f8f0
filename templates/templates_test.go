package templates

import (
	"bytes"
	"html/template"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func mustNew(t *testing.T) *Set {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func render(t *testing.T, s *Set, page string, data any) string {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Render(&buf, page, data); err != nil {
		t.Fatalf("Render(%s): %v", page, err)
	}
	return buf.String()
}

// samples returns representative data for every page in lang.
func samples(lang string) map[string]any {
	p := NewPage(lang, "req-7f3a9c")
	banner := ""
	if lang == LangZH {
		banner = "state_missing" // one language shows the error banner, so screenshots cover it
	}
	return map[string]any{
		PageSignIn: SignIn{Page: p, Error: banner, Providers: []ProviderLink{
			{ID: "microsoft", Name: "Microsoft", Type: "microsoft", URL: "/login/microsoft?return_to=%2Fdesk", Icon: "/icons/microsoft.svg"},
			{ID: "salesforce", Name: "Salesforce", Type: "salesforce", URL: "/login/salesforce", Icon: "/icons/salesforce.svg"},
			{ID: "google", Name: "Google Workspace", Type: "google", URL: "/login/google", Icon: "/icons/google.svg"},
			{ID: "okta", Name: "Okta", Type: "oidc", URL: "/login/okta", Icon: "/icons/oidc.svg"},
			{ID: "feishu", Name: "飞书", Type: "oauth2", URL: "/login/feishu", Icon: "/icons/oauth2.svg"},
			{ID: "dev", Name: "Dev IdP", Type: "dev", URL: "/login/dev", Icon: "/static/icons/dev.svg"},
		}},
		PageSuccess: Success{Page: p, UserName: "alice@corp.example.com", ProviderName: "Microsoft",
			ExpiresIn: 2591999, ExpiresAt: "2026-07-01 09:30 UTC", ReturnTo: "https://crm.example.com/desk",
			ShowToken: true, Token: "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("eyJ1c2VyX25hbWUiOiJhbGljZSJ9", 12) + ".sig"},
		PageError: ErrorPage{Page: p, Status: 403, Code: "mapping_not_in_table",
			Detail: "alice@corp.example.com is not in accounts.csv", RetryURL: "/login/microsoft", HomeURL: "/"},
	}
}

func TestRenderEveryPageInBothLanguages(t *testing.T) {
	s := mustNew(t)
	want := map[string]map[string][]string{
		LangEN: {
			PageSignIn: {"Sign in to the Fuyun contact center", "Sign in with Microsoft", "Sign in with 飞书",
				`href="/login/microsoft?return_to=%2Fdesk"`, `href="?lang=zh-CN"`, `href="?lang=en"`, "中文", "English",
				`aria-current="true">English`, `src="/icons/salesforce.svg"`, `src="/icons/oauth2.svg"`},
			PageSuccess: {"You are signed in as <strong>alice@corp.example.com</strong>.", "Signed in with Microsoft.",
				"30 days, until 2026-07-01 09:30 UTC", `href="https://crm.example.com/desk"`, ">Continue<",
				"<details>", "eyJhbGciOiJSUzI1NiJ9.", "Request ID"},
			PageError: {"No agent account assigned to you", "Ask your administrator to add your account",
				"alice@corp.example.com is not in accounts.csv", "Error code", "<code>mapping_not_in_table</code>",
				"Request ID", "<code>req-7f3a9c</code>", `href="/login/microsoft">Try again<`, `href="/">Back to sign-in<`},
		},
		LangZH: {
			PageSignIn: {"登录智能联络中心", "使用 Microsoft 登录", "上次登录未成功：登录会话已失效", "<code>state_missing</code>", `aria-current="true">中文`, "English"},
			PageSuccess: {"您已登录，当前账号：<strong>alice@corp.example.com</strong>。", "登录方式：Microsoft。",
				"30 天，至 2026-07-01 09:30 UTC", ">继续<", "访问令牌（开发模式）", "请求 ID"},
			PageError: {"尚未为您分配坐席账号", "请联系管理员将您的账号加入坐席对照表", "错误代码",
				"<code>mapping_not_in_table</code>", "请求 ID", ">重新登录<", ">返回登录页<"},
		},
	}
	for _, lang := range []string{LangEN, LangZH} {
		for page, data := range samples(lang) {
			t.Run(lang+"/"+page, func(t *testing.T) {
				out := render(t, s, page, data)
				if !strings.Contains(out, `<html lang="`+lang+`">`) {
					t.Errorf("missing lang attribute %q", lang)
				}
				for _, w := range want[lang][page] {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q", w)
					}
				}
				if page != PageSignIn && strings.Count(out, "req-7f3a9c") != 1 {
					t.Errorf("request id shown %d times, want once", strings.Count(out, "req-7f3a9c"))
				}
				checkCSPSafe(t, out)
			})
		}
	}
}

// checkCSPSafe fails on anything the bridge's CSP would block or that loads
// from another origin.
func checkCSPSafe(t *testing.T, out string) {
	t.Helper()
	lower := strings.ToLower(out)
	for _, bad := range []string{"<script", " style=", "<style", "http://", "//fonts.", " on"} {
		if bad == " on" {
			if regexp.MustCompile(`\son[a-z]+=`).MatchString(lower) {
				t.Errorf("output has an inline event handler")
			}
			continue
		}
		if strings.Contains(lower, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(out, -1) {
		if strings.HasPrefix(m[1], "/static/") && strings.Contains(m[1], "//") {
			t.Errorf("asset reference %q", m[1])
		}
	}
}

func TestSuccessOptionalParts(t *testing.T) {
	s := mustNew(t)
	out := render(t, s, PageSuccess, Success{Page: NewPage(LangEN, ""), UserName: "bob", ExpiresIn: 3600})
	for _, absent := range []string{"<details", "Continue", "Request ID", "until", "Signed in with"} {
		if strings.Contains(out, absent) {
			t.Errorf("output contains %q although its data is empty", absent)
		}
	}
	for _, w := range []string{"valid for 60 minutes", "close this tab"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	checkCSPSafe(t, out)
}

func TestErrorPageWithoutLinksAndUnknownCode(t *testing.T) {
	s := mustNew(t)
	for _, lang := range []string{LangEN, LangZH} {
		m := Catalog(lang)
		out := render(t, s, PageError, ErrorPage{Page: NewPage(lang, "r1"), Status: 500, Code: "brand_new_code"})
		if strings.Contains(out, `class="actions"`) || strings.Contains(out, `class="button`) {
			t.Errorf("%s: links rendered without RetryURL/HomeURL", lang)
		}
		for _, w := range []string{m.ErrorTitle(""), m.ErrorHint("")} {
			if !strings.Contains(out, template.HTMLEscapeString(w)) {
				t.Errorf("%s: output lacks %q", lang, w)
			}
		}
		for _, w := range []string{"<code>brand_new_code</code>", "<code>r1</code>"} {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q", lang, w)
			}
		}
	}
}

func TestSignInBannerAndNoProviders(t *testing.T) {
	s := mustNew(t)
	m := Catalog(LangZH)
	out := render(t, s, PageSignIn, SignIn{Page: NewPage(LangZH, ""), Error: "state_missing"})
	for _, w := range []string{`role="alert"`, m.ErrorTitle("state_missing"), "<code>state_missing</code>", m.T("signin.none")} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if strings.Contains(out, `class="providers"`) {
		t.Error("empty provider list rendered")
	}
}

func TestEveryErrorCodeRendersInBothLanguages(t *testing.T) {
	s := mustNew(t)
	for _, lang := range []string{LangEN, LangZH} {
		m := Catalog(lang)
		for _, code := range ErrorCodes() {
			out := render(t, s, PageError, ErrorPage{Page: NewPage(lang, "r"), Code: code, HomeURL: "/"})
			for _, w := range []string{m.ErrorTitle(code), m.ErrorMessage(code), m.ErrorHint(code)} {
				if !strings.Contains(out, template.HTMLEscapeString(w)) {
					t.Errorf("%s/%s: output lacks %q", lang, code, w)
				}
			}
			if !strings.Contains(out, "<title>"+template.HTMLEscapeString(m.ErrorTitle(code))) {
				t.Errorf("%s/%s: <title> is not the error title", lang, code)
			}
			checkCSPSafe(t, out)
		}
	}
}

// briefCodes is the list of codes the bridge, providers, mapping and fuyun use;
// written out here so that dropping one from the tables fails this test.
var briefCodes = []string{
	"unknown_provider", "invalid_request", "state_missing", "state_mismatch", "state_expired", "idp_error",
	"invalid_return_to", "cookie_too_large", "internal_error", "not_found",
	"issuer_mismatch", "idp_unavailable", "idp_token_failed", "id_token_missing", "id_token_invalid",
	"nonce_mismatch", "userinfo_failed", "userinfo_sub_mismatch", "tenant_not_allowed", "invalid_token",
	"mapping_missing", "mapping_unverified", "mapping_domain_not_allowed", "mapping_not_in_table", "mapping_invalid",
	"fuyun_rejected", "fuyun_unavailable",
}

func TestErrorTexts(t *testing.T) {
	codes := ErrorCodes()
	for _, c := range briefCodes {
		if !slices.Contains(codes, c) {
			t.Errorf("ErrorCodes lacks %q", c)
		}
	}
	for _, lang := range []string{LangEN, LangZH} {
		m := Catalog(lang)
		table := m.errs()
		if len(table) != len(codes)+1 {
			t.Errorf("%s: %d texts for %d codes (+generic); ErrorCodes and the table disagree", lang, len(table), len(codes))
		}
		generic := [3]string{m.ErrorTitle("no_such_code"), m.ErrorMessage("no_such_code"), m.ErrorHint("no_such_code")}
		for i, g := range generic {
			if g == "" {
				t.Errorf("%s: generic text %d is empty", lang, i)
			}
		}
		titles := map[string]string{}
		for _, code := range codes {
			got := [3]string{m.ErrorTitle(code), m.ErrorMessage(code), m.ErrorHint(code)}
			for i := range got {
				if got[i] == "" || got[i] == generic[i] {
					t.Errorf("%s/%s: text %d is empty or generic: %q", lang, code, i, got[i])
				}
			}
			if other, dup := titles[got[0]]; dup {
				t.Errorf("%s: %s and %s share the title %q", lang, code, other, got[0])
			}
			titles[got[0]] = code
		}
	}
	// The Chinese texts must actually be Chinese, not copied English.
	zh, en := Catalog(LangZH), Catalog(LangEN)
	for _, code := range codes {
		if zh.ErrorHint(code) == en.ErrorHint(code) || !regexp.MustCompile(`\p{Han}`).MatchString(zh.ErrorMessage(code)) {
			t.Errorf("%s: Chinese text not translated", code)
		}
	}
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	for key := range uiEN {
		if _, ok := uiZH[key]; !ok {
			t.Errorf("zh-CN lacks %q", key)
		}
	}
	for key := range uiZH {
		if _, ok := uiEN[key]; !ok {
			t.Errorf("en lacks %q", key)
		}
	}
	for code := range errorsEN {
		if _, ok := errorsZH[code]; !ok {
			t.Errorf("zh-CN lacks error %q", code)
		}
	}
	for code := range errorsZH {
		if _, ok := errorsEN[code]; !ok {
			t.Errorf("en lacks error %q", code)
		}
	}
}

func TestTemplateKeysExist(t *testing.T) {
	ref := regexp.MustCompile(`\.(?:T|Tf|Split) "([^"]+)"`)
	entries, err := files.ReadDir("html")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		src, err := files.ReadFile("html/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllSubmatch(src, -1) {
			seen++
			key := string(m[1])
			if _, ok := uiEN[key]; !ok {
				t.Errorf("%s uses unknown key %q", e.Name(), key)
			}
		}
	}
	if seen < 20 {
		t.Errorf("found only %d message references; is the pattern stale?", seen)
	}
}

func TestEscaping(t *testing.T) {
	s := mustNew(t)
	const (
		script = `<script>alert(1)</script>`
		attr   = `"><img onerror=x>`
	)
	p := NewPage(LangEN, attr)
	pages := map[string]any{
		PageSuccess: Success{Page: p, UserName: script + attr, ProviderName: attr, ExpiresAt: script,
			ExpiresIn: 60, ShowToken: true, Token: script + attr, ReturnTo: "javascript:alert(1)"},
		PageError: ErrorPage{Page: p, Code: attr, Detail: script + attr, RetryURL: `/login/x?a="><script>`,
			HomeURL: "javascript:alert(1)"},
		PageSignIn: SignIn{Page: p, Error: script, Providers: []ProviderLink{
			{Name: script + attr, Type: attr, URL: `/login/x"><script>`},
		}},
	}
	for page, data := range pages {
		out := render(t, s, page, data)
		for _, raw := range []string{"<script", "<img onerror", "javascript:"} {
			if strings.Contains(strings.ToLower(out), raw) {
				t.Errorf("%s: unescaped %q in output", page, raw)
			}
		}
		if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: escaped payload not found", page)
		}
	}
}

func TestRenderRejects(t *testing.T) {
	s := mustNew(t)
	var buf bytes.Buffer
	if err := s.Render(&buf, "nope", samples(LangEN)[PageError]); err == nil {
		t.Error("unknown page accepted")
	}
	mismatched := ErrorPage{Page: Page{Lang: LangZH, M: Catalog(LangEN)}, Code: "not_found"}
	if err := s.Render(&buf, PageError, mismatched); err == nil {
		t.Error("Page.Lang different from Page.M accepted")
	}
	if err := s.Render(&buf, PageError, ErrorPage{Code: "not_found"}); err == nil {
		t.Error("zero Page accepted")
	}
	// ErrorPage has no UserName: the template fails half-way, and nothing may have been written.
	if err := s.Render(&buf, PageSuccess, ErrorPage{Page: NewPage(LangEN, "")}); err == nil {
		t.Error("wrong data type accepted")
	}
	if buf.Len() != 0 {
		t.Errorf("failed renders wrote %d bytes", buf.Len())
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, param, header, want string
	}{
		{"nothing", "", "", LangEN},
		{"param zh", "zh", "en-US", LangZH},
		{"param zh-cn", "zh-cn", "", LangZH},
		{"param zh-Hans", "zh-Hans", "en", LangZH},
		{"param zh-CN", "zh-CN", "en", LangZH},
		{"param underscore", "zh_CN", "en", LangZH},
		{"param en overrides header", "en", "zh-CN,zh;q=0.9", LangEN},
		{"param en-GB", "en-GB", "zh", LangEN},
		{"param unknown falls back to header", "fr", "zh-CN", LangZH},
		{"param garbage falls back", "<script>", "zh", LangZH},
		{"param spaces", " zh ", "", LangZH},
		{"header zh-CN", "", "zh-CN,zh;q=0.9,en;q=0.8", LangZH},
		{"header en first", "", "en-US,en;q=0.9,zh-CN;q=0.8", LangEN},
		{"q beats order", "", "en;q=0.5, zh-CN;q=0.9", LangZH},
		{"q beats order en", "", "zh;q=0.3, fr, en;q=0.4", LangEN},
		{"tie goes to first", "", "zh;q=0.8, en;q=0.8", LangZH},
		{"tie goes to first en", "", "en;q=0.8, zh;q=0.8", LangEN},
		{"unsupported only", "", "fr-FR, de;q=0.9", LangEN},
		{"unsupported then zh", "", "fr-FR, de;q=0.9, zh;q=0.1", LangZH},
		{"zh-TW served zh-CN", "", "zh-TW", LangZH},
		{"zh-HK served zh-CN", "", "zh-HK,en;q=0.5", LangZH},
		{"zh-Hant served zh-CN", "", "zh-Hant-TW", LangZH},
		{"q=0 excludes", "", "zh;q=0, en;q=0.1", LangEN},
		{"q=0 zh with wildcard", "", "zh-CN;q=0, *", LangEN},
		{"wildcard only", "", "*", LangEN},
		{"wildcard with en excluded", "", "en;q=0, *;q=0.5", LangZH},
		{"specific beats wildcard", "", "*;q=0.9, zh;q=0.5", LangEN},
		{"wildcard below zh", "", "*;q=0.1, zh;q=0.5", LangZH},
		{"best of several ranges", "", "zh-TW;q=0.2, en;q=0.5, zh-CN;q=0.9", LangZH},
		{"case insensitive", "", "ZH-cn", LangZH},
		{"spaces and Q", "", "  en ; q=0.2 ,  zh ; Q=0.4 ", LangZH},
		{"bad q ignored", "", "zh;q=abc, en;q=0.1", LangEN},
		{"q above 1 ignored", "", "zh;q=2, en;q=0.1", LangEN},
		{"negative q ignored", "", "zh;q=-1", LangEN},
		{"garbage", "", ";;;,,,==q", LangEN},
		{"garbage tag", "", "zh<>, en;q=0.1", LangEN},
		{"prefix lookalike", "", "zhx, english", LangEN},
		{"too many ranges", "", strings.Repeat("fr,", 40) + "zh", LangEN},
		{"all excluded", "", "zh;q=0, en;q=0", LangEN},
		{"other params", "", "zh;level=1;q=0.9, en;q=0.5", LangZH},
	}
	for _, tt := range tests {
		if got := Negotiate(tt.param, tt.header); got != tt.want {
			t.Errorf("%s: Negotiate(%q, %q) = %q, want %q", tt.name, tt.param, tt.header, got, tt.want)
		}
	}
}

func TestMessages(t *testing.T) {
	en, zh := Catalog("en-US"), Catalog("zh-TW")
	if en.Lang() != LangEN || zh.Lang() != LangZH || Catalog("fr").Lang() != LangEN || (Messages{}).Lang() != LangEN {
		t.Errorf("Catalog languages: %q %q %q", en.Lang(), zh.Lang(), Catalog("fr").Lang())
	}
	if got := en.T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key = %q", got)
	}
	if got := zh.Tf("signin.with", "name", "Okta"); got != "使用 Okta 登录" {
		t.Errorf("Tf = %q", got)
	}
	if got := en.Split("success.signed_in", "user"); !slices.Equal(got, []string{"You are signed in as ", "."}) {
		t.Errorf("Split = %q", got)
	}
	durations := []struct {
		seconds int64
		en, zh  string
	}{
		{2591999, "30 days", "30 天"},
		{86400, "24 hours", "24 小时"},
		{172800, "2 days", "2 天"},
		{7200, "2 hours", "2 小时"},
		{3600, "60 minutes", "60 分钟"},
		{90, "90 seconds", "90 秒"},
		{1, "1 second", "1 秒"},
		{-5, "0 seconds", "0 秒"},
	}
	for _, d := range durations {
		if got := en.Duration(d.seconds); got != d.en {
			t.Errorf("en Duration(%d) = %q, want %q", d.seconds, got, d.en)
		}
		if got := zh.Duration(d.seconds); got != d.zh {
			t.Errorf("zh Duration(%d) = %q, want %q", d.seconds, got, d.zh)
		}
	}
}

func TestErrorCodesIsACopy(t *testing.T) {
	c := ErrorCodes()
	c[0] = "changed"
	if ErrorCodes()[0] == "changed" {
		t.Error("ErrorCodes exposes the package table")
	}
}

func TestStaticIconsExist(t *testing.T) {
	// The templates reference these by name; the static package must ship each one. Provider types' own icons
	// live with their presets (providers.Preset.Icon), tested there.
	for _, name := range []string{"dev", "logo", "success", "error"} {
		if _, err := os.Stat("../static/icons/" + name + ".svg"); err != nil {
			t.Errorf("icon %s: %v", name, err)
		}
	}
	if icon("feishu") != "oidc" || icon("google") != "google" {
		t.Error("icon fallback")
	}
}
