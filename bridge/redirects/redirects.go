// Package redirects decides where the bridge may send a browser after login or logout.
//
// Open redirects are the classic bug in this place, so the checks are deliberately narrower than what a
// URL parser accepts: a target is either
//
//   - a relative path on the bridge itself, starting with exactly one "/", or
//   - an absolute http(s) URL whose origin is in the allow-list (or is the bridge's own origin).
//
// Everything is compared on printable ASCII only: any byte outside 0x21–0x7e (controls, space, DEL,
// raw non-ASCII such as "。" or a full-width slash) is refused rather than normalised, because browsers and
// servers normalise such bytes in different ways and that difference is what redirect bypasses exploit.
// Internationalised host names must therefore be given in their punycode ("xn--") form.
package redirects

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ErrNotAllowed is wrapped by every refusal of Check, so callers can tell a bad target from a bug.
var ErrNotAllowed = errors.New("redirect target not allowed")

// MaxLength is the longest target Check accepts, in bytes.
const MaxLength = 2048

// AllowList holds the origins a browser may be sent to; build it once with New at start-up.
type AllowList struct {
	entries []origin
}

// origin is a normalised scheme, host and effective port; wildcard entries keep the base domain in host.
type origin struct {
	scheme   string
	host     string // lowercase ASCII; IPv6 without brackets
	port     string // always explicit: "443" for https without a port
	wildcard bool   // "*.host": one or more labels below host, never host itself
}

// New validates the configured allow-list and adds the bridge's own origin (self), which is always allowed.
//
// Entries are origins only: scheme://host[:port], optionally with one trailing "/". A wildcard may only
// be the whole leftmost label ("https://*.example.com") and must sit above a domain of at least two labels,
// so "*.com" is refused (the list cannot know about public suffixes such as "co.uk"; do not configure those).
// Plain http is accepted only for loopback hosts (localhost, 127.0.0.0/8, ::1) so that a production list
// cannot send tokens over clear text by mistake.
func New(allowed []string, self *url.URL) (*AllowList, error) {
	if self == nil {
		return nil, errors.New("redirects: the bridge's public URL is required")
	}
	selfOrigin, err := parseOrigin(strings.ToLower(self.Scheme) + "://" + self.Host)
	if err != nil {
		return nil, fmt.Errorf("redirects: public URL %q: %w", self.Redacted(), err)
	}
	a := &AllowList{entries: []origin{selfOrigin}}
	for i, raw := range allowed {
		o, err := parseEntry(raw)
		if err != nil {
			return nil, fmt.Errorf("redirects: allowed[%d] %q: %w", i, raw, err)
		}
		a.entries = append(a.entries, o)
	}
	return a, nil
}

func parseEntry(raw string) (origin, error) {
	if err := checkChars(raw); err != nil {
		return origin{}, err
	}
	s := strings.TrimSuffix(raw, "/")
	wildcard := false
	if scheme, rest, ok := strings.Cut(s, "://"); ok && strings.HasPrefix(rest, "*.") {
		wildcard = true
		s = scheme + "://" + rest[2:]
	}
	if strings.Contains(s, "*") {
		return origin{}, errors.New(`a wildcard may only be the whole leftmost label, as in "https://*.example.com"`)
	}
	o, err := parseOrigin(s)
	if err != nil {
		return origin{}, err
	}
	if wildcard {
		labels := strings.Split(o.host, ".")
		if net.ParseIP(o.host) != nil || len(labels) < 2 || isNumeric(labels[len(labels)-1]) {
			return origin{}, errors.New("a wildcard needs a domain of at least two labels below it")
		}
		o.wildcard = true
	}
	if o.scheme == "http" && (wildcard || !isLoopback(o.host)) {
		return origin{}, errors.New("http is only allowed for loopback hosts (localhost, 127.0.0.1, [::1]); use https")
	}
	return o, nil
}

// parseOrigin reads exactly "scheme://host[:port]" by hand: origins are simple enough that a strict
// reader is easier to trust than url.Parse's leniency (userinfo, empty hosts, escapes).
func parseOrigin(s string) (origin, error) {
	scheme, hostport, ok := strings.Cut(s, "://")
	if !ok {
		return origin{}, errors.New(`want an origin "scheme://host[:port]"`)
	}
	scheme = strings.ToLower(scheme)
	if scheme != "https" && scheme != "http" {
		return origin{}, fmt.Errorf("scheme %q is not http or https", scheme)
	}
	if strings.ContainsAny(hostport, `/?#@\%`) {
		return origin{}, errors.New("an origin has no path, query, fragment, user info or escapes")
	}
	hostport = strings.ToLower(hostport)
	var host, port string
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return origin{}, errors.New("unclosed IPv6 literal")
		}
		host = hostport[1:end]
		after := hostport[end+1:]
		if after != "" && after[0] != ':' {
			return origin{}, errors.New("junk after IPv6 literal")
		}
		port = strings.TrimPrefix(after, ":")
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return origin{}, fmt.Errorf("%q is not an IPv6 address", host)
		}
	} else {
		host, port, _ = strings.Cut(hostport, ":")
		if err := checkHostName(host); err != nil {
			return origin{}, err
		}
	}
	switch {
	case port == "" && scheme == "https":
		port = "443"
	case port == "":
		port = "80"
	default:
		// Leading zeros and signs are refused rather than normalised: ":0443" is 443 to a browser.
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return origin{}, fmt.Errorf("invalid port %q", port)
		}
	}
	return origin{scheme: scheme, host: host, port: port}, nil
}

