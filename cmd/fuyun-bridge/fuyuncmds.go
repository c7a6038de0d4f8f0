package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

// defaultSimListen keeps the emulator on loopback unless told otherwise.
const defaultSimListen = "127.0.0.1:8081"

// simShutdownGrace bounds how long exchanges in flight get after SIGINT or SIGTERM.
const simShutdownGrace = 5 * time.Second

var keygenNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// runKeygen writes a new RSA key pair for Fuyun's JWT mode and says where each file goes.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("keygen", "keygen [--out DIR] [--name NAME]\n\n"+
		"Generates an RSA-2048 key pair for Fuyun's JWT mode. Never overwrites existing files.", stdout, stderr)
	dir := fs.String("out", "keys", "directory to write the key files to (created if missing)")
	name := fs.String("name", "fuyun", "file name prefix: NAME-private.pem, NAME-public.pem, NAME-public.txt")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if !keygenNamePattern.MatchString(*name) {
		fmt.Fprintf(stderr, "fuyun-bridge keygen: --name %q: use letters, digits, '.', '_' or '-' only\n", *name)
		return 2
	}
	privPath := filepath.Join(*dir, *name+"-private.pem")
	pubPath := filepath.Join(*dir, *name+"-public.pem")
	txtPath := filepath.Join(*dir, *name+"-public.txt")
	for _, p := range []string{privPath, pubPath, txtPath} {
		if _, err := os.Lstat(p); err == nil {
			fmt.Fprintf(stderr, "fuyun-bridge keygen: %s already exists; refusing to overwrite it (move it away or pick another --name)\n", p)
			return 1
		}
	}

	key, err := fuyun.GenerateKey()
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge keygen: %v\n", err)
		return 1
	}
	privPEM, err := fuyun.MarshalPrivateKeyPEM(key)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge keygen: %v\n", err)
		return 1
	}
	pubPEM, err := fuyun.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge keygen: %v\n", err)
		return 1
	}
	pubB64, err := fuyun.PublicKeyBase64(&key.PublicKey)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge keygen: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge keygen: %v\n", err)
		return 1
	}
	files := []struct {
		path string
		data []byte
		perm os.FileMode
	}{
		{privPath, privPEM, 0o600},
		{pubPath, pubPEM, 0o644},
		{txtPath, []byte(pubB64 + "\n"), 0o644},
	}
	var written []string
	for _, f := range files {
		if err := writeNewFile(f.path, f.data, f.perm); err != nil {
			for _, p := range written {
				_ = os.Remove(p)
			}
			fmt.Fprintf(stderr, "fuyun-bridge keygen: %v\n", err)
			return 1
		}
		written = append(written, f.path)
	}
	fmt.Fprintf(stdout, `Wrote an RSA-2048 key pair for Fuyun's JWT mode:
  %s  private key (PKCS#8, mode 0600): keep it secret; set fuyun.jwt.private_key_file to it
  %s  public key (PEM)
  %s  public key as one line of base64

Next: in Fuyun's developer portal (身份管理配置, 免登模式 JWT), paste the line from %s
as the public key. For the local emulator, point clients[].jwt.public_key_file at %s.
`, privPath, pubPath, txtPath, txtPath, pubPath)
	return 0
}

// writeNewFile creates path exclusively, so a file appearing meanwhile is never clobbered.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite it", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// runFuyunSim serves the Fuyun emulator until SIGINT or SIGTERM.
func runFuyunSim(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveFuyunSim(ctx, args, stdout, stderr, nil)
}

// serveFuyunSim is runFuyunSim with the stop signal as a context; ready, if set, learns the bound address.
func serveFuyunSim(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) int {
	fs := newFlags("fuyun-sim", "fuyun-sim --config FILE [--listen ADDR]\n\n"+
		"Runs a local emulator of Fuyun's token-exchange endpoint (POST /oauth/token_exchange).", stdout, stderr)
	configPath := fs.String("config", "", "emulator config file (YAML, see configs/fuyun-sim.yaml); required")
	listen := fs.String("listen", "", "address to listen on; overrides the config's listen (default "+defaultSimListen+")")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if *configPath == "" {
		fmt.Fprintln(stderr, "fuyun-bridge fuyun-sim: --config FILE is required (see configs/fuyun-sim.yaml)")
		return 2
	}
	log := bridge.NewLogger(stderr, slog.LevelInfo, "text")
	cfg, err := fuyunsim.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge fuyun-sim: %v\n", err)
		return 1
	}
	addr := cfg.Listen
	if *listen != "" {
		addr = *listen
	}
	if addr == "" {
		addr = defaultSimListen
	}
	sim, err := fuyunsim.New(*cfg, fuyunsim.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge fuyun-sim: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge fuyun-sim: %v\n", err)
		return 1
	}
	bound := ln.Addr().String()
	fmt.Fprintf(stdout, "fuyun-sim: token endpoint http://%s%s (JWKS http://%s%s); Ctrl-C stops\n",
		bound, sim.TokenPath(), bound, fuyunsim.JWKSPath)
	log.Info("fuyun-sim listening", "addr", bound, "issuer", sim.Issuer(), "clients", len(cfg.Clients), "agents", len(cfg.Agents))
	if ready != nil {
		ready(bound)
	}
	if err := bridge.Serve(ctx, bridge.NewHTTPServer(sim, log), ln, "", "", simShutdownGrace); err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge fuyun-sim: %v\n", err)
		return 1
	}
	log.Info("fuyun-sim stopped")
	return 0
}
