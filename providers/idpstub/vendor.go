package idpstub

// DingTalk, Feishu and WeCom are not OpenID Connect: each speaks its own documented wire format from its
// own type (dingtalk.go, feishu.go, wecom.go). This file holds what the three stubs share: the per-test
// shape, hit counting, single-use codes and expiring tokens under an injectable clock, and the Go-side
// browser that signs a user in on a sign-in page.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// Names of the users in every vendor stub's built-in directory; the Users option adds or replaces users by name.
const (
	Member    = "member"     // a member of the configured company, every optional field set
	Sparse    = "sparse"     // a member of the configured company without email or mobile; numeric-looking ids
	OtherCorp = "other-corp" // a member of another company (DingTalk corpId, Feishu tenant_key, WeCom CorpID)
	Outsider  = "outsider"   // belongs to no company the app serves
)

// The Go-side browser tells the sign-in page who signs in, and whether they refuse, with these headers.
const (
	userHeader   = "X-Idpstub-User"
	refuseHeader = "X-Idpstub-Refuse"
)

// Lifetimes every vendor documents alike: codes live 5 minutes, access tokens 7200 seconds.
const (
	codeTTL  = 5 * time.Minute
	tokenTTL = 7200 * time.Second
)

// VendorShape holds per-test changes to a DingTalk, Feishu or WeCom stub; the zero value keeps the
// documented behaviour. Endpoint names are the ones Hits counts, listed in each stub's type comment.
type VendorShape struct {
	// Replace answers the named endpoints in the stub's place (assign a whole map).
	Replace map[string]http.HandlerFunc
	// Edit changes the JSON body a named endpoint is about to send, success or error (assign a whole map).
	Edit map[string]func(body map[string]any)
	// ExpireToken makes the next call that presents a valid token the stub issued find it expired; that
	// token stays expired, so the client has to fetch a new one, and the flag clears.
	ExpireToken bool
	// Ungranted lists permissions the app lacks, by the vendor's names (the DingTalkPerm…, FeishuScope… and
	// WeComField… constants).
	Ungranted []string
}

// vendor is the part of a vendor stub that does not depend on the vendor.
type vendor struct {
	now func() time.Time
	mux *http.ServeMux
	url string
	srv *httptest.Server

	mu    sync.Mutex
	shape VendorShape
	hits  map[string]int
}

func newVendor(now func() time.Time) *vendor {
	if now == nil {
		now = time.Now
	}
	v := &vendor{now: now, mux: http.NewServeMux(), hits: map[string]int{}}
	v.srv = httptest.NewServer(v.mux)
	v.url = v.srv.URL
	return v
}

// Close stops the stub's server (the New… constructors do it when the test ends; the Start… ones leave it to
// the caller, such as `fuyun-bridge dev`).
func (v *vendor) Close() { v.srv.Close() }

// Shape changes the stub's behaviour for the rest of the test.
func (v *vendor) Shape(f func(*VendorShape)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f(&v.shape)
}

// Hits reports how many requests the named endpoint has served (names in the stub's type comment).
func (v *vendor) Hits(name string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hits[name]
}

// Authorize signs user (a name in the stub's directory) in on authURL, the stub's sign-in page, and returns
// the redirect back to redirect_uri with the vendor's documented callback parameters. The test fails if
// the page refuses the request.
func (v *vendor) Authorize(t testing.TB, authURL, user string) (callbackURL string) {
	t.Helper()
	return browse(t, authURL, http.Header{userHeader: {user}})
}

// Refuse is Authorize for a member who declines at the consent step; it returns the vendor's refusal redirect.
func (v *vendor) Refuse(t testing.TB, authURL string) (callbackURL string) {
	t.Helper()
	return browse(t, authURL, http.Header{refuseHeader: {"1"}})
}

func browse(t testing.TB, authURL string, h http.Header) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := noFollow().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		var body [512]byte
		n, _ := resp.Body.Read(body[:])
		t.Fatalf("sign-in page answered %d: %s", resp.StatusCode, body[:n])
	}
	return resp.Header.Get("Location")
}

// noFollow is a client that stops at the first redirect, as a test needs to read it.
func noFollow() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// visitor reads who the Go-side browser signs in as and whether they refuse.
func visitor(r *http.Request) (name string, refuse bool) {
	name = r.Header.Get(userHeader)
	if name == "" {
		name = Member
	}
	return name, r.Header.Get(refuseHeader) != ""
}

// exchange is one request to a vendor endpoint; reply applies the test's Edit hook for that endpoint.
type exchange struct {
	w    http.ResponseWriter
	r    *http.Request
	edit func(map[string]any)
}

func (x exchange) reply(status int, body map[string]any) {
	if x.edit != nil {
		x.edit(body)
	}
	writeJSON(x.w, status, body)
}

