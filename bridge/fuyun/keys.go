package fuyun

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// MinKeyBits is the smallest RSA modulus accepted for signing or verifying Fuyun JWTs.
const MinKeyBits = 2048

// Errors that key parsing wraps, so callers can tell the mistakes apart with errors.Is.
var (
	ErrKeyEmpty        = errors.New("no key data")                         // empty or blank input
	ErrKeyGarbage      = errors.New("neither PEM nor base64 DER key data") // not a key in any accepted form
	ErrKeyEncrypted    = errors.New("key is encrypted with a passphrase")  // the bridge cannot prompt for one
	ErrKeyNotRSA       = errors.New("key is not an RSA key")               // EC, Ed25519, …: Fuyun needs RS256
	ErrKeyTooSmall     = errors.New("RSA key is too small")                // under MinKeyBits
	ErrKeyWrongKind    = errors.New("wrong kind of key")                   // public for private, certificate, …
	ErrKeyUnknownBlock = errors.New("unsupported PEM block type")          // e.g. OPENSSH PRIVATE KEY
)

// ParsePrivateKey reads an RSA private key in any of the forms integrators hold one: a PKCS#8 "PRIVATE KEY"
// PEM, a PKCS#1 "RSA PRIVATE KEY" PEM, or the bare base64 DER (PKCS#8 or PKCS#1) that Fuyun's guide shows,
// with any whitespace or line breaks. Public keys, certificates, non-RSA keys, keys under 2048 bits and
// passphrase-protected keys are refused with an error saying which.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	der, blockType, err := decodeKeyData(data)
	if err != nil {
		return nil, fmt.Errorf("fuyun: private key: %w", err)
	}
	var key any
	switch blockType {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(der)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(der)
	case "":
		key, err = parseBarePrivateDER(der)
	default:
		err = privateBlockError(blockType)
	}
	if err != nil {
		return nil, fmt.Errorf("fuyun: private key: %w", err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("fuyun: private key: %w (got %s); Fuyun's JWT mode needs RS256", ErrKeyNotRSA, keyTypeName(key))
	}
	if err := checkSize(rsaKey.N.BitLen()); err != nil {
		return nil, fmt.Errorf("fuyun: private key: %w", err)
	}
	if err := rsaKey.Validate(); err != nil {
		return nil, fmt.Errorf("fuyun: private key: inconsistent RSA key: %w", err)
	}
	return rsaKey, nil
}

// ParsePublicKey reads an RSA public key: a PKIX "PUBLIC KEY" PEM, a PKCS#1 "RSA PUBLIC KEY" PEM, or the
// one-line base64 DER pasted in Fuyun's developer portal (whitespace ignored). Private keys, certificates,
// non-RSA keys and keys under 2048 bits are refused with an error saying which.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	der, blockType, err := decodeKeyData(data)
	if err != nil {
		return nil, fmt.Errorf("fuyun: public key: %w", err)
	}
	var key any
	switch blockType {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(der)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(der)
	case "":
		key, err = parseBarePublicDER(der)
	default:
		err = publicBlockError(blockType)
	}
	if err != nil {
		return nil, fmt.Errorf("fuyun: public key: %w", err)
	}
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("fuyun: public key: %w (got %s); Fuyun's JWT mode needs RS256", ErrKeyNotRSA, keyTypeName(key))
	}
	if err := checkSize(rsaKey.N.BitLen()); err != nil {
		return nil, fmt.Errorf("fuyun: public key: %w", err)
	}
	return rsaKey, nil
}

// LoadPrivateKeyFile reads and parses a private key file (see ParsePrivateKey); errors name the file.
func LoadPrivateKeyFile(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fuyun: read private key: %w", err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// LoadPublicKeyFile reads and parses a public key file (see ParsePublicKey); errors name the file.
func LoadPublicKeyFile(path string) (*rsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fuyun: read public key: %w", err)
	}
	key, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// GenerateKey creates a fresh RSA-2048 key pair for Fuyun's JWT mode.
func GenerateKey() (*rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, MinKeyBits)
	if err != nil {
		return nil, fmt.Errorf("fuyun: generate RSA key: %w", err)
	}
	return key, nil
}