// checkHostName accepts lowercase LDH labels only; it refuses empty labels, which covers
// "crm.example.com." (a trailing dot names the same host but escapes exact matching) and "a..b".
func checkHostName(host string) error {
	if host == "" {
		return errors.New("empty host")
	}
	if len(host) > 253 {
		return errors.New("host name too long")
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q has an empty or over-long label (trailing dots are refused)", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q contains %q; only letters, digits, '-' and punycode are allowed", host, c)
			}
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (a *AllowList) allows(o origin) bool {
	for _, e := range a.entries {
		if e.scheme != o.scheme || e.port != o.port {
			continue
		}
		if e.wildcard {
			// The leading dot is what keeps "evilexample.com" out of "*.example.com"; checkHostName has
			// already guaranteed the part before it is one or more non-empty labels.
			if strings.HasSuffix(o.host, "."+e.host) {
				return true
			}
			continue
		}
		if e.host == o.host {
			return true
		}
	}
	return false
}

// AllowsOrigin reports whether a bare origin ("https://crm.example.com", as in an Origin header or a
// postMessage target) matches the allow-list; anything with a path, user info or a bad host is false.
func (a *AllowList) AllowsOrigin(originStr string) bool {
	if checkChars(originStr) != nil {
		return false
	}
	o, err := parseOrigin(originStr)
	return err == nil && a.allows(o)
}

// Check returns the target the browser may be redirected to, or an error wrapping ErrNotAllowed.
// An empty raw gives "", nil so that the caller can pick its default. Relative targets are returned as
// given and resolve against the bridge itself; absolute ones come back with scheme and host lowercased.
func (a *AllowList) Check(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	if len(raw) > MaxLength {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrNotAllowed, MaxLength)
	}
	if err := checkChars(raw); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotAllowed, err)
	}
	if raw[0] == '/' {
		if err := checkRelative(raw); err != nil {
			return "", fmt.Errorf("%w: %w", ErrNotAllowed, err)
		}
		return raw, nil
	}
	target, err := a.checkAbsolute(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotAllowed, err)
	}
	return target, nil
}

// checkChars refuses anything but printable ASCII, backslashes (browsers read "\" as "/" in http(s) URLs,
// Go does not) and percent escapes that are malformed or decode to a control character (header
// injection once some layer decodes them).
func checkChars(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= ' ' || c >= 0x7f:
			return fmt.Errorf("control, space or non-ASCII byte 0x%02x at offset %d", c, i)
		case c == '\\':
			return fmt.Errorf("backslash at offset %d", i)
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return fmt.Errorf("malformed percent escape at offset %d", i)
			}
			if b := unhex(s[i+1])<<4 | unhex(s[i+2]); b < 0x20 || b == 0x7f {
				return fmt.Errorf("percent-encoded control character at offset %d", i)
			}
		}
	}
	return nil
}

// checkRelative accepts "/path[?query][#fragment]". In the path (where a decode could create "//" and
// turn the path into a host) it refuses "//", dot segments and the escapes %2F, %5C, %2E and %25 (the
// last against double decoding). Escaped slashes are still fine in the query, where "next=%2Fhome" is
// common and cannot change which host the browser goes to.
func checkRelative(raw string) error {
	if strings.HasPrefix(raw, "//") {
		return errors.New(`a relative target must start with a single "/"`)
	}
	path := raw
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		path = raw[:i]
	}
	if strings.Contains(path, "//") {
		return errors.New(`"//" in the path`)
	}
	lower := strings.ToLower(path)
	for _, esc := range []string{"%2f", "%5c", "%2e", "%25"} {
		if strings.Contains(lower, esc) {
			return fmt.Errorf("escaped %q in the path", esc)
		}
	}
	for seg := range strings.SplitSeq(path[1:], "/") {
		if seg == "." || seg == ".." {
			return errors.New("dot segment in the path")
		}
	}
	// Defence in depth against a parser disagreement: the result must still look relative to Go.
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("unparseable: %w", err)
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return errors.New("not a plain path")
	}
	return nil
}

// checkAbsolute requires a literal "http://" or "https://": forms such as "https:evil.com" or
// "https:/evil.com" are read by browsers as https://evil.com but by Go as a path, so they are refused.
func (a *AllowList) checkAbsolute(raw string) (string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") {
		return "", errors.New(`not a relative path ("/…") or an http(s) URL`)
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if strings.Contains(authority, "@") {
		return "", errors.New("user info in the URL")
	}
	o, err := parseOrigin(scheme + "://" + authority)
	if err != nil {
		return "", err
	}
	if !a.allows(o) {
		return "", fmt.Errorf("origin %s://%s is not in the allow-list", o.scheme, authority)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("unparseable: %w", err)
	}
	// Our own reading of the authority and Go's must agree, or a parser differential is in play.
	if u.User != nil || u.Opaque != "" || !strings.EqualFold(u.Host, authority) {
		return "", errors.New("ambiguous URL")
	}
	u.Scheme = scheme
	u.Host = strings.ToLower(u.Host)
	return u.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
