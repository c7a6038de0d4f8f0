package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

func runToken(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token", "token --config FILE --user NAME", stdout, stderr)
	path := fs.String("config", "", "the bridge's YAML configuration; its fuyun: section is used (required)")
	user := fs.String("user", "", "the agent's AccountName in Fuyun, sent as user_name (required)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long, retries included")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if *path == "" || *user == "" {
		fmt.Fprintln(stderr, "fuyun-bridge token: --config FILE and --user NAME are required")
		return 2
	}
	cfg, err := config.Load(*path)
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

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "check --config FILE", stdout, stderr)
	path := fs.String("config", "", "the bridge's YAML configuration (required)")
	timeout := fs.Duration("timeout", 10*time.Second, "per-endpoint timeout")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "fuyun-bridge check: --config FILE is required")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge check: the configuration has problems:\n%v\n", err)
		return 1
	}
	hc := bridge.UpstreamClient()
	failed := false
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tTYPE\tISSUER\tREACHABLE\tREDIRECT URI TO REGISTER")
	for _, pc := range cfg.Providers {
		status := "ok"
		p, err := providers.New(pc.Config, providers.Options{HTTPClient: hc})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), *timeout)
			err = p.Ready(ctx)
			cancel()
		}
		if err != nil {
			failed, status = true, "NO: "+err.Error()
		}
		issuer := pc.Issuer
		if issuer == "" {
			issuer = "(preset)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", pc.ID, pc.Type, issuer, status, pc.Config.RedirectURL)
	}
	fstatus := "ok"
	client, err := bridge.NewFuyunClient(cfg, hc)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		err = client.Ping(ctx)
		cancel()
	}
	if err != nil {
		failed, fstatus = true, "NO: "+err.Error()
	}
	fmt.Fprintf(tw, "fuyun\ttoken_exchange\t%s\t%s\t-\n", cfg.Fuyun.TokenURL, fstatus)
	_ = tw.Flush()
	if failed {
		fmt.Fprintln(stderr, "fuyun-bridge check: some endpoints are not reachable")
		return 1
	}
	return 0
}