// MarshalPrivateKeyPEM encodes a private key as a PKCS#8 "PRIVATE KEY" PEM block.
func MarshalPrivateKeyPEM(k *rsa.PrivateKey) ([]byte, error) {
	if k == nil {
		return nil, errors.New("fuyun: marshal private key: nil key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("fuyun: marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKeyPEM encodes a public key as a PKIX "PUBLIC KEY" PEM block.
func MarshalPublicKeyPEM(k *rsa.PublicKey) ([]byte, error) {
	der, err := marshalPKIX(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// PublicKeyBase64 returns the one-line base64 of the PKIX DER, the form Fuyun's developer portal asks for.
func PublicKeyBase64(k *rsa.PublicKey) (string, error) {
	der, err := marshalPKIX(k)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

func marshalPKIX(k *rsa.PublicKey) ([]byte, error) {
	if k == nil {
		return nil, errors.New("fuyun: marshal public key: nil key")
	}
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, fmt.Errorf("fuyun: marshal public key: %w", err)
	}
	return der, nil
}

// decodeKeyData returns the DER bytes and the PEM block type, or "" as the type for bare base64 DER.
func decodeKeyData(data []byte) (der []byte, blockType string, err error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, "", ErrKeyEmpty
	}
	if bytes.Contains(trimmed, []byte("-----BEGIN")) {
		block, _ := pem.Decode(trimmed)
		if block == nil {
			return nil, "", fmt.Errorf("%w: a PEM header is present but the block does not decode (truncated or damaged)", ErrKeyGarbage)
		}
		if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, "", fmt.Errorf("%w; remove the passphrase first (openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem)", ErrKeyEncrypted)
		}
		return block.Bytes, block.Type, nil
	}
	// The portal and Fuyun's demo carry keys as base64 wrapped at arbitrary widths, sometimes pasted with spaces.
	compact := strings.Join(strings.Fields(string(trimmed)), "")
	der, err = base64.StdEncoding.DecodeString(compact)
	if err != nil {
		der, err = base64.RawStdEncoding.DecodeString(compact)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: expected a PEM block or base64 DER", ErrKeyGarbage)
	}
	return der, "", nil
}

func parseBarePrivateDER(der []byte) (any, error) {
	if key, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return key, nil
	}
	if key, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return key, nil
	}
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return nil, fmt.Errorf("%w (got an EC private key); Fuyun's JWT mode needs RS256", ErrKeyNotRSA)
	}
	if isPublicDER(der) {
		return nil, fmt.Errorf("%w: this is a public key; a private key is expected", ErrKeyWrongKind)
	}
	if _, err := x509.ParseCertificate(der); err == nil {
		return nil, fmt.Errorf("%w: this is a certificate; a private key is expected", ErrKeyWrongKind)
	}
	return nil, fmt.Errorf("%w: base64 decodes but is not a PKCS#8 or PKCS#1 private key", ErrKeyGarbage)
}

func parseBarePublicDER(der []byte) (any, error) {
	if key, err := x509.ParsePKIXPublicKey(der); err == nil {
		return key, nil
	}
	if key, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return key, nil
	}
	if isPrivateDER(der) {
		return nil, fmt.Errorf("%w: this is a private key; give the public key (and never share the private one)", ErrKeyWrongKind)
	}
	if _, err := x509.ParseCertificate(der); err == nil {
		return nil, fmt.Errorf("%w: this is a certificate; extract its public key (openssl x509 -pubkey -noout -in CERT)", ErrKeyWrongKind)
	}
	return nil, fmt.Errorf("%w: base64 decodes but is not a PKIX or PKCS#1 public key", ErrKeyGarbage)
}

func isPublicDER(der []byte) bool {
	if _, err := x509.ParsePKIXPublicKey(der); err == nil {
		return true
	}
	_, err := x509.ParsePKCS1PublicKey(der)
	return err == nil
}

func isPrivateDER(der []byte) bool {
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(der)
	return err == nil
}

func privateBlockError(blockType string) error {
	switch {
	case blockType == "PUBLIC KEY" || blockType == "RSA PUBLIC KEY":
		return fmt.Errorf("%w: this is a public key (%s); a private key is expected", ErrKeyWrongKind, blockType)
	case blockType == "CERTIFICATE":
		return fmt.Errorf("%w: this is a certificate; a private key is expected", ErrKeyWrongKind)
	case blockType == "OPENSSH PRIVATE KEY":
		return fmt.Errorf("%w %q: convert it with ssh-keygen -p -m PKCS8 -f KEY", ErrKeyUnknownBlock, blockType)
	case strings.HasSuffix(blockType, "PRIVATE KEY"), blockType == "EC PARAMETERS": // EC, DSA, …
		return fmt.Errorf("%w (got %q); Fuyun's JWT mode needs RS256", ErrKeyNotRSA, blockType)
	}
	return fmt.Errorf("%w %q: want PRIVATE KEY or RSA PRIVATE KEY", ErrKeyUnknownBlock, blockType)
}

func publicBlockError(blockType string) error {
	switch {
	case strings.HasSuffix(blockType, "PRIVATE KEY"):
		return fmt.Errorf("%w: this is a private key (%s); give the public key (and never share the private one)", ErrKeyWrongKind, blockType)
	case blockType == "CERTIFICATE":
		return fmt.Errorf("%w: this is a certificate; extract its public key (openssl x509 -pubkey -noout -in CERT)", ErrKeyWrongKind)
	}
	return fmt.Errorf("%w %q: want PUBLIC KEY or RSA PUBLIC KEY", ErrKeyUnknownBlock, blockType)
}

func checkSize(bits int) error {
	if bits < MinKeyBits {
		return fmt.Errorf("%w: %d bits, at least %d required", ErrKeyTooSmall, bits, MinKeyBits)
	}
	return nil
}

func keyTypeName(key any) string {
	switch key.(type) {
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "an ECDSA key"
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "an Ed25519 key"
	}
	return fmt.Sprintf("%T", key)
}
