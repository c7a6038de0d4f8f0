package fuyun_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
)

// wrap re-wraps base64 at width with the given line break, as keys get pasted from mails and portals.
func wrap(s string, width int, br string) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width])
		b.WriteString(br)
		s = s[width:]
	}
	b.WriteString(s)
	return b.String()
}

func b64(der []byte) string { return base64.StdEncoding.EncodeToString(der) }

func TestParsePrivateKeyAcceptedForms(t *testing.T) {
	key := rsaKey()
	p8 := pkcs8DER(t, key)
	p1 := x509.MarshalPKCS1PrivateKey(key)
	cases := []struct {
		name string
		data []byte
	}{
		{"PKCS#8 PEM", pemOf(t, "PRIVATE KEY", p8)},
		{"PKCS#1 PEM", pemOf(t, "RSA PRIVATE KEY", p1)},
		{"PEM with CRLF and surrounding blanks", []byte("\r\n  " + strings.ReplaceAll(string(pemOf(t, "PRIVATE KEY", p8)), "\n", "\r\n") + "\r\n\n")},
		{"PEM after openssl bag attributes", append([]byte("Bag Attributes\n    localKeyID: 01 02\n"), pemOf(t, "PRIVATE KEY", p8)...)},
		{"bare base64 PKCS#8 one line", []byte(b64(p8))},
		{"bare base64 PKCS#8 wrapped at 64 with LF", []byte(wrap(b64(p8), 64, "\n") + "\n")},
		{"bare base64 PKCS#8 wrapped at 76 with CRLF and tabs", []byte("\t" + wrap(b64(p8), 76, "\r\n\t") + " ")},
		{"bare base64 PKCS#8 with spaces inside", []byte(wrap(b64(p8), 10, " "))},
		{"bare base64 PKCS#1", []byte(wrap(b64(p1), 64, "\n"))},
		{"bare base64 without padding", []byte(strings.TrimRight(b64(p8), "="))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fuyun.ParsePrivateKey(tc.data)
			if err != nil {
				t.Fatalf("ParsePrivateKey: %v", err)
			}
			if !got.Equal(key) {
				t.Fatal("parsed key differs from the original")
			}
		})
	}
}

func TestParsePrivateKeyRefusals(t *testing.T) {
	key := rsaKey()
	p8 := pkcs8DER(t, key)
	ecP8 := pkcs8DER(t, ecKey())
	ecSEC1, err := x509.MarshalECPrivateKey(ecKey())
	if err != nil {
		t.Fatal(err)
	}
	encrypted := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key),
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}}
	random := make([]byte, 600)
	_, _ = rand.Read(random)
	full := pemOf(t, "PRIVATE KEY", p8)

	cases := []refusal{
		{"empty", nil, fuyun.ErrKeyEmpty, ""},
		{"only whitespace", []byte(" \r\n\t"), fuyun.ErrKeyEmpty, ""},
		{"public key PEM", pemOf(t, "PUBLIC KEY", pkixDER(t, &key.PublicKey)), fuyun.ErrKeyWrongKind, "public key"},
		{"PKCS#1 public key PEM", pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)), fuyun.ErrKeyWrongKind, "public key"},
		{"bare base64 public key", []byte(b64(pkixDER(t, &key.PublicKey))), fuyun.ErrKeyWrongKind, "public key"},
		{"certificate PEM", pemOf(t, "CERTIFICATE", certForKey()), fuyun.ErrKeyWrongKind, "certificate"},
		{"bare base64 certificate", []byte(b64(certForKey())), fuyun.ErrKeyWrongKind, "certificate"},
		{"EC key PKCS#8 PEM", pemOf(t, "PRIVATE KEY", ecP8), fuyun.ErrKeyNotRSA, "ECDSA"},
		{"EC key SEC1 PEM", pemOf(t, "EC PRIVATE KEY", ecSEC1), fuyun.ErrKeyNotRSA, "EC PRIVATE KEY"},
		{"EC key bare PKCS#8", []byte(b64(ecP8)), fuyun.ErrKeyNotRSA, ""},
		{"EC key bare SEC1", []byte(b64(ecSEC1)), fuyun.ErrKeyNotRSA, ""},
		{"Ed25519 key", pemOf(t, "PRIVATE KEY", pkcs8DER(t, edKey())), fuyun.ErrKeyNotRSA, "Ed25519"},
		{"1024-bit PKCS#8", pemOf(t, "PRIVATE KEY", pkcs8DER(t, smallKey())), fuyun.ErrKeyTooSmall, "1024 bits"},
		{"1024-bit bare PKCS#1", []byte(b64(x509.MarshalPKCS1PrivateKey(smallKey()))), fuyun.ErrKeyTooSmall, "2048"},
		{"legacy encrypted PEM", pem.EncodeToMemory(encrypted), fuyun.ErrKeyEncrypted, "passphrase"},
		{"PKCS#8 encrypted PEM", pemOf(t, "ENCRYPTED PRIVATE KEY", random), fuyun.ErrKeyEncrypted, ""},
		{"OpenSSH key", pemOf(t, "OPENSSH PRIVATE KEY", random), fuyun.ErrKeyUnknownBlock, "ssh-keygen"},
		{"unknown PEM block", pemOf(t, "X509 CRL", random), fuyun.ErrKeyUnknownBlock, ""},
		{"not base64", []byte("this is not a key!"), fuyun.ErrKeyGarbage, ""},
		{"base64 of random bytes", []byte(b64(random)), fuyun.ErrKeyGarbage, ""},
		{"truncated PEM", full[:len(full)/2], fuyun.ErrKeyGarbage, ""},
		{"PEM block with damaged DER", pemOf(t, "PRIVATE KEY", p8[:len(p8)-40]), nil, ""},
	}
	checkRefusals(t, fuyun.ParsePrivateKey, cases)
}

