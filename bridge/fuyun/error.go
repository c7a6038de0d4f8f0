package fuyun

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Sentinel causes carried in Error.Err when Fuyun answered but the answer is unusable.
var (
	ErrResponseTooLarge = errors.New("response body too large") // over MaxResponseBytes
	ErrMalformedReply   = errors.New("malformed response")      // success status without a usable token
)

// Error is a failed token exchange: Fuyun refused it, answered something unusable, or could not be reached.
type Error struct {
	StatusCode  int    // HTTP status of the last attempt; 0 when no HTTP answer arrived
	Code        string // OAuth error code from the body ("invalid_grant", …), or ""
	Description string // error_description, or a sanitised summary of a non-JSON body
	Attempts    int    // how many requests were sent
	Err         error  // underlying transport or decoding error, if any
}

// Error describes the failure for logs and operators; it never contains secrets or tokens.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fuyun: token exchange failed")
	switch {
	case e.StatusCode != 0:
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	default:
		b.WriteString(": no HTTP answer")
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap exposes the underlying cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether Fuyun was unreachable or failing (transport error, timeout, 5xx) rather than
// refusing the request (4xx) or answering nonsense; the bridge shows fuyun_unavailable or fuyun_rejected.
func (e *Error) Temporary() bool {
	switch {
	case e.StatusCode == 0, e.StatusCode >= 500:
		return true
	case e.Err != nil && !errors.Is(e.Err, ErrResponseTooLarge) && !errors.Is(e.Err, ErrMalformedReply):
		return true // the body broke off mid-read
	}
	return false
}

// maxSummary bounds how much of a foreign body an error carries.
const maxSummary = 200

// jwtLike matches compact JWS/JWT strings, so a server echoing a token back cannot smuggle it into logs.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?`)

// sanitize makes remote text safe to log: the given secrets and anything JWT-shaped are redacted, control
// characters dropped, and the result truncated.
func sanitize(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) < 4 { // shorter strings would mangle ordinary words and reveal nothing
			continue
		}
		// A server echoing the request body shows the form-encoded spelling.
		s = strings.ReplaceAll(s, secret, "[redacted]")
		s = strings.ReplaceAll(s, url.QueryEscape(secret), "[redacted]")
	}
	s = jwtLike.ReplaceAllString(s, "[token]")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r) || r == unicode.ReplacementChar:
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxSummary {
		cut := maxSummary
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
