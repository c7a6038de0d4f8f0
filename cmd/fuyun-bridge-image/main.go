// Command fuyun-bridge-image builds the fuyun-bridge container image without Docker and writes it as an OCI
// image layout directory: one image per architecture, each the static binary at /usr/local/bin/fuyun-bridge
// plus CA certificates, run as 65532:65532 — the same image the Dockerfile builds. `make image` runs it; copy
// the result to a registry with `crane push DIR REF` or `skopeo copy oci:DIR docker://REF`.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// binaries collects repeated --binary linux/ARCH=PATH flags.
type binaries []string

func (b *binaries) String() string     { return strings.Join(*b, ",") }
func (b *binaries) Set(v string) error { *b = append(*b, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fuyun-bridge-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: fuyun-bridge-image --out DIR --version V --binary linux/ARCH=PATH [--binary …]\n\nFlags:")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "OCI layout directory to write (replaced if it exists)")
	version := fs.String("version", "", "the release version: image label and the layout's ref name")
	source := fs.String("source", "https://github.com/fuyun-bridge/fuyun-bridge", "repository URL for the org.opencontainers.image.source label")
	caBundle := fs.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM CA certificates to ship in the image")
	var bins binaries
	fs.Var(&bins, "binary", "linux/ARCH=PATH of a static fuyun-bridge binary; repeat for each architecture")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if *out == "" || *version == "" || len(bins) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "fuyun-bridge-image: --out, --version and at least one --binary are required, and nothing else")
		return 2
	}
	if err := build(*out, *version, *source, *caBundle, bins, stdout); err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge-image: %v\n", err)
		return 1
	}
	return 0
}

func build(out, version, source, caBundlePath string, bins []string, stdout io.Writer) error {
	opts := Options{Version: version, Source: source, Created: created()}
	var err error
	if opts.CABundle, err = os.ReadFile(caBundlePath); err != nil {
		return fmt.Errorf("--ca-bundle: %w", err)
	}
	for _, b := range bins {
		platform, path, ok := strings.Cut(b, "=")
		arch, isLinux := strings.CutPrefix(platform, "linux/")
		if !ok || !isLinux || arch == "" || path == "" {
			return fmt.Errorf("--binary %q: want linux/ARCH=PATH", b)
		}
		bin, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--binary: %w", err)
		}
		opts.Platforms = append(opts.Platforms, Platform{Arch: arch, Binary: bin})
	}
	idx, err := Build(opts)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": version})); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: fuyun-bridge %s, index %s\n", out, version, digest)
	return nil
}

// created is SOURCE_DATE_EPOCH when set (reproducible builds), else the Unix epoch: a build time would
// change the digest of every rebuild of the same commit.
func created() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(sec, 0).UTC()
		}
	}
	return time.Unix(0, 0).UTC()
}