func TestParsePublicKeyAcceptedForms(t *testing.T) {
	key := &rsaKey().PublicKey
	der := pkixDER(t, key)
	p1 := x509.MarshalPKCS1PublicKey(key)
	cases := []struct {
		name string
		data []byte
	}{
		{"PKIX PEM", pemOf(t, "PUBLIC KEY", der)},
		{"PKCS#1 PEM", pemOf(t, "RSA PUBLIC KEY", p1)},
		{"portal one-line base64", []byte(b64(der))},
		{"base64 wrapped with CRLF and spaces", []byte("  " + wrap(b64(der), 64, "\r\n ") + "\n")},
		{"bare base64 PKCS#1", []byte(b64(p1))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fuyun.ParsePublicKey(tc.data)
			if err != nil {
				t.Fatalf("ParsePublicKey: %v", err)
			}
			if !got.Equal(key) {
				t.Fatal("parsed key differs from the original")
			}
		})
	}
}

func TestParsePublicKeyRefusals(t *testing.T) {
	key := rsaKey()
	random := make([]byte, 300)
	_, _ = rand.Read(random)
	cases := []refusal{
		{"empty", []byte("\n"), fuyun.ErrKeyEmpty, ""},
		{"private key PEM", pemOf(t, "PRIVATE KEY", pkcs8DER(t, key)), fuyun.ErrKeyWrongKind, "private key"},
		{"PKCS#1 private key PEM", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), fuyun.ErrKeyWrongKind, "private key"},
		{"bare private key", []byte(b64(pkcs8DER(t, key))), fuyun.ErrKeyWrongKind, "private key"},
		{"certificate PEM", pemOf(t, "CERTIFICATE", certForKey()), fuyun.ErrKeyWrongKind, "openssl x509 -pubkey"},
		{"bare certificate", []byte(b64(certForKey())), fuyun.ErrKeyWrongKind, "certificate"},
		{"EC public key", pemOf(t, "PUBLIC KEY", pkixDER(t, &ecKey().PublicKey)), fuyun.ErrKeyNotRSA, "ECDSA"},
		{"Ed25519 public key", []byte(b64(pkixDER(t, edKey().Public()))), fuyun.ErrKeyNotRSA, "Ed25519"},
		{"1024-bit public key", pemOf(t, "PUBLIC KEY", pkixDER(t, &smallKey().PublicKey)), fuyun.ErrKeyTooSmall, "1024 bits"},
		{"unknown block", pemOf(t, "SSH2 PUBLIC KEY", random), fuyun.ErrKeyUnknownBlock, ""},
		{"garbage", []byte("ssh-rsa AAAA… user@host"), fuyun.ErrKeyGarbage, ""},
		{"base64 of random bytes", []byte(b64(random)), fuyun.ErrKeyGarbage, ""},
	}
	checkRefusals(t, fuyun.ParsePublicKey, cases)
}

// refusal is an input a key parser must refuse: the sentinel its error wraps (nil: any error) and a phrase
// the message carries.
type refusal struct {
	name string
	data []byte
	want error
	hint string
}

func checkRefusals[K any](t *testing.T, parse func([]byte) (*K, error), cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.data)
			if err == nil || got != nil {
				t.Fatalf("got %v, %v; want only an error", got != nil, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %q; want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("error %q does not mention %q", err, tc.hint)
			}
			assertNoKeyMaterial(t, err, tc.data)
		})
	}
}

