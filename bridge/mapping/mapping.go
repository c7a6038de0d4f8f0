// Package mapping turns an identity provider's claims into the Fuyun account name the bridge asks a token for
// (`mapping:`). The result becomes a JWT user_name, so every rule here fails closed.
//
// Map applies, in this order:
//
//  0. Required claims (RequireClaims): each listed claim must hold (as a string or an integer) one of its listed
//     values exactly, e.g. Salesforce's organization_id or Google's hd → else CodeClaimNotAllowed. An integer is
//     compared as its digits, exactly as the IdP wrote them (a 19-digit organisation id is never rounded).
//  1. Selection: Field, then Fallbacks in order; the first path whose value is a non-blank string or a number
//     wins. null, booleans, objects and arrays do not count and the next path is tried. Nothing usable →
//     CodeMissing. Numbers arrive as json.Number (the providers decode with UseNumber): an integer, e.g. a
//     user_id or a phone sent as a JSON number, is used with exactly its digits. A number that is not an
//     integer literal (1.5, 1e3), or a float64 whose digits may already be rounded, fails closed: as the chosen
//     value it is CodeInvalid (not skipped for the next fallback), as a require_claims value it matches nothing
//     (CodeClaimNotAllowed). Guessing its digits could name another agent or organisation.
//     Once a value is chosen, a failure of any later step is final: the next fallback is not tried, so an
//     unverified or foreign email cannot silently fall through to a weaker claim.
//  2. Shape: valid UTF-8, at most 256 bytes, no control or invisible formatting characters (Unicode Cc, Cf),
//     else CodeInvalid.
//  3. Verification (RequireVerified, default true), decided by the chosen path's last segment: one containing
//     "email" needs the top-level claim email_verified; one containing "phone" or "mobile" needs the claim at
//     the same path plus "_verified" (phone_number → phone_number_verified, address.phone →
//     address.phone_verified). Accepted: boolean true or the string "true" (some IdPs send strings); anything
//     else → CodeUnverified. Other claims (sub, upn, preferred_username, user_id, …) have no such notion and pass.
//  4. AllowedDomains, on the raw value before the transform (strip_domain would remove the domain): the value
//     must hold exactly one "@" with text on both sides, and the part after it must equal a listed domain
//     (ASCII case-insensitive, no suffix matching) → else CodeDomainNotAllowed. A second "@" is refused because a
//     quoted local part such as "bob@other.com"@corp.example.com would otherwise pass as corp.example.com.
//  5. Transform: none; lowercase (trim spaces, then fold A–Z only: Unicode folding would turn U+212A KELVIN
//     SIGN into k and U+0130 into i, so a look-alike could become an ASCII agent); strip_domain (the part before the "@"; a value
//     without "@" is kept, one with several is CodeInvalid; New refuses it without AllowedDomains, or
//     alice@any-domain would become the agent alice); e164 (drop spaces, '-', '.', '(' and ')', turn a
//     leading "00" into "+", then require "+" and 8–15 digits not starting with 0). e164 never guesses a
//     country code: a national number such as "030 1234567" is CodeInvalid, not "+4930…".
//  6. Accounts table (AccountsFile), looked up with the transformed value → else CodeNotInTable. Without a
//     table the transformed IdP value is itself the account, so it must be an identifier that cannot pass for
//     another → else CodeInvalid: no code point PRECIS IdentifierClass (RFC 8264) disallows (full-width and
//     other compatibility forms, default-ignorable code points, old Hangul jamo fillers, spaces), unchanged
//     by NFC (which turns U+212A into K), and letters of one script or of a combination Unicode TR39 "highly
//     restrictive" allows (Latin+Han+Hiragana+Katakana, Latin+Han+Bopomofo, Latin+Han+Hangul; Common and
//     Inherited ignored), so Cyrillic "а" + Latin "lice" is refused. ASCII emails, phone numbers, digits and
//     names such as 张三 pass. A table's accounts are the administrator's and are not checked this way.
package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error codes shared by the error page, the JSON error, the log line and the metric.
const (
	CodeMissing          = "mapping_missing"
	CodeUnverified       = "mapping_unverified"
	CodeDomainNotAllowed = "mapping_domain_not_allowed"
	CodeNotInTable       = "mapping_not_in_table"
	CodeInvalid          = "mapping_invalid"
	CodeClaimNotAllowed  = "mapping_claim_not_allowed"
)

