package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's shape; the Dockerfile and the Kubernetes manifests rely on the same path, user and ports.
const (
	binaryPath   = "/usr/local/bin/fuyun-bridge"
	caBundlePath = "/etc/ssl/certs/ca-certificates.crt"
	user         = "65532:65532"
)

var (
	defaultCmd   = []string{"serve", "--config", "/etc/fuyun-bridge/bridge.yaml"}
	exposedPorts = []string{"8080/tcp", "9090/tcp"}
)

// passwd and group name the nonroot user as distroless does, so tools that look the uid up find a name.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// Platform is one image of the index: a static linux binary for one architecture.
type Platform struct {
	Arch   string // amd64 or arm64
	Binary []byte
}

// Options describe the image index to build.
type Options struct {
	Version   string // org.opencontainers.image.version, and the layout's ref name
	Source    string // org.opencontainers.image.source
	CABundle  []byte // PEM; becomes /etc/ssl/certs/ca-certificates.crt
	Created   time.Time
	Platforms []Platform
}

// elfMachine is the ELF machine each supported architecture's binary must have.
var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// Build returns a multi-platform OCI image index with one single-layer image per platform.
func Build(opts Options) (v1.ImageIndex, error) {
	if len(opts.Platforms) == 0 {
		return nil, errors.New("no platform: give at least one --binary linux/ARCH=PATH")
	}
	if err := checkCABundle(opts.CABundle); err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	seen := map[string]bool{}
	for _, p := range opts.Platforms {
		if seen[p.Arch] {
			return nil, fmt.Errorf("linux/%s given twice", p.Arch)
		}
		seen[p.Arch] = true
		if err := checkStaticBinary(p.Arch, p.Binary); err != nil {
			return nil, err
		}
		img, err := platformImage(opts, p)
		if err != nil {
			return nil, fmt.Errorf("linux/%s: %w", p.Arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: p.Arch}},
		})
	}
	return idx, nil
}

func platformImage(opts Options, p Platform) (v1.Image, error) {
	content, err := layerTar(opts.Created, p.Binary, opts.CABundle)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(content)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", p.Arch
	cf.Created = v1.Time{Time: opts.Created}
	ports := map[string]struct{}{}
	for _, port := range exposedPorts {
		ports[port] = struct{}{}
	}
	cf.Config = v1.Config{
		User:         user,
		Entrypoint:   []string{binaryPath},
		Cmd:          defaultCmd,
		WorkingDir:   "/",
		Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		ExposedPorts: ports,
		Labels: map[string]string{
			"org.opencontainers.image.title":    "fuyun-bridge",
			"org.opencontainers.image.version":  opts.Version,
			"org.opencontainers.image.source":   opts.Source,
			"org.opencontainers.image.licenses": "Apache-2.0",
		},
	}
	return mutate.ConfigFile(img, cf)
}

// layerTar is the image's only layer: root-owned directories and files, readable by the nonroot user, with
// one fixed modification time so the same inputs give the same digest.
func layerTar(mtime time.Time, binary, caBundle []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []error{
		dir("etc/"),
		file("etc/group", 0o644, []byte(group)),
		file("etc/passwd", 0o644, []byte(passwd)),
		dir("etc/ssl/"),
		dir("etc/ssl/certs/"),
		file(caBundlePath[1:], 0o644, caBundle),
		dir("usr/"),
		dir("usr/local/"),
		dir("usr/local/bin/"),
		file(binaryPath[1:], 0o755, binary),
		tw.Close(),
	}
	if err := errors.Join(steps...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkStaticBinary refuses a binary the image cannot run: not ELF, built for another architecture, or
// dynamically linked (CGO_ENABLED=1), since the image has no libc and no loader.
func checkStaticBinary(arch string, binary []byte) error {
	want, ok := elfMachine[arch]
	if !ok {
		return fmt.Errorf("linux/%s: unsupported architecture (amd64, arm64)", arch)
	}
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		return fmt.Errorf("linux/%s: not a linux binary: %w", arch, err)
	}
	defer f.Close()
	if f.Machine != want {
		return fmt.Errorf("linux/%s: the binary is for %v, want %v", arch, f.Machine, want)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("linux/%s: the binary is dynamically linked; build it with CGO_ENABLED=0", arch)
		}
	}
	return nil
}

// checkCABundle refuses a bundle without a single parsable certificate: the bridge could then reach no IdP.
func checkCABundle(bundle []byte) error {
	rest := bundle
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return errors.New("the CA bundle holds no PEM certificate")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err == nil {
			return nil
		}
	}
}
