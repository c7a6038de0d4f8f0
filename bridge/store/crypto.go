package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// keyring seals tenant secrets with AES-256-GCM. The first key seals; every key opens. A sealed value records
// the id of the key that sealed it, and the tenant id is the additional data, so a ciphertext copied into
// another tenant's row does not open.
type keyring struct {
	keys []ringKey
}

type ringKey struct {
	id   string // hex of the first 8 bytes of SHA-256(key)
	aead cipher.AEAD
}

func newKeyring(raw [][]byte) (*keyring, error) {
	if len(raw) == 0 {
		return nil, errors.New("store: EncryptionKeys is empty: at least one 32-byte key is needed to seal tenant secrets")
	}
	k := &keyring{}
	for i, key := range raw {
		if len(key) != 32 {
			return nil, fmt.Errorf("store: EncryptionKeys[%d] is %d bytes, not 32 (AES-256)", i, len(key))
		}
		id := KeyID(key)
		for j, prev := range k.keys {
			if prev.id == id {
				return nil, fmt.Errorf("store: EncryptionKeys[%d] repeats EncryptionKeys[%d]", i, j)
			}
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("store: EncryptionKeys[%d]: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("store: EncryptionKeys[%d]: %w", i, err)
		}
		k.keys = append(k.keys, ringKey{id: id, aead: aead})
	}
	return k, nil
}

// KeyID is the id recorded beside every ciphertext sealed under key: the hex of the first 8 bytes of its
// SHA-256. Operators can match it against the secrets_key column to see which rows a key still opens.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// current is the id of the key that seals.
func (k *keyring) current() string { return k.keys[0].id }

// seal encrypts plaintext for tenant under the first key with a fresh random nonce: nonce || ciphertext.
func (k *keyring) seal(tenant string, plaintext []byte) (keyID string, sealed []byte) {
	key := k.keys[0]
	nonce := make([]byte, key.aead.NonceSize())
	rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	return key.id, key.aead.Seal(nonce, nonce, plaintext, []byte(tenant))
}

// open decrypts what seal produced for the same tenant under the key named keyID.
func (k *keyring) open(tenant, keyID string, sealed []byte) ([]byte, error) {
	for _, key := range k.keys {
		if key.id != keyID {
			continue
		}
		n := key.aead.NonceSize()
		if len(sealed) < n {
			return nil, fmt.Errorf("%w: tenant %q: ciphertext too short", ErrDecrypt, tenant)
		}
		plain, err := key.aead.Open(nil, sealed[:n], sealed[n:], []byte(tenant))
		if err != nil {
			return nil, fmt.Errorf("%w: tenant %q: does not authenticate under key %s", ErrDecrypt, tenant, keyID)
		}
		return plain, nil
	}
	return nil, fmt.Errorf("%w: tenant %q: key %s is not in the keyring", ErrDecrypt, tenant, keyID)
}
