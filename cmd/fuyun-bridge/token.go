package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
)

func runToken(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token", "token --config FILE --user NAME\n\n"+
		"The fuyun: keys may also come from FUYUN_BRIDGE_FUYUN_* variables, the file from "+configEnv+".", stdout, stderr)
	path := fs.String("config", "", "the bridge's YAML configuration; its fuyun: section is used (required)")
	user := fs.String("user", "", "the agent's AccountName in Fuyun, sent as user_name (required)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long, retries included")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if !configPath(path) || *user == "" {
		fmt.Fprintln(stderr, "fuyun-bridge token: --config FILE (or "+configEnv+") and --user NAME are required")
		return 2
	}
	cfg, err := config.Load(*path, config.EnvOverrides(os.LookupEnv)...)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge token: the configuration has problems:\n%v\n", err)
		return 1
	}
	if cfg.Fuyun.JWT.PrivateKey == "" && cfg.Fuyun.JWT.PrivateKeyFile == "" {
		fmt.Fprintln(stderr, "fuyun-bridge token: fuyun.jwt.private_key_file is not set; run 'fuyun-bridge keygen' and configure fuyun.jwt")
		return 1
	}
	client, err := bridge.NewFuyunClient(cfg, bridge.UpstreamClient())
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge token: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	tok, err := client.ExchangeJWT(ctx, *user)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge token: exchange with %s failed: %v\n", cfg.Fuyun.TokenURL, err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tok); err != nil {
		return 1
	}
	return 0
}
