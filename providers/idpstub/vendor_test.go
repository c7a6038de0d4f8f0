package idpstub

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// wire is a raw HTTP request and what came back, decoded as a JSON object.
type wire struct {
	status int
	body   map[string]any
}

// send makes a request the way a preset would, with plain net/http. body is nil, url.Values (a form) or
// anything else (JSON).
func send(t *testing.T, method, target string, header http.Header, body any) wire {
	t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		r, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r, ctype = bytes.NewReader(j), "application/json; charset=utf-8"
	}
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	if ctype != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	w := wire{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &w.body); err != nil {
		t.Fatalf("%s %s answered %d with a body that is not a JSON object: %s", method, target, resp.StatusCode, raw)
	}
	return w
}

// str reads a string field, failing the test if it is there but not a string.
func (w wire) str(t *testing.T, key string) string {
	t.Helper()
	v, ok := w.body[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s is %T, want a string: %v", key, v, w.body)
	}
	return s
}

// expect checks the status and the given fields (numbers compare as float64, as JSON decodes them).
func (w wire) expect(t *testing.T, status int, fields map[string]any) {
	t.Helper()
	if w.status != status {
		t.Errorf("status %d, want %d: %v", w.status, status, w.body)
	}
	for k, want := range fields {
		if got := w.body[k]; got != want {
			t.Errorf("%s = %#v, want %#v (body %v)", k, got, want, w.body)
		}
	}
}

// absent checks that none of keys is in m.
func absent(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, ok := m[k]; ok {
			t.Errorf("%s present (%v), want absent", k, v)
		}
	}
}

// callbackQuery parses a callback URL and checks it goes to redirect with exactly the given parameter names.
func callbackQuery(t *testing.T, callbackURL, redirect string, names ...string) url.Values {
	t.Helper()
	u, err := url.Parse(callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	if base := u.Scheme + "://" + u.Host + u.Path; !strings.HasPrefix(redirect, base) {
		t.Errorf("callback %s does not go to %s", callbackURL, redirect)
	}
	q := u.Query()
	if got := slices.Sorted(maps.Keys(q)); !slices.Equal(got, slices.Sorted(slices.Values(names))) {
		t.Errorf("callback parameters %v, want %v", got, names)
	}
	return q
}

// expectRefused checks that the sign-in page answers each edited request with 400 and no redirect.
func expectRefused(t *testing.T, edits map[string]func(url.Values), authURL func(edit func(url.Values)) string) {
	t.Helper()
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			resp, err := noFollow().Get(authURL(edit))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("sign-in page answered %d, want 400", resp.StatusCode)
			}
		})
	}
}

// expectHits checks a stub's hit counts.
func expectHits(t *testing.T, v *vendor, want map[string]int) {
	t.Helper()
	for name, n := range want {
		if got := v.Hits(name); got != n {
			t.Errorf("Hits(%q) = %d, want %d", name, got, n)
		}
	}
}

// withParams is base with q as its query, after edit.
func withParams(base string, q url.Values, edit func(url.Values)) string {
	q = maps.Clone(q)
	if edit != nil {
		edit(q)
	}
	return base + "?" + q.Encode()
}
