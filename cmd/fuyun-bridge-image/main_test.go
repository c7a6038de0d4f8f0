package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const testVersion = "v0.0.0-imagetest"

// TestImage builds the image the way `make image` does, reads it back from the OCI layout, checks what a
// container runtime would use (user, entrypoint, cmd, ports, labels, the layer's files), then runs the
// binary taken out of the layer: `version` and `dev`, whose /healthz must answer.
func TestImage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("runs the image's linux binary")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fuyun-bridge")
	build := exec.Command(goCmd, "build", "-ldflags", "-X main.version="+testVersion, "-o", bin, "../fuyun-bridge")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	caPath := filepath.Join(dir, "ca.pem")
	ca := testCABundle(t)
	if err := os.WriteFile(caPath, ca, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "oci")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--out", out, "--version", testVersion, "--source", "https://example.com/src", "--ca-bundle", caPath,
		"--binary", "linux/" + runtime.GOARCH + "=" + bin}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}

	img := readBack(t, out)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/fuyun-bridge"}) {
		t.Errorf("entrypoint %q", c.Entrypoint)
	}
	if !slices.Equal(c.Cmd, []string{"serve", "--config", "/etc/fuyun-bridge/bridge.yaml"}) {
		t.Errorf("cmd %q", c.Cmd)
	}
	if len(c.ExposedPorts) != 2 {
		t.Errorf("exposed ports %v, want 8080/tcp and 9090/tcp", c.ExposedPorts)
	}
	for _, port := range []string{"8080/tcp", "9090/tcp"} {
		if _, ok := c.ExposedPorts[port]; !ok {
			t.Errorf("port %s not exposed: %v", port, c.ExposedPorts)
		}
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.source":   "https://example.com/src",
		"org.opencontainers.image.licenses": "Apache-2.0",
	} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}

	files := layerFiles(t, img)
	binary, _ := os.ReadFile(bin)
	want := map[string]tarFile{
		"etc/":                              {mode: 0o755, dir: true},
		"etc/group":                         {mode: 0o644, data: []byte(group)},
		"etc/passwd":                        {mode: 0o644, data: []byte(passwd)},
		"etc/ssl/":                          {mode: 0o755, dir: true},
		"etc/ssl/certs/":                    {mode: 0o755, dir: true},
		"etc/ssl/certs/ca-certificates.crt": {mode: 0o644, data: ca},
		"usr/":                              {mode: 0o755, dir: true},
		"usr/local/":                        {mode: 0o755, dir: true},
		"usr/local/bin/":                    {mode: 0o755, dir: true},
		"usr/local/bin/fuyun-bridge":        {mode: 0o755, data: binary},
	}
	for name, w := range want {
		got, ok := files[name]
		switch {
		case !ok:
			t.Errorf("%s missing from the layer", name)
		case got.mode != w.mode || got.dir != w.dir || got.uid != 0 || got.gid != 0:
			t.Errorf("%s: mode %o dir %v owner %d:%d, want mode %o dir %v owner 0:0", name, got.mode, got.dir, got.uid, got.gid, w.mode, w.dir)
		case !bytes.Equal(got.data, w.data):
			t.Errorf("%s: content differs from its source (%d bytes, want %d)", name, len(got.data), len(w.data))
		}
	}
	for name := range files {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected %s in the layer", name)
		}
	}
	if t.Failed() {
		return
	}

	extracted := filepath.Join(t.TempDir(), "fuyun-bridge")
	if err := os.WriteFile(extracted, files["usr/local/bin/fuyun-bridge"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	if v, err := exec.Command(extracted, "version").Output(); err != nil || !strings.HasPrefix(string(v), "fuyun-bridge "+testVersion+" ") {
		t.Fatalf("version: %q, %v", v, err)
	}
	checkDevHealthz(t, extracted)
}

// checkDevHealthz starts `dev` on a free loopback port, reads the URL it prints, expects /healthz to answer
// 200 and stops it with an interrupt, as Ctrl-C would.
func checkDevHealthz(t *testing.T, binary string) {
	cmd := exec.Command(binary, "dev", "--listen", "127.0.0.1:0")
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			// runDev installs its signal handler after it prints the URL, so an interrupt that arrives
			// first ends the process by the signal itself; either way it stopped.
			var exit *exec.ExitError
			if err != nil && !(errors.As(err, &exit) && exit.String() == "signal: interrupt") {
				t.Errorf("dev did not stop on an interrupt: %v\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("dev did not stop within 10 s of an interrupt")
		}
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Open:"); ok {
				urls <- strings.TrimSpace(rest)
			}
		}
		done <- cmd.Wait()
	}()
	var base string
	select {
	case base = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatalf("dev printed no URL within 30 s\n%s", stderr.String())
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(strings.TrimSuffix(base, "/") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
}

// readBack opens the layout as a registry client would: the top index names one multi-platform index by
// version, which holds this machine's platform.
func readBack(t *testing.T, dir string) v1.Image {
	t.Helper()
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion {
		t.Fatalf("index.json: %+v, want one index named %s", tm.Manifests, testVersion)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 1 {
		t.Fatalf("index %s with %d manifests", im.MediaType, len(im.Manifests))
	}
	d := im.Manifests[0]
	if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != runtime.GOARCH || d.MediaType != types.OCIManifestSchema1 {
		t.Fatalf("manifest descriptor %+v", d)
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type tarFile struct {
	mode     int64
	dir      bool
	uid, gid int
	data     []byte
}

func layerFiles(t *testing.T, img v1.Image) map[string]tarFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]tarFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = tarFile{mode: h.Mode, dir: h.Typeflag == tar.TypeDir, uid: h.Uid, gid: h.Gid, data: data}
	}
}

func TestBuildIsReproducible(t *testing.T) {
	opts := Options{Version: "v1", Source: "s", CABundle: testCABundle(t), Platforms: []Platform{{Arch: "amd64", Binary: fakeELF(t, elf.EM_X86_64, false)}}}
	a, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("same inputs, digests %s and %s", da, db)
	}
}