// maxValueLen bounds an account name; it ends up in a JWT claim and in log lines.
const maxValueLen = 256

// maxPathLen bounds a configured field path.
const maxPathLen = 256

// Options carries Mapper dependencies that tests replace.
type Options struct {
	// ReadFile loads AccountsFile; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Mapper maps claims to an account name under one provider's validated mapping Config.
type Mapper struct {
	fields          []string
	transform       transformFunc
	requireVerified bool
	domains         []string          // lowercase
	accounts        map[string]string // transformed idp value → account; nil when there is no table
	required        []ClaimRule
	pinsSubject     bool
}

// Result is a successful mapping.
type Result struct {
	// Account is the Fuyun account name to request a token for.
	Account string
	// Field is the path that supplied the value (Field or one of the Fallbacks).
	Field string
	// Value is the IdP value after the transform (the accounts-table key when a table is used).
	Value string
}

// Error is a mapping refusal with a stable Code; Msg is safe to show (it never holds the claims map).
type Error struct {
	Code  string
	Field string
	Value string
	Msg   string
}

// Error returns the human-readable message.
func (e *Error) Error() string { return e.Msg }

// ErrorCode returns the Code of a mapping *Error in err's chain, or "" if there is none.
func ErrorCode(err error) string {
	var me *Error
	if errors.As(err, &me) {
		return me.Code
	}
	return ""
}

type transformFunc func(string) (string, error)

// transforms is the immutable table of Config.Transform names; "" is the YAML default, none.
var transforms = map[string]transformFunc{
	"":             transformNone,
	"none":         transformNone,
	"lowercase":    transformLowercase,
	"strip_domain": transformStripDomain,
	"e164":         transformE164,
}

// Transforms lists the names Config.Transform accepts, for configuration checks and help texts.
func Transforms() []string {
	var names []string
	for name := range transforms {
		if name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// New validates cfg and loads its accounts table, so that a bad mapping fails start-up, never a login.
func New(cfg Config, opts Options) (*Mapper, error) {
	tf, ok := transforms[cfg.Transform]
	if !ok {
		return nil, fmt.Errorf("mapping: unknown transform %q (want none, lowercase, strip_domain or e164)", cfg.Transform)
	}
	if cfg.Field == "" {
		return nil, errors.New("mapping: field is required")
	}
	if cfg.Transform == "strip_domain" && len(cfg.AllowedDomains) == 0 {
		// An accounts table does not help: it is keyed by the stripped value.
		return nil, errors.New("mapping: strip_domain needs allowed_domains: without them alice@any-domain maps to the same agent as alice@yours")
	}
	m := &Mapper{
		fields:          append([]string{cfg.Field}, cfg.Fallbacks...),
		transform:       tf,
		requireVerified: cfg.RequireVerified == nil || *cfg.RequireVerified,
	}
	for _, f := range m.fields {
		if err := checkPath(f); err != nil {
			return nil, fmt.Errorf("mapping: field %q: %w", f, err)
		}
	}
	for _, r := range cfg.RequireClaims {
		if err := checkPath(r.Claim); err != nil {
			return nil, fmt.Errorf("mapping: require_claims claim %q: %w", r.Claim, err)
		}
		if len(r.Values) == 0 || slices.Contains(r.Values, "") {
			return nil, fmt.Errorf("mapping: require_claims %q: list at least one value, none empty", r.Claim)
		}
		m.required = append(m.required, ClaimRule{Claim: r.Claim, Values: slices.Clone(r.Values)})
	}
	for _, d := range cfg.AllowedDomains {
		if err := checkDomain(d); err != nil {
			return nil, fmt.Errorf("mapping: allowed_domains %q: %w", d, err)
		}
		m.domains = append(m.domains, asciiLower(d))
	}
	if cfg.Accounts != "" {
		what := "accounts"
		if cfg.AccountsFile != "" {
			what = "accounts_file " + cfg.AccountsFile // read into Accounts by the configuration
		}
		var err error
		if m.accounts, err = parseAccounts([]byte(cfg.Accounts), tf); err != nil {
			return nil, fmt.Errorf("mapping: %s: %w", what, err)
		}
	} else if cfg.AccountsFile != "" {
		read := opts.ReadFile
		if read == nil {
			read = os.ReadFile
		}
		data, err := read(cfg.AccountsFile)
		if err != nil {
			return nil, fmt.Errorf("mapping: accounts_file: %w", err)
		}
		m.accounts, err = parseAccounts(data, tf)
		if err != nil {
			return nil, fmt.Errorf("mapping: accounts_file %s: %w", cfg.AccountsFile, err)
		}
	}
	m.pinsSubject = m.accounts != nil && len(m.fields) == 1 && m.fields[0] == "sub" &&
		(cfg.Transform == "" || cfg.Transform == "none")
	return m, nil
}

// PinsSubject reports whether only users listed by their exact subject can map: an accounts table looked up
// with the sub claim, untransformed, without fallbacks. An IdP's sub is unique per user (Microsoft's per user
// and app), so nobody of another organisation can present a listed one, whatever their other claims say.
func (m *Mapper) PinsSubject() bool { return m.pinsSubject }

// RestrictsDomains reports whether the mapping lists allowed_domains.
func (m *Mapper) RestrictsDomains() bool { return len(m.domains) > 0 }

// AllowsDomain reports whether an address of domain may map: it is in allowed_domains (ASCII case folded), or
// the mapping lists none.
func (m *Mapper) AllowsDomain(domain string) bool {
	return len(m.domains) == 0 || slices.Contains(m.domains, asciiLower(domain))
}

// checkPath refuses paths Lookup could never match: empty segments ("a..b", ".a", "a.") and
// whitespace or control characters.
func checkPath(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	if len(p) > maxPathLen {
		return fmt.Errorf("longer than %d bytes", maxPathLen)
	}
	if !utf8.ValidString(p) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range p {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("contains %q", r)
		}
	}
	for seg := range strings.SplitSeq(p, ".") {
		if seg == "" {
			return errors.New(`empty segment (a path is "name" or "a.b.c")`)
		}
	}
	return nil
}

// checkDomain accepts a plain ASCII host name ("corp.example.com"); wildcards and "@corp…" are refused
// because matching is exact.
func checkDomain(d string) error {
	if d == "" {
		return errors.New("empty domain")
	}
	for label := range strings.SplitSeq(asciiLower(d), ".") {
		if label == "" {
			return errors.New("empty label (no leading, trailing or double dots)")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("contains %q; write a plain domain such as corp.example.com (punycode for IDNs)", c)
			}
		}
	}
	return nil
}

// Map picks, checks and transforms the account value from claims (see the package comment for the rules).
// Every refusal is an *Error.
func (m *Mapper) Map(claims map[string]any) (*Result, error) {
	for _, r := range m.required {
		v, _ := Lookup(claims, r.Claim)
		got, ok, err := scalarString(v)
		if !ok {
			return nil, m.refuse(CodeClaimNotAllowed, r.Claim, "", "the identity provider sent no %s, and only listed values may sign in", r.Claim)
		}
		if err != nil {
			return nil, m.refuse(CodeClaimNotAllowed, r.Claim, "", "%s %v, and only listed values may sign in", r.Claim, err)
		}
		if !slices.Contains(r.Values, got) {
			return nil, m.refuse(CodeClaimNotAllowed, r.Claim, got, "%s %s is not one of the allowed values", r.Claim, short(got))
		}
	}
	field, raw, ok, err := m.pick(claims)
	if !ok {
		return nil, &Error{Code: CodeMissing, Msg: fmt.Sprintf("none of the claims %s holds a usable value", quoteList(m.fields))}
	}
	if err != nil {
		return nil, m.refuse(CodeInvalid, field, "", "%s %v", field, err)
	}
	if err := checkValue(raw); err != nil {
		return nil, m.refuse(CodeInvalid, field, raw, "%s %s: %v", field, short(raw), err)
	}
	if m.requireVerified {
		if vc := verificationClaim(field); vc != "" {
			if v, _ := Lookup(claims, vc); v != true && v != "true" {
				return nil, m.refuse(CodeUnverified, field, raw, "%s %s is not verified by the identity provider (%s is not true)", field, short(raw), vc)
			}
		}
	}
	if len(m.domains) > 0 {
		d, ok := emailDomain(raw)
		if !ok {
			return nil, m.refuse(CodeDomainNotAllowed, field, raw, "%s %s is not an email address, but allowed domains are set (%s)", field, short(raw), strings.Join(m.domains, ", "))
		}
		if !slices.Contains(m.domains, d) {
			return nil, m.refuse(CodeDomainNotAllowed, field, raw, "%s %s is not in an allowed domain (%s)", field, short(raw), strings.Join(m.domains, ", "))
		}
	}
	value, err := m.transform(raw)
	if err == nil {
		err = checkValue(value)
	}
	if err != nil {
		return nil, m.refuse(CodeInvalid, field, raw, "%s %s: %v", field, short(raw), err)
	}
	account := value
	if m.accounts != nil {
		if account, ok = m.accounts[value]; !ok {
			return nil, m.refuse(CodeNotInTable, field, value, "%s %s is not in the accounts table", field, short(value))
		}
	} else if err := checkIdentifier(value); err != nil {
		return nil, m.refuse(CodeInvalid, field, raw, "%s %s: %v", field, short(raw), err)
	}
	return &Result{Account: account, Field: field, Value: value}, nil
}

// Satisfied reports whether claims alone hold everything Map needs: every require_claims claim, the field's own
// value (not a fallback's: another source might hold the field) and, when verification is required, its
// verification claim as true. A provider may then skip a second source of claims (userinfo).
func (m *Mapper) Satisfied(claims map[string]any) bool {
	usable := func(path string) bool {
		v, _ := Lookup(claims, path)
		_, ok, err := scalarString(v)
		return ok && err == nil
	}
	for _, r := range m.required {
		if !usable(r.Claim) {
			return false
		}
	}
	if !usable(m.fields[0]) {
		return false
	}
	if vc := verificationClaim(m.fields[0]); m.requireVerified && vc != "" {
		if v, _ := Lookup(claims, vc); v != true && v != "true" {
			return false
		}
	}
	return true
}

func (m *Mapper) refuse(code, field, value, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Value: truncate(value), Msg: fmt.Sprintf(format, args...)}
}

