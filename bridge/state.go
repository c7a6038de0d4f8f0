package bridge

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// stateTTL is how long a started login may take: 10 minutes.
const stateTTL = 10 * time.Minute

// Login-state cookie names. Behind TLS the cookie is `__Host-fb_login`: browsers accept that name only with
// Secure, Path=/ and no Domain, from a secure origin, so a sibling subdomain or a network attacker before
// HSTS cannot plant a state obtained in the attacker's own login (cookie tossing, login CSRF). Over plain
// http (dev, loopback tests) no prefix is possible and the name is `fb_login`.
const (
	stateCookieSecure   = "__Host-fb_login"
	stateCookieInsecure = "fb_login"
)

// maxLoginStates bounds the logins one browser can have started and not finished. A further /login evicts
// the oldest, so no page, however many times it makes the browser start a login, can grow the bridge's
// cookies beyond one cookie of at most maxCookieBytes (a header flood would end in HTTP 431, or in the
// browser evicting AC_TOKEN to make room).
const maxLoginStates = 5

// loginState is what the bridge remembers between /login and /callback, in an encrypted, authenticated,
// HttpOnly, SameSite=Lax cookie — no server-side storage, so any replica can finish any login. It is sealed
// as compact JSON (short keys keep the cookie small; JSON costs a third of gob's time and allocations).
type loginState struct {
	State        string `json:"s"`
	Nonce        string `json:"n"`
	CodeVerifier string `json:"v"`
	Provider     string `json:"p"`
	ReturnTo     string `json:"r,omitempty"`
	Mode         string `json:"m"`
	// HandoffNonce is SHA-256 of the nonce that an /embed iframe generated (base64url); popup mode only.
	HandoffNonce string `json:"h,omitempty"`
	// StartedUnix is when /login ran (Unix seconds); Started reads it.
	StartedUnix int64 `json:"t"`
	// Tenant is the platform-mode tenant the login started at ("" for the configuration file's company): a
	// login finishes only where it started.
	Tenant string `json:"a,omitempty"`
	// Fingerprint is the tenant's route fingerprint at /login (see Route.fingerprint): a callback after a change
	// to what the login depends on fails with tenant_changed rather than finish half on the old settings.
	Fingerprint string `json:"f,omitempty"`
}

// Started is when the login began.
func (ls *loginState) Started() time.Time { return time.Unix(ls.StartedUnix, 0) }

// stateStore keeps the login states of one browser in one gorilla/sessions cookie: the most recent
// maxLoginStates logins, oldest evicted first, as long as the whole Set-Cookie fits in maxCookieBytes. One
// cookie holding several states (not one cookie per login) keeps parallel logins in several tabs apart while
// bounding what a page can make the browser store. The first key pair signs and encrypts; all pairs verify,
// so session keys can be rotated without breaking logins in flight.
type stateStore struct {
	store  *sessions.CookieStore
	name   string
	secure bool
	now    func() time.Time
}

func newStateStore(keyPairs [][]byte, secure bool, now func() time.Time) (*stateStore, error) {
	if len(keyPairs) == 0 || len(keyPairs)%2 != 0 {
		return nil, errors.New("session keys: need hash/block key pairs")
	}
	for i, k := range keyPairs {
		if i%2 == 0 && len(k) < 32 {
			return nil, fmt.Errorf("session key pair %d: hash key must be at least 32 bytes", i/2+1)
		}
		if i%2 == 1 && len(k) != 32 {
			return nil, fmt.Errorf("session key pair %d: block key must be 32 bytes (AES-256)", i/2+1)
		}
	}
	st := sessions.NewCookieStore(keyPairs...)
	// MaxAge also bounds the signed timestamp inside the cookie, so an old cookie replayed by hand is refused
	// even if the browser kept it. Each state inside carries its own start time, checked on take.
	st.MaxAge(int(stateTTL / time.Second))
	// Path=/ so that /login (which adds a state) and /callback (which takes one) see the same cookie; the
	// __Host- prefix requires it too.
	st.Options.Path = "/"
	st.Options.HttpOnly = true
	st.Options.Secure = secure
	st.Options.SameSite = http.SameSiteLaxMode
	for _, c := range st.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(securecookie.JSONEncoder{})
			sc.MaxLength(0) // the size is checked on the whole Set-Cookie below, and on read before decoding
		}
	}
	name := stateCookieInsecure
	if secure {
		name = stateCookieSecure
	}
	return &stateStore{store: st, name: name, secure: secure, now: now}, nil
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+): it panics rather than return short
	return base64.RawURLEncoding.EncodeToString(b)
}