// route serves pattern as the named endpoint: it counts the hit and lets a Replace hook answer instead.
func (v *vendor) route(pattern, name string, h func(exchange)) {
	v.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		v.hits[name]++
		replace, edit := v.shape.Replace[name], v.shape.Edit[name]
		v.mu.Unlock()
		if replace != nil {
			replace(w, r)
			return
		}
		h(exchange{w: w, r: r, edit: edit})
	})
}

// granted reports whether the app holds a permission (see VendorShape.Ungranted).
func (v *vendor) granted(perm string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return !slices.Contains(v.shape.Ungranted, perm)
}

// expireNow consumes VendorShape.ExpireToken.
func (v *vendor) expireNow() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	fired := v.shape.ExpireToken
	v.shape.ExpireToken = false
	return fired
}

// present checks a token a client sent, letting VendorShape.ExpireToken expire it first.
func present[T any](v *vendor, l *ledger[T], token string) (T, status) {
	val, st := l.lookup(token)
	if st == valid && v.expireNow() {
		l.expire(token)
		return val, expired
	}
	return val, st
}

// status is what a ledger knows about a code or token.
type status int

const (
	valid status = iota
	unknown
	used
	expired
)

// ledger issues random strings bound to a value: codes (spent once) and tokens (valid until they expire).
type ledger[T any] struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]*entry[T]
}

type entry[T any] struct {
	val     T
	expires time.Time
	used    bool
}

func newLedger[T any](now func() time.Time) *ledger[T] {
	return &ledger[T]{now: now, entries: map[string]*entry[T]{}}
}

// issue binds a fresh random string to val for ttl.
func (l *ledger[T]) issue(val T, ttl time.Duration) string {
	key := random()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[key] = &entry[T]{val: val, expires: l.now().Add(ttl)}
	return key
}

// current returns a token still valid for val's kind and its remaining life, or issues one: the vendors
// answer a repeated corp-token fetch with the same token while it lives.
func (l *ledger[T]) current(val T, ttl time.Duration) (string, time.Duration) {
	l.mu.Lock()
	now := l.now()
	for _, key := range slices.Sorted(maps.Keys(l.entries)) {
		if e := l.entries[key]; !e.used && now.Before(e.expires) {
			l.mu.Unlock()
			return key, e.expires.Sub(now)
		}
	}
	l.mu.Unlock()
	return l.issue(val, ttl), ttl
}

// redeem spends a single-use code.
func (l *ledger[T]) redeem(key string) (T, status) { return l.check(key, true) }

// lookup checks a token without spending it.
func (l *ledger[T]) lookup(key string) (T, status) { return l.check(key, false) }

func (l *ledger[T]) check(key string, spend bool) (T, status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	switch {
	case !ok:
		var zero T
		return zero, unknown
	case e.used:
		return e.val, used
	case !l.now().Before(e.expires):
		return e.val, expired
	}
	e.used = spend
	return e.val, valid
}

// expire ends a token's life now.
func (l *ledger[T]) expire(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok {
		e.expires = l.now()
	}
}

// directory is a stub's users by name: the built-in ones, with extra added or replacing by name.
func directory[U any](builtin, extra map[string]U) map[string]U {
	out := maps.Clone(builtin)
	maps.Copy(out, extra)
	return out
}

// findUser returns the first user, by name order, that match accepts.
func findUser[U any](users map[string]U, match func(U) bool) (U, bool) {
	for _, name := range slices.Sorted(maps.Keys(users)) {
		if match(users[name]) {
			return users[name], true
		}
	}
	var zero U
	return zero, false
}

// callback is redirectURI with params added to its query; a fragment stays last, as Feishu documents.
func callback(redirectURI string, params url.Values) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return redirectURI
	}
	q := u.Query()
	maps.Copy(q, params)
	u.RawQuery = q.Encode()
	return u.String()
}

// signInRefused is a sign-in page that will not go on: the vendors show an error page and do not redirect.
func signInRefused(w http.ResponseWriter, why string) {
	http.Error(w, "sign-in refused: "+why, http.StatusBadRequest)
}

// decodeJSON decodes a request body that must be declared application/json.
func decodeJSON(r *http.Request, dst any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json" && json.NewDecoder(r.Body).Decode(dst) == nil
}

// hexID is a random lower-case hex string of n characters, for request ids.
func hexID(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// omitEmpty deletes the string fields of body that are empty: the vendors leave out what a user lacks.
func omitEmpty(body map[string]any) map[string]any {
	maps.DeleteFunc(body, func(_ string, v any) bool { return v == "" })
	return body
}

// nonNil keeps an empty list a JSON [] rather than null.
func nonNil[E any](s []E) []E {
	if s == nil {
		return []E{}
	}
	return s
}
