package providers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCallAPIDecodesExactlyAndRedacts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("Content-Type") != "application/json; charset=utf-8" || r.Header.Get("x-custom") != "v" {
				http.Error(w, "headers", http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(`{"errcode":0,"id":9007199254740993}`))
		case "/html":
			_, _ = w.Write([]byte(`<html>secret-token</html>`))
		case "/big":
			_, _ = w.Write([]byte(`{"a":"` + strings.Repeat("x", MaxResponseBytes) + `"}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	res, err := callAPI(ctx, srv.Client(), apiCall{Method: http.MethodPost, URL: srv.URL + "/ok?access_token=secret-token",
		Header: http.Header{"X-Custom": {"v"}}, Body: map[string]string{"k": "v"}})
	if err != nil || res.Status != 200 {
		t.Fatalf("callAPI: %v %+v", err, res)
	}
	if id, _ := stringField(res.Object, "id"); id != "9007199254740993" {
		t.Errorf("id = %q: numbers must keep their digits", id)
	}
	for _, path := range []string{"/html", "/big"} {
		_, err := callAPI(ctx, srv.Client(), apiCall{Method: http.MethodGet, URL: srv.URL + path + "?access_token=secret-token"})
		if err == nil || strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s: err = %v; want an error that does not repeat the token", path, err)
		}
	}
	srv.Close()
	if _, err := callAPI(ctx, http.DefaultClient, apiCall{Method: http.MethodGet, URL: srv.URL + "/ok?access_token=secret-token"}); err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("transport error = %v; want one without the token", err)
	}
}

func TestErrcodeEnvelope(t *testing.T) {
	tests := []struct {
		body         string
		allowMissing bool
		code         int64
		bad          bool
	}{
		{`{"errcode":0,"errmsg":"ok"}`, false, 0, false},
		{`{"errcode":40014,"errmsg":"invalid access_token"}`, false, 40014, false},
		{`{"errmsg":"ok"}`, true, 0, false},
		{`{"errmsg":"ok"}`, false, 0, true},
		{`{"errcode":"0"}`, false, 0, true},
		{`{"errcode":1.5}`, false, 0, true},
	}
	for _, tt := range tests {
		obj, err := decodeClaims([]byte(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		code, _, err := errcodeEnvelope(obj, tt.allowMissing)
		if (err != nil) != tt.bad || (!tt.bad && code != tt.code) {
			t.Errorf("%s: code %d, err %v", tt.body, code, err)
		}
	}
}

func TestAppTokenCachesAndRefetches(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var fetches atomic.Int32
	fail := false
	tok := &appToken{now: clock, fetch: func(context.Context) (string, time.Duration, error) {
		if fail {
			return "", 0, errors.New("down")
		}
		n := fetches.Add(1)
		return "t" + string(rune('0'+n)), 2 * time.Hour, nil
	}}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = tok.get(ctx) }()
	}
	wg.Wait()
	if got, _ := tok.get(ctx); got != "t1" || fetches.Load() != 1 {
		t.Fatalf("21 gets: token %q after %d fetches, want t1 after 1", got, fetches.Load())
	}
	tok.invalidate("stale-other") // not the cached one: kept
	if got, _ := tok.get(ctx); got != "t1" {
		t.Errorf("invalidating another token dropped the cached one")
	}
	tok.invalidate("t1")
	if got, _ := tok.get(ctx); got != "t2" {
		t.Errorf("after invalidate: %q, want a fresh t2", got)
	}
	mu.Lock()
	now = now.Add(2*time.Hour - appTokenMargin + time.Second)
	mu.Unlock()
	if got, _ := tok.get(ctx); got != "t3" {
		t.Errorf("near expiry: %q, want a fresh t3", got)
	}
	tok.invalidate("t3")
	fail = true
	if _, err := tok.get(ctx); err == nil {
		t.Error("a failed fetch returned no error")
	}
}

func TestContactTrust(t *testing.T) {
	emails, mobiles := []string{"email", "enterprise_email"}, []string{"mobile"}
	if errs := (ContactTrust{}).guard("feishu", MappingView{Field: "enterprise_email"}, emails, mobiles); len(errs) != 1 || !strings.Contains(errs[0].Msg, "trust_email") {
		t.Errorf("email without opt-in: %v", errs)
	}
	if errs := (ContactTrust{}).guard("feishu", MappingView{Field: "user_id", Fallbacks: []string{"mobile"}}, emails, mobiles); len(errs) != 1 || !strings.Contains(errs[0].Msg, "trust_mobile") {
		t.Errorf("mobile fallback without opt-in: %v", errs)
	}
	if errs := (ContactTrust{TrustEmail: true}).guard("feishu", MappingView{Field: "email"}, emails, mobiles); len(errs) != 0 {
		t.Errorf("email with opt-in: %v", errs)
	}
	claims := map[string]any{"email": "a@b.c", "mobile": "+8613800138000"}
	(ContactTrust{TrustMobile: true}).mark(claims, "mobile", "absent")
	if claims["email_verified"] != false || claims["mobile_verified"] != true {
		t.Errorf("marked claims: %v", claims)
	}
	if _, ok := claims["absent_verified"]; ok {
		t.Error("marked a field the IdP did not send")
	}
}
