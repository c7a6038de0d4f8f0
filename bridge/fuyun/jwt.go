package fuyun

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// DefaultJWTTTL is the lifetime of a subject JWT when NewSigner is given no TTL: long enough for clock skew
// and a retried exchange, short enough that a leaked token is soon useless.
const DefaultJWTTTL = 5 * time.Minute

// MaxJWTTTL is the longest subject-JWT lifetime NewSigner accepts; the emulator refuses tokens expiring later.
const MaxJWTTTL = 24 * time.Hour

// Signer mints the RS256 subject JWTs of Fuyun's JWT mode. It is safe for concurrent use; build it once at
// start-up, since the key and the go-jose signer are prepared here rather than per login.
type Signer struct {
	issuer string
	ttl    time.Duration
	signer jose.Signer
}

// subjectClaims is the payload Fuyun reads: exp and iat are NumericDates, in seconds.
type subjectClaims struct {
	Issuer   string `json:"iss"`
	UserName string `json:"user_name"`
	Expiry   int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	ID       string `json:"jti"`
}

// NewSigner prepares a Signer for issuer (the integrator's site, sent as both iss and subject_issuer).
// ttl 0 means DefaultJWTTTL; keyID, when set, becomes the JWT header's kid.
func NewSigner(key *rsa.PrivateKey, issuer string, ttl time.Duration, keyID string) (*Signer, error) {
	if key == nil {
		return nil, errors.New("fuyun: signer: no private key")
	}
	if err := checkSize(key.N.BitLen()); err != nil {
		return nil, fmt.Errorf("fuyun: signer: %w", err)
	}
	if strings.TrimSpace(issuer) == "" {
		return nil, errors.New("fuyun: signer: issuer is empty; use the site registered in Fuyun's developer portal")
	}
	switch {
	case ttl == 0:
		ttl = DefaultJWTTTL
	case ttl < time.Second:
		return nil, fmt.Errorf("fuyun: signer: ttl %s is too short (at least 1s)", ttl)
	case ttl > MaxJWTTTL:
		return nil, fmt.Errorf("fuyun: signer: ttl %s is longer than %s; subject JWTs should live minutes", ttl, MaxJWTTTL)
	}
	signingKey := jose.SigningKey{Algorithm: jose.RS256, Key: key}
	if keyID != "" {
		signingKey.Key = jose.JSONWebKey{Key: key, KeyID: keyID}
	}
	signer, err := jose.NewSigner(signingKey, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("fuyun: signer: %w", err)
	}
	return &Signer{issuer: issuer, ttl: ttl, signer: signer}, nil
}

// Issuer is the iss claim and the subject_issuer parameter of JWT-mode exchanges.
func (s *Signer) Issuer() string { return s.issuer }

// Sign mints one subject JWT for the agent userName (their Fuyun AccountName), valid from now for the
// signer's TTL, with a fresh random jti; a zero now means time.Now().
func (s *Signer) Sign(userName string, now time.Time) (string, error) {
	if strings.TrimSpace(userName) == "" {
		return "", errors.New("fuyun: sign: user name is empty")
	}
	if now.IsZero() {
		now = time.Now()
	}
	jti, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("fuyun: sign: jti: %w", err)
	}
	payload, err := json.Marshal(subjectClaims{
		Issuer:   s.issuer,
		UserName: userName,
		Expiry:   now.Add(s.ttl).Unix(),
		IssuedAt: now.Unix(),
		ID:       jti.String(),
	})
	if err != nil {
		return "", fmt.Errorf("fuyun: sign: %w", err)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("fuyun: sign: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("fuyun: sign: %w", err)
	}
	return token, nil
}

// AccessClaims is the payload of a Fuyun access token.
type AccessClaims struct {
	Issuer   string   `json:"iss"`
	UserName string   `json:"user_name"`
	JTI      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Expiry   int64    `json:"exp"`
	Scope    []string `json:"scope"`
}

// accessTokenAlgs lists what a Fuyun access token may plausibly be signed with; Claims decodes without
// verifying, so this only keeps go-jose's parser from refusing an unexpected but harmless header.
var accessTokenAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// Claims decodes the access token's payload WITHOUT verifying its signature or expiry: use it for display
// and logging (user_name, exp, scope), never to decide who someone is. Only Fuyun verifies its own tokens.
func (t *Token) Claims() (*AccessClaims, error) {
	tok, err := jwt.ParseSigned(t.AccessToken, accessTokenAlgs)
	if err != nil {
		return nil, fmt.Errorf("fuyun: access token is not a JWT: %w", err)
	}
	var c AccessClaims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return nil, fmt.Errorf("fuyun: access token claims: %w", err)
	}
	return &c, nil
}
