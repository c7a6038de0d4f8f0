package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/diagnose"
)

// checkWidth is the widest line check prints: a terminal or a CI log, never a wrapped table.
const checkWidth = 100

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "check --config FILE [--offline] [--timeout D] [the flags of serve]\n\n"+
		"Validates the configuration as serve reads it (file, FUYUN_BRIDGE_* variables, flags), then reaches every\n"+
		"identity provider and Fuyun; --offline stops before the network. Exit 0 when all is well, 1 otherwise.", stdout, stderr)
	path, load := configFlags(fs)
	timeout := fs.Duration("timeout", 10*time.Second, "per-endpoint timeout")
	offline := fs.Bool("offline", false, "validate and build the bridge only; contact no identity provider and not Fuyun (for CI)")
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
	// Building the whole bridge checks what Parse cannot: keys, mapping tables, the API keys file. In platform
	// mode the file's own company may have no provider; the tenants are the store's (checked one by one with
	// POST /admin/v1/tenants/{id}/check).
	if len(cfg.Providers) > 0 || !cfg.Store.Enabled() {
		if _, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{}); err != nil {
			fmt.Fprintf(stderr, "fuyun-bridge check: %v\n", err)
			return 1
		}
	}
	if cfg.Store.Enabled() {
		fmt.Fprintf(stdout, "platform mode: tenants in the %s store, not contacted here (check one with POST /admin/v1/tenants/{id}/check)\n", cfg.Store.Driver)
	}
	if *offline || len(cfg.Providers) == 0 {
		fmt.Fprintf(stdout, "configuration ok: %d provider(s); no identity provider or Fuyun contacted", len(cfg.Providers))
		if *offline {
			fmt.Fprint(stdout, " (--offline)")
		}
		fmt.Fprintln(stdout)
		return 0
	}
	rows, ok := diagnose.Endpoints(cfg, bridge.UpstreamClient(), *timeout)
	printCheck(stdout, rows)
	if !ok {
		fmt.Fprintln(stderr, "fuyun-bridge check: some endpoints are not reachable or refused")
		return 1
	}
	return 0
}

// printCheck writes the compact table, then each row's details, every line at most checkWidth columns
// (a URL longer than that stays whole, on its own line).
func printCheck(w io.Writer, rows []diagnose.Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tTYPE\tSTATUS\tKEYS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Type, r.Status, r.Keys)
	}
	_ = tw.Flush()
	for _, r := range rows {
		fmt.Fprintf(w, "\n%s\n", r.ID)
		for _, d := range r.Details {
			fmt.Fprint(w, wrap("  "+d[0]+": "+d[1], "    "))
		}
		if r.RedirectURI != "" {
			fmt.Fprintf(w, "  redirect URI to register at the identity provider:\n    %s\n", r.RedirectURI)
		}
		if r.Err != nil {
			fmt.Fprint(w, wrap("  error: "+r.Err.Error(), "    "))
		}
	}
}

// wrap breaks s at spaces into lines of at most checkWidth columns, continuing with indent.
func wrap(s, indent string) string {
	var b strings.Builder
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = strings.Repeat(" ", len(s)-len(strings.TrimLeft(s, " "))) + word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > checkWidth:
			b.WriteString(line + "\n")
			line = indent + word
		default:
			line += " " + word
		}
	}
	return b.String() + line + "\n"
}
