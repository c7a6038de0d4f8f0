package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Shared machinery of the presets whose IdP is not OpenID Connect (DingTalk, Feishu, WeCom): JSON calls with
// bounded bodies and exact numbers, the {errcode, errmsg} envelope, and a cached application token.

// apiCall is one JSON request to a vendor API. Body, when not nil, is sent as JSON; Header adds headers (a
// custom token header, Authorization).
type apiCall struct {
	Method string
	URL    string
	Header http.Header
	Body   any
	// Stage tags the call for metrics (StageToken, StageUserinfo, …).
	Stage string
}

// apiResult is a vendor API's answer: the HTTP status and the body decoded as a JSON object, numbers exact.
type apiResult struct {
	Status int
	Object map[string]any
}

// callAPI makes one call, bounded by callTimeout and MaxResponseBytes, and decodes a JSON object answer. A
// body that is not a JSON object is an error whatever the status; the caller judges the status and envelope.
// Error messages never repeat the URL's query (it may hold an access token) nor the body.
func callAPI(ctx context.Context, client *http.Client, c apiCall) (*apiResult, error) {
	ctx, cancel := context.WithTimeout(WithStage(ctx, c.Stage), callTimeout)
	defer cancel()
	var body io.Reader
	if c.Body != nil {
		b, err := json.Marshal(c.Body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, c.URL, body)
	if err != nil {
		return nil, fmt.Errorf("building the request to %s: %w", redactQuery(c.URL), err)
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if c.Body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.Method, redactQuery(c.URL), unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", redactQuery(c.URL), err)
	}
	if len(raw) > MaxResponseBytes {
		return nil, fmt.Errorf("%s: %w", redactQuery(c.URL), errTooLarge)
	}
	obj, err := decodeClaims(raw)
	if err != nil {
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		return nil, fmt.Errorf("%s answered %d (%s): %w", redactQuery(c.URL), resp.StatusCode, ct, err)
	}
	return &apiResult{Status: resp.StatusCode, Object: obj}, nil
}

// redactQuery drops the query of a URL for messages: vendor APIs take access tokens there.
func redactQuery(u string) string {
	if i := bytes.IndexByte([]byte(u), '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// unwrapURLError keeps the cause of a *url.Error without its URL (which may carry a token in the query).
func unwrapURLError(err error) error {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && u.Unwrap() != nil {
		return u.Unwrap()
	}
	return err
}

// errcodeEnvelope reads the {errcode, errmsg} envelope that DingTalk's oapi and WeCom put around every answer,
// on HTTP 200 even for errors. It returns errcode (0 for success) and errmsg; a missing errcode counts as 0 only
// when allowMissing (some success answers omit it).
func errcodeEnvelope(obj map[string]any, allowMissing bool) (code int64, msg string, err error) {
	return envelope(obj, "errcode", "errmsg", allowMissing)
}

// envelope reads a vendor's result code and message from the fields codeKey and msgKey (Feishu's are code and
// msg); see errcodeEnvelope.
func envelope(obj map[string]any, codeKey, msgKey string, allowMissing bool) (code int64, msg string, err error) {
	msg, _ = obj[msgKey].(string)
	raw, present := obj[codeKey]
	if !present {
		if allowMissing {
			return 0, msg, nil
		}
		return 0, msg, fmt.Errorf("answer has no %s", codeKey)
	}
	n, ok := raw.(json.Number)
	if !ok {
		return 0, msg, fmt.Errorf("%s is %T, not a number", codeKey, raw)
	}
	code, err = n.Int64()
	if err != nil {
		return 0, msg, fmt.Errorf("%s %q is not an integer", codeKey, n.String())
	}
	return code, msg, nil
}

// stringField returns obj[key] as a string: a JSON string as is, an integer number as its digits. ok is false
// when the field is absent, null, empty or of another type.
func stringField(obj map[string]any, key string) (string, bool) {
	switch v := obj[key].(type) {
	case string:
		return v, v != ""
	case json.Number:
		if _, err := v.Int64(); err == nil || integerPattern.MatchString(v.String()) {
			return v.String(), true
		}
	}
	return "", false
}

// appToken caches an application-level access token (DingTalk's and WeCom's corp token) until shortly before
// it expires. Concurrent callers share one fetch; a token the API reports as invalid is dropped with
// invalidate, and the next get fetches a new one.
type appToken struct {
	fetch func(ctx context.Context) (token string, ttl time.Duration, err error)
	now   func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// appTokenMargin is how long before its stated expiry a cached token is replaced.
const appTokenMargin = 5 * time.Minute

// get returns the cached token, fetching a new one when there is none or it is about to expire.
func (t *appToken) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.now().Before(t.expires) {
		return t.token, nil
	}
	tok, ttl, err := t.fetch(ctx)
	if err != nil {
		return "", err
	}
	if tok == "" {
		return "", fmt.Errorf("the application token answer has no token")
	}
	margin := min(appTokenMargin, ttl/2)
	t.token, t.expires = tok, t.now().Add(ttl-margin)
	return tok, nil
}

// invalidate drops tok if it is still the cached one (another caller may have replaced it already).
func (t *appToken) invalidate(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == tok {
		t.token = ""
	}
}

// ContactTrust is the explicit opt-in of a preset whose IdP hands out email addresses and mobile numbers that
// the company's administrators maintain and no one verified with the user (Feishu says so of its own; DingTalk
// and WeCom give no verification flag). Without it, mapping on such a field is a configuration error; with
// it, the preset marks the field verified (email_verified, <field>_verified) so the mapping accepts it.
type ContactTrust struct {
	// TrustEmail accepts the IdP's email fields as verified.
	TrustEmail bool `yaml:"trust_email"`
	// TrustMobile accepts the IdP's mobile fields as verified.
	TrustMobile bool `yaml:"trust_mobile"`
}

// mark sets the verification claims of the contact fields present in claims: email_verified for any email
// field, <field>_verified for each mobile field.
func (t ContactTrust) mark(claims map[string]any, mobileFields ...string) {
	claims["email_verified"] = t.TrustEmail
	for _, f := range mobileFields {
		if _, ok := claims[f]; ok {
			claims[f+"_verified"] = t.TrustMobile
		}
	}
}

// guard refuses a mapping on an unverified contact field without the opt-in. typ names the preset in the
// message; emailFields and mobileFields are the preset's claim names.
func (t ContactTrust) guard(typ string, m MappingView, emailFields, mobileFields []string) []FieldError {
	var errs []FieldError
	for _, f := range append([]string{m.Field}, m.Fallbacks...) {
		switch {
		case !t.TrustEmail && slices.Contains(emailFields, f):
			errs = append(errs, FieldError{"mapping.field", fmt.Sprintf("%s's %s is maintained by the company's administrators and not verified with the user: map on a user id, or set trust_email: true if your administrators keep it right", typ, f)})
		case !t.TrustMobile && slices.Contains(mobileFields, f):
			errs = append(errs, FieldError{"mapping.field", fmt.Sprintf("%s's %s is maintained by the company's administrators and not verified with the user: map on a user id, or set trust_mobile: true if your administrators keep it right", typ, f)})
		}
	}
	return errs
}