func TestBuildRefuses(t *testing.T) {
	ca := testCABundle(t)
	amd64 := fakeELF(t, elf.EM_X86_64, false)
	one := func(arch string, bin []byte) []Platform { return []Platform{{Arch: arch, Binary: bin}} }
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"no platform", Options{CABundle: ca}, "no platform"},
		{"not a binary", Options{CABundle: ca, Platforms: one("amd64", []byte("#!/bin/sh\n"))}, "not a linux binary"},
		{"another architecture", Options{CABundle: ca, Platforms: one("arm64", amd64)}, "the binary is for EM_X86_64"},
		{"unsupported architecture", Options{CABundle: ca, Platforms: one("s390x", amd64)}, "unsupported architecture"},
		{"dynamically linked", Options{CABundle: ca, Platforms: one("amd64", fakeELF(t, elf.EM_X86_64, true))}, "CGO_ENABLED=0"},
		{"twice", Options{CABundle: ca, Platforms: append(one("amd64", amd64), one("amd64", amd64)...)}, "given twice"},
		{"empty CA bundle", Options{Platforms: one("amd64", amd64)}, "no PEM certificate"},
		{"CA bundle without a certificate", Options{CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}),
			Platforms: one("amd64", amd64)}, "no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, "Usage: fuyun-bridge-image"},
		{nil, 2, "required"},
		{[]string{"--out", "x", "--version", "v", "--binary", "amd64=bin"}, 1, "want linux/ARCH=PATH"},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("%q: exit %d\nstdout: %s\nstderr: %s", tc.args, code, stdout.String(), stderr.String())
		}
	}
}

// fakeELF is the smallest ELF64 executable header checkStaticBinary reads: a machine, and with interp one
// PT_INTERP program header, as a dynamically linked binary has.
func fakeELF(t *testing.T, machine elf.Machine, interp bool) []byte {
	t.Helper()
	hdr := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Ehsize: 64, Phentsize: 56, Shentsize: 64}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS], hdr.Ident[elf.EI_DATA], hdr.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	var progs []elf.Prog64
	if interp {
		hdr.Phoff, hdr.Phnum = 64, 1
		progs = append(progs, elf.Prog64{Type: uint32(elf.PT_INTERP)})
	}
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, hdr); err != nil {
		t.Fatal(err)
	}
	if err := binary.Write(&buf, binary.LittleEndian, progs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testCABundle is one self-signed certificate in PEM, enough for the bundle check.
func testCABundle(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestDockerfilesMatch keeps this builder, the Dockerfile's final stage and the release Dockerfile one image:
// same binary path, user, entrypoint, default command and ports.
func TestDockerfilesMatch(t *testing.T) {
	quoted := func(ss []string) string { return `["` + strings.Join(ss, `", "`) + `"]` }
	var ports []string
	for _, p := range exposedPorts {
		ports = append(ports, strings.TrimSuffix(p, "/tcp"))
	}
	common := []string{
		"USER " + user,
		"EXPOSE " + strings.Join(ports, " "),
		"ENTRYPOINT " + quoted([]string{binaryPath}),
		"CMD " + quoted(defaultCmd),
	}
	for file, copyLine := range map[string]string{
		"../../Dockerfile":                "COPY --from=build /out/fuyun-bridge " + binaryPath,
		"../../deploy/release.Dockerfile": "COPY ${TARGETPLATFORM}/fuyun-bridge " + binaryPath,
	} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(raw), "\n")
		for _, want := range append([]string{copyLine}, common...) {
			if !slices.Contains(lines, want) {
				t.Errorf("%s has no line %q", file, want)
			}
		}
	}
}
