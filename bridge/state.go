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

// stateTTL is how long a started login may take (SPEC §4: 10 minutes).
const stateTTL = 10 * time.Minute

// stateCookiePrefix names the login-state cookies. Each login has its own cookie, named after a prefix of its
// state, so that parallel logins in several tabs never overwrite each other's state.
const stateCookiePrefix = "fb_login_"

// stateNameLen is how many characters of the state name the cookie; the whole state is still compared.
const stateNameLen = 12

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
}

// Started is when the login began.
func (ls *loginState) Started() time.Time { return time.Unix(ls.StartedUnix, 0) }

// stateStore keeps login states in gorilla/sessions cookies. The first key pair signs and encrypts; all pairs
// verify, so session keys can be rotated without breaking logins in flight.
type stateStore struct {
	store  *sessions.CookieStore
	path   string
	secure bool
	now    func() time.Time
}

func newStateStore(keyPairs [][]byte, path string, secure bool, now func() time.Time) (*stateStore, error) {
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
	// even if the browser kept it.
	st.MaxAge(int(stateTTL / time.Second))
	st.Options.Path = path
	st.Options.HttpOnly = true
	st.Options.Secure = secure
	st.Options.SameSite = http.SameSiteLaxMode
	for _, c := range st.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(securecookie.JSONEncoder{})
		}
	}
	return &stateStore{store: st, path: path, secure: secure, now: now}, nil
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

func cookieNameFor(state string) string { return stateCookiePrefix + state[:stateNameLen] }

// save writes ls as a new cookie on w, sealed with the store's first key pair.
func (s *stateStore) save(w http.ResponseWriter, ls *loginState) error {
	name := cookieNameFor(ls.State)
	encoded, err := securecookie.EncodeMulti(name, ls, s.store.Codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(name, encoded, s.store.Options))
	return nil
}

// take reads and deletes the login state named by the callback's state parameter: a state is good for one
// callback only. The returned error is a loginError with a stable code.
func (s *stateStore) take(w http.ResponseWriter, r *http.Request, state string) (*loginState, error) {
	if !stateValid(state) {
		return nil, failf(CodeStateMismatch, errors.New("state parameter is not one this bridge issues"))
	}
	name := cookieNameFor(state)
	c, err := r.Cookie(name)
	if err != nil {
		return nil, failf(CodeStateMissing, errors.New("no login-state cookie for this state (expired, already used, or another browser)"))
	}
	// Delete first: whatever happens next, this state cannot be used again.
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: s.path, MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})

	ls := &loginState{}
	if err := securecookie.DecodeMulti(name, c.Value, ls, s.store.Codecs...); err != nil {
		return nil, failf(CodeStateMissing, fmt.Errorf("login-state cookie rejected: %w", err))
	}
	if subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) != 1 {
		return nil, failf(CodeStateMismatch, errors.New("state parameter differs from the one this browser started"))
	}
	if ls.Nonce == "" || ls.CodeVerifier == "" || ls.Provider == "" {
		return nil, failf(CodeStateMismatch, errors.New("login-state cookie is incomplete"))
	}
	if age := s.now().Sub(ls.Started()); age > stateTTL || age < -time.Minute {
		return nil, failf(CodeStateExpired, fmt.Errorf("login started %s ago; the limit is %s", age.Round(time.Second), stateTTL))
	}
	return ls, nil
}