// pick returns the first field whose value counts (see scalarString); err means that value is refused.
func (m *Mapper) pick(claims map[string]any) (field, value string, ok bool, err error) {
	for _, f := range m.fields {
		v, present := Lookup(claims, f)
		if !present {
			continue
		}
		if s, ok, err := scalarString(v); ok {
			return f, s, true, err
		}
	}
	return "", "", false, nil
}

// scalarString turns a usable claim value into a string: a non-blank string, or an integer written with
// exactly its digits. ok is false for values that do not count (null, booleans, objects, arrays, blank
// strings). err refuses a number whose digits are not exact: a json.Number that is not a plain integer
// literal (1.5, 1e3) and any float, which may already have rounded the IdP's digits away.
func scalarString(v any) (s string, ok bool, err error) {
	switch x := v.(type) {
	case string:
		return x, strings.TrimSpace(x) != "", nil
	case json.Number:
		if !isIntegerLiteral(string(x)) {
			return "", true, fmt.Errorf("is the number %s, which is not an integer; only integers are exact account values", truncate(string(x)))
		}
		return string(x), true, nil
	case float32, float64:
		return "", true, errors.New("is a floating-point number whose digits may be rounded (claims must be decoded with json.Number)")
	case int:
		return strconv.FormatInt(int64(x), 10), true, nil
	case int8:
		return strconv.FormatInt(int64(x), 10), true, nil
	case int16:
		return strconv.FormatInt(int64(x), 10), true, nil
	case int32:
		return strconv.FormatInt(int64(x), 10), true, nil
	case int64:
		return strconv.FormatInt(x, 10), true, nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), true, nil
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true, nil
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true, nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true, nil
	case uint64:
		return strconv.FormatUint(x, 10), true, nil
	}
	return "", false, nil
}

