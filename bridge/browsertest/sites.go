package browsertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// Sites is a throw-away certificate authority and one certificate for a set of host names (for example
// "crm.example.test" and "bridge.other.test"), so that tests can serve real HTTPS sites that Chromium
// treats as different sites. Chromium trusts the certificate by its SPKI hash; nothing is installed.
type Sites struct {
	// TLS serves the certificate; use it as http.Server.TLSConfig.
	TLS *tls.Config
	// Pool trusts the test CA, for Go clients.
	Pool *x509.CertPool
	// SPKI is base64(SHA-256(SubjectPublicKeyInfo)) of the certificate, as Chromium's
	// --ignore-certificate-errors-spki-list wants it.
	SPKI  string
	hosts []string
}

// NewSites makes a CA and a certificate valid for hosts (DNS names; wildcards such as "*.example.test"
// allowed) and for 127.0.0.1.
func NewSites(hosts ...string) (*Sites, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fuyun-bridge test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("test CA: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("test certificate: %w", err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &Sites{
		TLS: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key, Leaf: leaf}},
			MinVersion:   tls.VersionTLS12,
		},
		Pool:  pool,
		SPKI:  base64.StdEncoding.EncodeToString(sum[:]),
		hosts: hosts,
	}, nil
}

// ChromiumFlags trust the certificate (by SPKI, nothing else) and resolve every *.test name to
// 127.0.0.1; other names fail, except localhost and 127.0.0.1 themselves.
func (s *Sites) ChromiumFlags() []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("ignore-certificate-errors-spki-list", s.SPKI),
		HostResolverRules("MAP *.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
	}
}

// HostResolverRules is Chromium's --host-resolver-rules flag.
func HostResolverRules(rules string) chromedp.ExecAllocatorOption {
	return chromedp.Flag("host-resolver-rules", strings.TrimSpace(rules))
}
