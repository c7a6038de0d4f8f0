// Package apikeys issues and checks the API keys that CRM backends present to POST /api/v1/token.
//
// A key is "fbk_<id>.<secret>": the id names the key in logs and in the keys file, the secret is 32 random
// bytes in unpadded base64url. The keys file holds one line per key, "<id>:sha256:<hex SHA-256 of the whole
// key>", with blank lines and # comments allowed, so the bridge stores no usable key.
//
// SHA-256 rather than a password hash (argon2, scrypt, bcrypt): those are slow on purpose, to make guessing a
// low-entropy password from a leaked hash expensive. A 256-bit random secret cannot be guessed at any hash
// speed, so slowness would buy nothing and would only turn each API request into a CPU cost an attacker
// controls.
package apikeys

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Prefix starts every key, so that secret scanners and people recognise one.
const Prefix = "fbk_"

// secretBytes is the entropy of a key's secret part.
const secretBytes = 32

// hashScheme names the hash in the keys file, leaving room for another one later.
const hashScheme = "sha256"

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ValidID reports whether id can name a key: 1–32 of [A-Za-z0-9_-].
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Generate makes a new key with the given id and returns it with the line to add to the keys file.
func Generate(id string) (key, line string, err error) {
	if !ValidID(id) {
		return "", "", fmt.Errorf("key id %q: want 1-32 of A-Z a-z 0-9 _ -", id)
	}
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	key = Prefix + id + "." + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	return key, id + ":" + hashScheme + ":" + hex.EncodeToString(sum[:]), nil
}

// IDOf returns the id part of a presented key, or false when it does not have the shape of a key.
func IDOf(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, Prefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, ".")
	if !ok || !ValidID(id) || secret == "" {
		return "", false
	}
	return id, true
}

// Set is the parsed keys file.
type Set struct {
	hashes map[string][sha256.Size]byte
}

// Len is the number of keys.
func (s *Set) Len() int { return len(s.hashes) }

// Verify checks a presented key and returns its id. The hash comparison is constant-time; an unknown id is
// compared against a dummy hash so that it takes the same path.
func (s *Set) Verify(key string) (id string, ok bool) {
	id, shaped := IDOf(key)
	want, known := s.hashes[id]
	got := sha256.Sum256([]byte(key))
	match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	if !shaped || !known || !match {
		return "", false
	}
	return id, true
}

// Load reads a keys file.
func Load(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads keys-file lines from r; name is used in error messages, which quote line numbers and ids
// only, never a line's hash.
func Parse(r io.Reader, name string) (*Set, error) {
	s := &Set{hashes: map[string][sha256.Size]byte{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) != 3 {
			if strings.HasPrefix(line, Prefix) {
				return nil, fmt.Errorf("%s line %d: this looks like a key itself; store the line that 'fuyun-bridge apikey' prints instead", name, n)
			}
			return nil, fmt.Errorf("%s line %d: want <id>:%s:<64 hex digits>", name, n, hashScheme)
		}
		id, scheme, digest := parts[0], parts[1], parts[2]
		if !ValidID(id) {
			return nil, fmt.Errorf("%s line %d: key id must be 1-32 of A-Z a-z 0-9 _ -", name, n)
		}
		if scheme != hashScheme {
			return nil, fmt.Errorf("%s line %d (key %s): unknown hash %q (want %s)", name, n, id, scheme, hashScheme)
		}
		raw, err := hex.DecodeString(digest)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("%s line %d (key %s): the hash must be 64 hex digits", name, n, id)
		}
		if _, dup := s.hashes[id]; dup {
			return nil, fmt.Errorf("%s line %d: key id %s is used twice", name, n, id)
		}
		var h [sha256.Size]byte
		copy(h[:], raw)
		s.hashes[id] = h
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// errNoKey is returned by FromHeader when the request carries no bearer credentials.
var errNoKey = errors.New("no API key: send Authorization: Bearer <key>")

// FromHeader extracts the key from an Authorization header value ("Bearer <key>").
func FromHeader(v string) (string, error) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return "", errNoKey
	}
	return strings.TrimSpace(key), nil
}
