package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
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
	rows, ok := checkEndpoints(cfg, bridge.UpstreamClient(), *timeout)
	printCheck(stdout, rows)
	if !ok {
		fmt.Fprintln(stderr, "fuyun-bridge check: some endpoints are not reachable or refused")
		return 1
	}
	return 0
}

// checkRow is one provider's or Fuyun's result: a line of the table and a paragraph of details.
type checkRow struct {
	id, typ, status, keys string
	// details are "label: value" lines; a value that must be copied whole (the redirect URI) gets a line of
	// its own.
	details  [][2]string
	redirect string
	err      error
}

// printCheck writes the compact table, then each row's details, every line at most checkWidth columns
// (a URL longer than that stays whole, on its own line).
func printCheck(w io.Writer, rows []checkRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tTYPE\tSTATUS\tKEYS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.id, r.typ, r.status, r.keys)
	}
	_ = tw.Flush()
	for _, r := range rows {
		fmt.Fprintf(w, "\n%s\n", r.id)
		for _, d := range r.details {
			fmt.Fprint(w, wrap("  "+d[0]+": "+d[1], "    "))
		}
		if r.redirect != "" {
			fmt.Fprintf(w, "  redirect URI to register at the identity provider:\n    %s\n", r.redirect)
		}
		if r.err != nil {
			fmt.Fprint(w, wrap("  error: "+r.err.Error(), "    "))
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

// checkEndpoints loads every provider's discovery document and JWKS and pings Fuyun's token endpoint; the
// last row is Fuyun's. ok is false when anything failed.
func checkEndpoints(cfg *config.Config, hc *http.Client, timeout time.Duration) ([]checkRow, bool) {
	ok := true
	var rows []checkRow
	for _, pc := range cfg.Providers {
		row := checkRow{id: pc.ID, typ: pc.Type, status: "ok", keys: "-", redirect: pc.RedirectURL}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		p, checked, err := readyProvider(ctx, pc, hc, nil)
		if d, isD := p.(providers.Discoverer); isD {
			row.details = append(row.details, [2]string{"discovery", d.DiscoveryURL()})
		}
		if kc, isKC := p.(providers.KeyCounter); isKC && err == nil {
			var n int
			if n, err = kc.KeyCount(ctx); err == nil {
				row.keys = strconv.Itoa(n)
			}
		}
		cancel()
		switch {
		case err != nil:
			ok, row.status, row.err = false, "failed", err
		case !checked:
			row.status = "not checked"
			row.details = append(row.details, [2]string{"note", "nothing to load before a login"})
		}
		rows = append(rows, row)
	}
	row := checkRow{id: "fuyun", typ: "token_exchange", status: "ok", keys: "-",
		details: [][2]string{{"token URL", cfg.Fuyun.TokenURL}}}
	row.status, row.err = pingFuyun(cfg, hc, timeout)
	return append(rows, row), ok && row.err == nil
}

// pingFuyun sends Fuyun's token endpoint a credential-less GET, which it answers 405 as any POST-only
// endpoint would. Its status tells "unreachable" (no HTTP answer: DNS, connection, TLS, timeout) from
// "refused" (an answer that says the URL or the caller is wrong: 401, 403, 404, 407, 410, or a 5xx).
func pingFuyun(cfg *config.Config, hc *http.Client, timeout time.Duration) (string, error) {
	rec := &statusRecorder{next: hc.Transport}
	if rec.next == nil {
		rec.next = http.DefaultTransport
	}
	recorded := *hc
	recorded.Transport = rec
	client, err := bridge.NewFuyunClient(cfg, &recorded)
	if err != nil {
		return "failed", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := client.Ping(ctx); err != nil {
		var fe *fuyun.Error
		if errors.As(err, &fe) && fe.StatusCode == 0 {
			return "unreachable", err
		}
		return "failed", err
	}
	switch code := rec.status(); {
	case code == http.StatusUnauthorized, code == http.StatusForbidden, code == http.StatusNotFound,
		code == http.StatusProxyAuthRequired, code == http.StatusGone, code >= 500:
		return "refused", fmt.Errorf("Fuyun refused: HTTP %d %s from the token URL (a token endpoint answers a GET with 405)", code, http.StatusText(code))
	}
	return "ok", nil
}

// statusRecorder notes the status of the last response through it.
type statusRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	last int
}

func (s *statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil {
		s.mu.Lock()
		s.last = resp.StatusCode
		s.mu.Unlock()
	}
	return resp, err
}

func (s *statusRecorder) status() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// readyProvider builds pc's provider and, when it has something to load (providers.Readier), loads it;
// checked says whether it had.
func readyProvider(ctx context.Context, pc config.Provider, hc *http.Client, logger *slog.Logger) (p providers.Provider, checked bool, err error) {
	p, err = providers.Build(pc.Type, pc.Common(), pc.Preset, providers.Options{HTTPClient: hc, Logger: logger})
	if err != nil {
		return nil, false, err
	}
	r, ok := p.(providers.Readier)
	if !ok {
		return p, false, nil
	}
	return p, true, r.Ready(ctx)
}