// stateValid reports whether s looks like a state this bridge generated (32 random bytes, base64url).
func stateValid(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// errStateTooLarge means a single login state does not fit in one cookie: only a long return_to can do that.
var errStateTooLarge = errors.New("the login state does not fit in one browser cookie")

// save adds ls to the browser's login states and writes the cookie: the newest states first, as many as
// fit in maxLoginStates and maxCookieBytes. A state that does not fit even alone is errStateTooLarge, so
// that /login refuses at once what would otherwise fail at the callback as an expired session.
func (s *stateStore) save(w http.ResponseWriter, r *http.Request, ls *loginState) error {
	states := append([]loginState{*ls}, s.load(r)...)
	if len(states) > maxLoginStates {
		states = states[:maxLoginStates]
	}
	for n := len(states); n > 0; n-- {
		c, err := s.cookie(states[:n])
		if errors.Is(err, errStateTooLarge) {
			continue
		}
		if err != nil {
			return err
		}
		http.SetCookie(w, c)
		return nil
	}
	return errStateTooLarge
}

// cookie seals states into the login-state cookie, or errStateTooLarge when the Set-Cookie would exceed
// maxCookieBytes (the size every browser keeps, attributes included).
func (s *stateStore) cookie(states []loginState) (*http.Cookie, error) {
	// The first codec only: EncodeMulti would fall back to an older key pair if the first failed.
	encoded, err := s.store.Codecs[0].Encode(s.name, states)
	if err != nil {
		return nil, fmt.Errorf("sealing login state: %w", err)
	}
	c := sessions.NewCookie(s.name, encoded, s.store.Options)
	if len(c.String()) > maxCookieBytes {
		return nil, errStateTooLarge
	}
	return c, nil
}

// load returns the browser's login states, newest first; a missing, forged or expired cookie yields none.
func (s *stateStore) load(r *http.Request) []loginState {
	states, err := s.decode(r)
	if err != nil {
		return nil
	}
	return s.live(states)
}

// errNoStateCookie means the request carries no login-state cookie at all.
var errNoStateCookie = errors.New("no login-state cookie")

// decode authenticates and decrypts the request's login-state cookie.
func (s *stateStore) decode(r *http.Request) ([]loginState, error) {
	c, err := r.Cookie(s.name)
	if err != nil {
		return nil, errNoStateCookie
	}
	if len(c.Value) > maxCookieBytes {
		return nil, fmt.Errorf("login-state cookie of %d bytes is larger than the bridge ever sets", len(c.Value))
	}
	var states []loginState
	if err := securecookie.DecodeMulti(s.name, c.Value, &states, s.store.Codecs...); err != nil {
		return nil, err
	}
	return states, nil
}

// live drops states past their lifetime (or from a clock far ahead) and any beyond maxLoginStates.
func (s *stateStore) live(states []loginState) []loginState {
	now := s.now()
	out := states[:0]
	for _, ls := range states {
		if age := now.Sub(ls.Started()); age <= stateTTL && age >= -time.Minute && len(out) < maxLoginStates {
			out = append(out, ls)
		}
	}
	return out
}

// take finds and removes the login state named by the callback's state parameter, rewriting the cookie with
// the others (or deleting it): a state is good for one callback only. The returned error is a loginError
// with a stable code.
func (s *stateStore) take(w http.ResponseWriter, r *http.Request, state string) (*loginState, error) {
	if !stateValid(state) {
		return nil, failf(CodeStateMismatch, errors.New("state parameter is not one this bridge issues"))
	}
	states, err := s.decode(r)
	if errors.Is(err, errNoStateCookie) {
		return nil, failf(CodeStateMissing, errors.New("no login-state cookie (expired, already used, or another browser)"))
	}
	if err != nil {
		s.clear(w)
		return nil, failf(CodeStateMissing, fmt.Errorf("login-state cookie rejected: %w", err))
	}
	found := -1
	for i := range states {
		// Compare every entry in constant time, so the position of a match leaks nothing.
		if subtle.ConstantTimeCompare([]byte(states[i].State), []byte(state)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, failf(CodeStateMismatch, fmt.Errorf("state parameter is none of the %d login(s) this browser started (forged, already used, or evicted by %d newer logins)", len(states), maxLoginStates))
	}
	ls := states[found]
	rest := s.live(append(states[:found:found], states[found+1:]...))
	// Rewrite before any other check: whatever happens next, this state cannot be used again.
	if len(rest) == 0 {
		s.clear(w)
	} else if c, err := s.cookie(rest); err == nil {
		http.SetCookie(w, c)
	} else {
		s.clear(w)
	}
	if ls.Nonce == "" || ls.CodeVerifier == "" || ls.Provider == "" {
		return nil, failf(CodeStateMismatch, errors.New("login-state cookie is incomplete"))
	}
	if age := s.now().Sub(ls.Started()); age > stateTTL || age < -time.Minute {
		return nil, failf(CodeStateExpired, fmt.Errorf("login started %s ago; the limit is %s", age.Round(time.Second), stateTTL))
	}
	return &ls, nil
}

// clear deletes the login-state cookie; it must carry the attributes the cookie was set with.
func (s *stateStore) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}
