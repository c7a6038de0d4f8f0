package devidp

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPickerLanguage: the picker speaks zh-CN or English, chosen by the request's ui_locales (OIDC Core
// §3.1.2.1, in order of preference) and then by Accept-Language, and a form re-rendered after a bad choice
// keeps the language.
func TestPickerLanguage(t *testing.T) {
	ti := startIdP(t, nil)
	en := []string{`<html lang="en">`, "Sign in to the dev identity provider", "Choose a user to sign in to <strong>app</strong>", ">Cancel<"}
	zh := []string{`<html lang="zh-CN">`, "登录开发用身份提供方", "请选择要登录 <strong>app</strong> 的用户", ">取消<"}
	tests := []struct {
		name, uiLocales, acceptLanguage string
		want                            []string
	}{
		{"neither", "", "", en},
		{"Accept-Language zh-CN", "", "zh-CN,zh;q=0.9,en;q=0.8", zh},
		{"Accept-Language en", "", "en-US,en;q=0.9", en},
		{"Accept-Language prefers en", "", "zh;q=0.5, en", en},
		{"ui_locales zh-CN", "zh-CN", "", zh},
		{"ui_locales beats Accept-Language", "en", "zh-CN", en},
		{"ui_locales in order", "fr zh-Hans en", "en", zh},
		{"unsupported ui_locales fall back", "fr de", "zh-CN", zh},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := authParamsFor("")
			if tc.uiLocales != "" {
				q.Set("ui_locales", tc.uiLocales)
			}
			page := pickerPageFor(t, ti, http.MethodGet, q, tc.acceptLanguage)
			for _, want := range tc.want {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %s:\n%s", want, page)
				}
			}
		})
	}

	// An unknown choice re-renders the picker: ui_locales travelled in the form, so it is still Chinese even
	// though this browser's Accept-Language says English.
	q, _ := authParamsFor("")
	q.Set("ui_locales", "zh-CN")
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(pickerPageFor(t, ti, http.MethodGet, q, "en"), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("ui_locales") != "zh-CN" {
		t.Fatalf("the form does not carry ui_locales: %v", form)
	}
	form.Set("user", "mallory")
	page := pickerPageFor(t, ti, http.MethodPost, form, "en")
	for _, want := range append(zh, "未知用户") {
		if !strings.Contains(page, want) {
			t.Errorf("re-rendered page lacks %s:\n%s", want, page)
		}
	}
}

// pickerPageFor sends an authorization request (GET with query q, or POST with form q) and returns the
// picker page it answers with.
func pickerPageFor(t *testing.T, ti *testIdP, method string, q url.Values, acceptLanguage string) string {
	t.Helper()
	target, body := ti.Issuer()+"/authorize?"+q.Encode(), ""
	if method == http.MethodPost {
		target, body = ti.Issuer()+"/authorize", q.Encode()
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", ti.url)
	}
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := ti.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("%s /authorize: %d %s", method, resp.StatusCode, b)
	}
	return string(b)
}
