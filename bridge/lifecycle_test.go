package bridge_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

// TestGracefulShutdownFinishesInFlightLogin: SIGTERM (the context ending) while a callback waits on a slow
// Fuyun. New connections are refused at once; the login still completes and sets AC_TOKEN; Serve returns nil.
func TestGracefulShutdownFinishesInFlightLogin(t *testing.T) {
	e := newOpsEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv := e.bridge(t, e.config(t, base, "", ""))
	entered, release := make(chan struct{}), make(chan struct{})
	e.setFuyunHook(func(r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == fuyunsim.TokenPath {
			close(entered)
			<-release
		}
	})
	ctx, sigterm := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- bridge.Serve(ctx, bridge.NewHTTPServer(srv, e.logs2Logger()), ln, "", "", 10*time.Second)
	}()

	type result struct {
		status int
		token  string
	}
	done := make(chan result, 1)
	go func() {
		c := browserClient(t)
		status, _, tok := loginVia(t, c, base, "idp")
		done <- result{status, tok}
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the login never reached Fuyun")
	}
	sigterm()
	// Stop accepting: within a bounded wait, a new connection is refused.
	refused := false
	for i := 0; i < 100 && !refused; i++ {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if !refused {
		t.Error("the listener still accepts connections after shutdown began")
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) while a login was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case r := <-done:
		if r.status != http.StatusOK || r.token == "" {
			t.Errorf("in-flight login ended %d with token %v", r.status, r.token != "")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight login did not finish")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the last login")
	}
}

// TestShutdownGraceIsBounded: a login slower than the grace period is cut, and Serve says so.
func TestShutdownGraceIsBounded(t *testing.T) {
	e := newOpsEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv := e.bridge(t, e.config(t, base, "", ""))
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	e.setFuyunHook(func(r *http.Request) {
		if r.Method == http.MethodPost {
			close(entered)
			<-release
		}
	})
	ctx, sigterm := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- bridge.Serve(ctx, bridge.NewHTTPServer(srv, e.logs2Logger()), ln, "", "", 200*time.Millisecond)
	}()
	go func() {
		c := browserClient(t)
		c.Timeout = 5 * time.Second
		_, _ = c.Get(base + "/login/idp")
	}()
	<-entered
	sigterm()
	select {
	case err := <-served:
		if err == nil || !strings.Contains(err.Error(), "graceful shutdown") {
			t.Errorf("Serve = %v, want a graceful-shutdown deadline error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve outlived its grace period")
	}
}

// TestServeTLS serves HTTPS with a certificate from files, as server.tls does; HSTS is sent.
func TestServeTLS(t *testing.T) {
	e := newOpsEnv(t)
	dir := t.TempDir()
	certFile, keyFile, pool := writeCert(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	srv := e.bridge(t, e.config(t, base, "", ""))
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- bridge.Serve(ctx, bridge.NewHTTPServer(srv, e.logs2Logger()), ln, certFile, keyFile, time.Second)
	}()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	status, hdr, body := getBody(t, c, base+"/healthz")
	if status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz over TLS: %d %q", status, body)
	}
	if !strings.HasPrefix(hdr.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("no HSTS over TLS: %q", hdr.Get("Strict-Transport-Security"))
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		// Go's TLS server answers plain HTTP with a 400, which is fine; it must not serve the page.
		status, _, body := getBody(t, http.DefaultClient, "http://"+ln.Addr().String()+"/healthz")
		if status == http.StatusOK && body == "ok\n" {
			t.Error("plain HTTP served on the TLS listener")
		}
	}
	stop()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// writeCert makes a self-signed certificate for 127.0.0.1 and writes it and its key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bridge test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100)) // restore whatever the test binary ran with
	t.Setenv("GOGC", "150")
	if got := bridge.TuneGC(); got != "150" {
		t.Errorf("with GOGC=150 set, TuneGC = %q, want the environment's", got)
	}
	os.Unsetenv("GOGC") // t.Setenv restores it afterwards
	debug.SetGCPercent(100)
	if got := bridge.TuneGC(); got != "400" {
		t.Errorf("TuneGC = %q, want 400", got)
	}
	if prev := debug.SetGCPercent(100); prev != bridge.DefaultGCPercent {
		t.Errorf("GC percent in force %d, want %d", prev, bridge.DefaultGCPercent)
	}
}

// TestTuneGCForPlatform: platform mode's default collector setting is DefaultPlatformGCPercent, and GOGC in
// the environment still wins.
func TestTuneGCForPlatform(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "150")
	if got := bridge.TuneGCFor(true); got != "150" {
		t.Errorf("with GOGC=150 set, TuneGCFor(true) = %q", got)
	}
	os.Unsetenv("GOGC")
	if got := bridge.TuneGCFor(true); got != "100" {
		t.Errorf("TuneGCFor(true) = %q, want 100", got)
	}
	if prev := debug.SetGCPercent(100); prev != bridge.DefaultPlatformGCPercent {
		t.Errorf("GC percent in force %d, want %d", prev, bridge.DefaultPlatformGCPercent)
	}
}
