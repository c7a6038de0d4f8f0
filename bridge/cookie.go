package bridge

import (
	"fmt"
	"net/http"
	"time"
)

// maxCookieBytes is the size browsers guarantee for one cookie (RFC 6265 §6.1: at least 4096 bytes for name,
// value and attributes together). A Fuyun token that does not fit is an error, never a silent truncation.
const maxCookieBytes = 4096

// CookieOptions are the attributes of the AC_TOKEN cookie.
type CookieOptions struct {
	Name        string
	Domain      string
	Secure      bool
	HTTPOnly    bool
	SameSite    http.SameSite
	Partitioned bool
	MaxAge      time.Duration // upper bound; the cookie lives min(MaxAge, Fuyun's expires_in)
}

// lifetime is how long AC_TOKEN lives, in seconds, for a Fuyun token that expires in expiresIn seconds:
// min(MaxAge, expiresIn). It is what the agent is told on the success page.
func (o CookieOptions) lifetime(expiresIn int64) int64 {
	maxAge := int64(o.MaxAge / time.Second)
	if expiresIn > 0 && expiresIn < maxAge {
		maxAge = expiresIn
	}
	return maxAge
}

// tokenCookie builds the AC_TOKEN cookie for a Fuyun access token that expires in expiresIn seconds.
func (o CookieOptions) tokenCookie(token string, expiresIn int64) (*http.Cookie, error) {
	maxAge := o.lifetime(expiresIn)
	if maxAge <= 0 {
		return nil, fmt.Errorf("cookie lifetime is zero (expires_in %d, max_age %s)", expiresIn, o.MaxAge)
	}
	c := o.base()
	c.Value = token
	c.MaxAge = int(maxAge)
	if err := c.Valid(); err != nil {
		return nil, failf(CodeInternal, fmt.Errorf("AC_TOKEN cookie: %w", err))
	}
	if n := len(c.String()); n > maxCookieBytes {
		return nil, failf(CodeCookieTooLarge, fmt.Errorf("AC_TOKEN cookie would be %d bytes; browsers keep at most %d", n, maxCookieBytes))
	}
	return c, nil
}

// clearCookie deletes AC_TOKEN; it must carry the attributes the cookie was set with or browsers keep it.
func (o CookieOptions) clearCookie() *http.Cookie {
	c := o.base()
	c.MaxAge = -1
	return c
}

func (o CookieOptions) base() *http.Cookie {
	return &http.Cookie{
		Name:        o.Name,
		Path:        "/",
		Domain:      o.Domain,
		Secure:      o.Secure,
		HttpOnly:    o.HTTPOnly,
		SameSite:    o.SameSite,
		Partitioned: o.Partitioned,
	}
}
