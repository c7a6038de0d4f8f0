package templates

import (
	"strconv"
	"strings"
)

// Language tags the pages are written in.
const (
	LangEN = "en"
	LangZH = "zh-CN"
)

// maxLanguageRanges bounds the work spent on a hostile Accept-Language header;
// real browsers send a handful of ranges.
const maxLanguageRanges = 32

// Negotiate picks the page language: "zh-CN" or "en".
//
// langParam is the value of the ?lang= query parameter (r.URL.Query().Get("lang"));
// when it names a language we have (zh, zh-cn, zh-hans, zh-CN → zh-CN; en, en-US … → en)
// it wins, otherwise it is ignored and Accept-Language decides, with q-values
// honoured (ties go to the range listed first; a specific range overrides "*").
//
// Every Chinese tag, including zh-TW, zh-HK and zh-Hant, is served zh-CN: the
// Fuyun console itself is Simplified Chinese and a Traditional-Chinese reader
// reads Simplified far more easily than English. No match, or a header that
// cannot be parsed, gives "en".
func Negotiate(langParam, acceptLanguage string) string {
	if lang, ok := supported(strings.TrimSpace(langParam)); ok {
		return lang
	}
	return negotiateHeader(acceptLanguage)
}

// Match returns the page language that serves one language tag (zh-TW → zh-CN, en-GB → en), and whether
// there is one; for lists that are not an Accept-Language header, such as OIDC's ui_locales.
func Match(tag string) (string, bool) { return supported(strings.TrimSpace(tag)) }

// supported maps a language tag to the page language that serves it.
func supported(tag string) (string, bool) {
	tag = strings.ToLower(strings.ReplaceAll(tag, "_", "-"))
	switch {
	case tag == "zh" || strings.HasPrefix(tag, "zh-"):
		return LangZH, true
	case tag == "en" || strings.HasPrefix(tag, "en-"):
		return LangEN, true
	}
	return "", false
}

// negotiateHeader applies RFC 9110 §12.5.4 Accept-Language to our two languages.
func negotiateHeader(header string) string {
	type score struct {
		q     float64
		pos   int
		found bool
	}
	var (
		scores   = map[string]*score{LangEN: {}, LangZH: {}}
		wildcard = score{}
	)
	ranges := strings.Split(header, ",")
	if len(ranges) > maxLanguageRanges {
		ranges = ranges[:maxLanguageRanges]
	}
	for pos, r := range ranges {
		tag, q, ok := parseRange(r)
		if !ok {
			continue
		}
		if tag == "*" {
			if !wildcard.found {
				wildcard = score{q: q, pos: pos, found: true}
			}
			continue
		}
		lang, ok := supported(tag)
		if !ok {
			continue
		}
		// Of several ranges for one language (zh-CN;q=0.9, zh-TW;q=0.5) the best counts.
		if s := scores[lang]; !s.found || q > s.q {
			*s = score{q: q, pos: pos, found: true}
		}
	}
	best, bestScore := LangEN, score{}
	// Fixed order so that equal wildcard-only scores fall back to English.
	for _, lang := range []string{LangEN, LangZH} {
		s := *scores[lang]
		if !s.found {
			s = wildcard
		}
		if s.q > bestScore.q || (s.q == bestScore.q && s.q > 0 && s.pos < bestScore.pos) {
			best, bestScore = lang, s
		}
	}
	return best
}

// parseRange reads one "tag;q=0.8" element; ok is false for anything malformed.
func parseRange(s string) (tag string, q float64, ok bool) {
	parts := strings.Split(s, ";")
	tag = strings.TrimSpace(parts[0])
	if tag == "" || len(tag) > 35 || !isRangeTag(tag) {
		return "", 0, false
	}
	q = 1
	for _, p := range parts[1:] {
		name, value, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || v < 0 || v > 1 {
			return "", 0, false
		}
		q = v
	}
	return tag, q, true
}

// isRangeTag accepts "*" and alphanumeric subtags joined by "-" (or "_", which some clients send).
func isRangeTag(tag string) bool {
	if tag == "*" {
		return true
	}
	for _, sub := range strings.FieldsFunc(tag, func(r rune) bool { return r == '-' || r == '_' }) {
		for _, r := range sub {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
				return false
			}
		}
	}
	return !strings.HasPrefix(tag, "-") && !strings.HasSuffix(tag, "-") && !strings.Contains(tag, "--")
}