// assertNoKeyMaterial fails if the error quotes any stretch of the input: a private key must never reach a log.
func assertNoKeyMaterial(t *testing.T, err error, data []byte) {
	t.Helper()
	compact := strings.Join(strings.Fields(string(data)), "")
	msg := err.Error()
	for i := 0; i+24 <= len(compact); i += 12 {
		if chunk := compact[i : i+24]; !strings.HasPrefix(chunk, "-----") && strings.Contains(msg, chunk) {
			t.Fatalf("error quotes the input: %q", msg)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	key := rsaKey()
	privPEM, err := fuyun.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(privPEM); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("private PEM is not a PKCS#8 PRIVATE KEY block:\n%s", privPEM)
	}
	pubPEM, err := fuyun.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(pubPEM); block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("public PEM is not a PKIX PUBLIC KEY block:\n%s", pubPEM)
	}
	line, err := fuyun.PublicKeyBase64(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(line, " \r\n\t") {
		t.Fatalf("portal form is not one line: %q", line)
	}
	if block, _ := pem.Decode(pubPEM); line != b64(block.Bytes) {
		t.Fatal("the one-line form is not the base64 of the PEM's DER")
	}

	gotPriv, err := fuyun.ParsePrivateKey(privPEM)
	if err != nil || !gotPriv.Equal(key) {
		t.Fatalf("private PEM does not parse back: %v", err)
	}
	for _, data := range [][]byte{pubPEM, []byte(line)} {
		gotPub, err := fuyun.ParsePublicKey(data)
		if err != nil || !gotPub.Equal(&key.PublicKey) {
			t.Fatalf("public key does not parse back: %v", err)
		}
	}
	if _, err := fuyun.MarshalPrivateKeyPEM(nil); err == nil {
		t.Fatal("MarshalPrivateKeyPEM(nil) succeeded")
	}
	if _, err := fuyun.PublicKeyBase64(nil); err == nil {
		t.Fatal("PublicKeyBase64(nil) succeeded")
	}
}

func TestGenerateKey(t *testing.T) {
	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if key.N.BitLen() != 2048 {
		t.Fatalf("generated %d bits; want 2048", key.N.BitLen())
	}
}

func TestLoadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	key := rsaKey()
	privPath := filepath.Join(dir, "private.pem")
	pubPath := filepath.Join(dir, "public.txt")
	privPEM, _ := fuyun.MarshalPrivateKeyPEM(key)
	line, _ := fuyun.PublicKeyBase64(&key.PublicKey)
	if err := os.WriteFile(privPath, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubPath, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := fuyun.LoadPrivateKeyFile(privPath); err != nil || !got.Equal(key) {
		t.Fatalf("LoadPrivateKeyFile: %v", err)
	}
	if got, err := fuyun.LoadPublicKeyFile(pubPath); err != nil || !got.Equal(&key.PublicKey) {
		t.Fatalf("LoadPublicKeyFile: %v", err)
	}

	// The wrong file for the job names the file and the mistake.
	_, err := fuyun.LoadPrivateKeyFile(pubPath)
	if !errors.Is(err, fuyun.ErrKeyWrongKind) || !strings.Contains(err.Error(), pubPath) {
		t.Fatalf("loading a public key as private: %v", err)
	}
	_, err = fuyun.LoadPublicKeyFile(privPath)
	if !errors.Is(err, fuyun.ErrKeyWrongKind) || !strings.Contains(err.Error(), privPath) {
		t.Fatalf("loading a private key as public: %v", err)
	}
	missing := filepath.Join(dir, "missing.pem")
	if _, err := fuyun.LoadPrivateKeyFile(missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := fuyun.LoadPublicKeyFile(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestParseMode(t *testing.T) {
	cases := []struct {
		in      string
		want    fuyun.Mode
		wantErr bool
	}{
		{"jwt", fuyun.ModeJWT, false},
		{"oauth", fuyun.ModeOAuth, false},
		{" JWT ", fuyun.ModeJWT, false},
		{"OAuth", fuyun.ModeOAuth, false},
		{"", "", true},
		{"oidc", "", true},
		{"jwt,oauth", "", true},
	}
	for _, tc := range cases {
		got, err := fuyun.ParseMode(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func FuzzParsePrivateKey(f *testing.F) {
	key := rsaKey()
	p8 := pkcs8DER(f, key)
	f.Add(pemOf(f, "PRIVATE KEY", p8))
	f.Add(pemOf(f, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)))
	f.Add([]byte(wrap(b64(p8), 64, "\r\n")))
	f.Add(pemOf(f, "PUBLIC KEY", pkixDER(f, &key.PublicKey)))
	f.Add(pemOf(f, "PRIVATE KEY", pkcs8DER(f, ecKey())))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMII=\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("not a key"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := fuyun.ParsePrivateKey(data)
		if err != nil {
			if got != nil {
				t.Fatal("returned a key together with an error")
			}
			return
		}
		if got.N.BitLen() < fuyun.MinKeyBits {
			t.Fatalf("accepted a %d-bit key", got.N.BitLen())
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("accepted an invalid key: %v", err)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	key := rsaKey()
	der := pkixDER(f, &key.PublicKey)
	f.Add(pemOf(f, "PUBLIC KEY", der))
	f.Add(pemOf(f, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)))
	f.Add([]byte(b64(der)))
	f.Add(pemOf(f, "PRIVATE KEY", pkcs8DER(f, key)))
	f.Add([]byte(b64(certForKey())))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := fuyun.ParsePublicKey(data)
		if err != nil {
			if got != nil {
				t.Fatal("returned a key together with an error")
			}
			return
		}
		if got.N.BitLen() < fuyun.MinKeyBits {
			t.Fatalf("accepted a %d-bit key", got.N.BitLen())
		}
		if block, _ := pem.Decode(bytes.TrimSpace(data)); block != nil && strings.HasSuffix(block.Type, "PRIVATE KEY") {
			t.Fatalf("accepted a %s PEM block as a public key", block.Type)
		}
	})
}
