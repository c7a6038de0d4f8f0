package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
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

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "check --config FILE [--timeout D] [the flags of serve]\n\n"+
		"Validates the configuration as serve reads it (file, FUYUN_BRIDGE_* variables, flags), then reaches every\n"+
		"identity provider and Fuyun. Exit 0 when all is well, 1 otherwise.", stdout, stderr)
	path, load := configFlags(fs)
	timeout := fs.Duration("timeout", 10*time.Second, "per-endpoint timeout")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if !configPath(path) {
		fmt.Fprintln(stderr, "fuyun-bridge check: --config FILE is required, or "+configEnv)
		return 2
	}
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge check: the configuration has problems:\n%v\n", err)
		return 1
	}
	if len(cfg.Warnings) > 0 {
		fmt.Fprintf(stderr, "fuyun-bridge check: warnings (accepted, but they weaken a protection):\n%v\n", cfg.Warnings)
	}
	// Building the whole bridge checks what Parse cannot: keys, mapping tables, the API keys file.
	if _, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{}); err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge check: %v\n", err)
		return 1
	}
	rows, ok := checkEndpoints(cfg, bridge.UpstreamClient(), *timeout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tTYPE\tISSUER\tREACHABLE\tKEYS\tREDIRECT URI TO REGISTER")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.id, r.typ, r.issuer, r.status, r.keys, r.redirect)
	}
	_ = tw.Flush()
	if !ok {
		fmt.Fprintln(stderr, "fuyun-bridge check: some endpoints are not reachable")
		return 1
	}
	return 0
}

// checkRow is one line of the check table.
type checkRow struct{ id, typ, issuer, status, keys, redirect string }

// checkEndpoints loads every provider's discovery document and JWKS and pings Fuyun's token endpoint; the
// last row is Fuyun's. ok is false when anything failed.
func checkEndpoints(cfg *config.Config, hc *http.Client, timeout time.Duration) ([]checkRow, bool) {
	ok := true
	var rows []checkRow
	for _, pc := range cfg.Providers {
		row := checkRow{id: pc.ID, typ: pc.Type, issuer: "(no discovery)", status: "ok", keys: "-", redirect: pc.RedirectURL}
		p, err := providers.Build(pc.Type, pc.Common(), pc.Preset, providers.Options{HTTPClient: hc})
		if d, isD := p.(providers.Discoverer); isD && err == nil {
			row.issuer = d.DiscoveryURL()
		}
		r, isReadier := p.(providers.Readier)
		if err == nil && isReadier {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			err = r.Ready(ctx)
			if kc, isKC := p.(providers.KeyCounter); isKC && err == nil {
				var n int
				if n, err = kc.KeyCount(ctx); err == nil {
					row.keys = strconv.Itoa(n)
				}
			}
			cancel()
		}
		switch {
		case err != nil:
			ok, row.status = false, "NO: "+err.Error()
		case !isReadier:
			row.status = "not checked (nothing to load)"
		}
		rows = append(rows, row)
	}
	row := checkRow{id: "fuyun", typ: "token_exchange", issuer: cfg.Fuyun.TokenURL, status: "ok", keys: "-", redirect: "-"}
	client, err := bridge.NewFuyunClient(cfg, hc)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err = client.Ping(ctx)
		cancel()
	}
	if err != nil {
		ok, row.status = false, "NO: "+err.Error()
	}
	return append(rows, row), ok
}