// isIntegerLiteral reports whether s is a JSON integer: an optional "-" and digits, no fraction or exponent.
func isIntegerLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// checkValue enforces the shape of anything that may become a user_name.
func checkValue(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("is empty")
	}
	if len(v) > maxValueLen {
		return fmt.Errorf("is longer than %d bytes", maxValueLen)
	}
	if !utf8.ValidString(v) {
		return errors.New("is not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("contains the control or formatting character %U", r)
		}
	}
	return nil
}

// verificationClaim names the claim that must be true before field's value is trusted, or "" if field has
// no notion of verification.
func verificationClaim(field string) string {
	last := strings.ToLower(field[strings.LastIndexByte(field, '.')+1:])
	switch {
	case strings.Contains(last, "email"):
		return "email_verified"
	case strings.Contains(last, "phone") || strings.Contains(last, "mobile"):
		return field + "_verified"
	}
	return ""
}

// emailDomain returns the lowercase domain of a value with exactly one "@" and text on both sides.
func emailDomain(v string) (string, bool) {
	local, domain, ok := strings.Cut(strings.TrimSpace(v), "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", false
	}
	return asciiLower(domain), true
}

func transformNone(v string) (string, error) { return v, nil }

func transformLowercase(v string) (string, error) { return asciiLower(strings.TrimSpace(v)), nil }