// Messages is the message table of one language. The zero value is English.
type Messages struct {
	lang string
}

// Catalog returns the messages for lang; tags other than Chinese fall back to English.
func Catalog(lang string) Messages {
	if l, ok := supported(lang); ok {
		return Messages{lang: l}
	}
	return Messages{lang: LangEN}
}

// Lang is the language tag the messages are written in ("en" or "zh-CN").
func (m Messages) Lang() string {
	if m.lang == "" {
		return LangEN
	}
	return m.lang
}

func (m Messages) ui() map[string]string {
	if m.lang == LangZH {
		return uiZH
	}
	return uiEN
}

func (m Messages) errs() map[string]errorText {
	if m.lang == LangZH {
		return errorsZH
	}
	return errorsEN
}

// T returns the text for key; a missing key comes back as the key itself so that
// it shows up in tests and screenshots instead of as a blank.
func (m Messages) T(key string) string {
	if s, ok := m.ui()[key]; ok {
		return s
	}
	return key
}

// Tf returns T(key) with each {name} placeholder replaced; args alternate name, value.
func (m Messages) Tf(key string, args ...string) string {
	s := m.T(key)
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+args[i]+"}", args[i+1])
	}
	return s
}

// Split returns T(key) cut around its {name} placeholder, so a template can wrap
// the value in markup (for example <strong>) while the sentence order stays the
// translator's.
func (m Messages) Split(key, name string) []string {
	before, after, _ := strings.Cut(m.T(key), "{"+name+"}")
	return []string{before, after}
}

// Duration renders a number of seconds as a rounded, human duration ("30 days", "30 天").
func (m Messages) Duration(seconds int64) string {
	const (
		minute = 60
		hour   = 60 * minute
		day    = 24 * hour
	)
	n, unit := seconds, "second"
	switch {
	case seconds >= 2*day:
		n, unit = (seconds+day/2)/day, "day"
	case seconds >= 2*hour:
		n, unit = (seconds+hour/2)/hour, "hour"
	case seconds >= 2*minute:
		n, unit = (seconds+minute/2)/minute, "minute"
	case seconds < 0:
		n = 0
	}
	key := "duration." + unit + "s"
	if n == 1 {
		key = "duration." + unit
	}
	return m.Tf(key, "n", strconv.FormatInt(n, 10))
}

// ErrorTitle is the short heading for an error code; unknown codes get a generic title.
func (m Messages) ErrorTitle(code string) string { return m.errorText(code).title }

// ErrorMessage says what went wrong for an error code; unknown codes get a generic sentence.
func (m Messages) ErrorMessage(code string) string { return m.errorText(code).message }

// ErrorHint says what the agent can do, or what to ask an administrator, for an error code.
func (m Messages) ErrorHint(code string) string { return m.errorText(code).hint }

func (m Messages) errorText(code string) errorText {
	if t, ok := m.errs()[code]; ok {
		return t
	}
	return m.errs()[genericError]
}

// ErrorCodes lists every error code that has its own texts, in a stable order.
func ErrorCodes() []string {
	return append([]string(nil), errorCodes...)
}

// errorText is what the error page says about one code.
type errorText struct{ title, message, hint string }

// genericError keys the text shown for codes without their own entry.
const genericError = ""

// errorCodes is the order ErrorCodes reports; a test keeps it in step with the tables.
var errorCodes = []string{
	// bridge
	"unknown_provider", "invalid_request", "state_missing", "state_mismatch", "state_expired",
	"idp_error", "invalid_return_to", "cookie_too_large", "internal_error", "not_found",
	// providers
	"issuer_mismatch", "idp_unavailable", "idp_token_failed", "id_token_missing", "id_token_invalid",
	"nonce_mismatch", "userinfo_failed", "userinfo_sub_mismatch", "tenant_not_allowed", "invalid_token",
	// mapping
	"mapping_missing", "mapping_unverified", "mapping_domain_not_allowed", "mapping_not_in_table",
	"mapping_invalid", "mapping_claim_not_allowed",
	// fuyun
	"fuyun_rejected", "fuyun_unavailable",
	// embedded login
	"embed_origin_not_allowed", "handoff_invalid", "cross_origin_request",
	// platform mode
	"tenant_not_found", "tenant_changed", "tenant_unavailable", "unknown_domain", "rate_limited",
}