func transformStripDomain(v string) (string, error) {
	v = strings.TrimSpace(v)
	local, _, ok := strings.Cut(v, "@")
	if !ok {
		return v, nil
	}
	if strings.Count(v, "@") > 1 {
		return "", errors.New(`has more than one "@"`)
	}
	if local == "" {
		return "", errors.New(`has nothing before the "@"`)
	}
	return local, nil
}

func transformE164(v string) (string, error) {
	var b strings.Builder
	for _, r := range v {
		switch r {
		case ' ', '-', '.', '(', ')':
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	if rest, ok := strings.CutPrefix(s, "00"); ok {
		s = "+" + rest
	}
	if !isE164(s) {
		return "", errors.New(`is not an international phone number ("+" and 8–15 digits; no country code is assumed)`)
	}
	return s, nil
}

func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Lookup reads a dotted path from claims. At each level the remaining path is first tried as one literal key,
// so URL-named claims such as "https://example.com/claims/phone" (which contain dots) work at the top level
// or below; only then is the path split at its first dot and the walk continues in the nested object.
// Only map[string]any counts as an object. The bool reports presence, even of a null value.
func Lookup(claims map[string]any, path string) (any, bool) {
	cur := claims
	for {
		if v, ok := cur[path]; ok {
			return v, true
		}
		head, rest, ok := strings.Cut(path, ".")
		if !ok {
			return nil, false
		}
		next, ok := cur[head].(map[string]any)
		if !ok {
			return nil, false
		}
		cur, path = next, rest
	}
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// truncate keeps error values and messages short: an IdP may send kilobytes in a claim.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func short(s string) string { return strconv.Quote(truncate(s)) }
