package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/devstack"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

// shutdownGrace is how long in-flight logins get to finish after SIGTERM.
const shutdownGrace = 25 * time.Second

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "serve --config FILE [--listen ADDR] [--public-url URL] [--metrics-listen ADDR] [--log-level L] [--log-format F]\n\n"+
		"Every single-value key may also come from a FUYUN_BRIDGE_* variable (see docs/configuration.md).", stdout, stderr)
	path, load := configFlags(fs)
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if !configPath(path) {
		fmt.Fprintln(stderr, "fuyun-bridge serve: --config FILE is required, or "+configEnv+" (see configs/ for examples)")
		return 2
	}
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge serve: the configuration has problems:\n%v\n", err)
		return 1
	}
	logger := bridge.NewLogger(stderr, cfg.Log.SlogLevel, cfg.Log.Format)
	for _, w := range cfg.Warnings {
		logger.Warn("configuration weakens a protection", "path", w.Path, "line", w.Line, "problem", w.Msg)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var (
		public http.Handler
		root   *bridge.Server
		ps     *platformServing
	)
	if cfg.Store.Enabled() {
		if ps, err = openPlatform(ctx, cfg, load, logger); err != nil {
			fmt.Fprintf(stderr, "fuyun-bridge serve: %v\n", err)
			return 1
		}
		defer ps.store.Close()
		public, root = ps.platform, ps.platform.Root()
	} else {
		if root, err = bridge.NewFromConfig(cfg, bridge.BuildOptions{Logger: logger}); err != nil {
			fmt.Fprintf(stderr, "fuyun-bridge serve: %v\n", err)
			return 1
		}
		public = root
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge serve: %v\n", err)
		return 1
	}
	// Connections to every IdP and Fuyun are opened now (each result logged) and kept warm while idle.
	if ps != nil {
		ps.platform.KeepWarm(ctx)
	} else {
		go root.KeepWarm(ctx)
	}
	var side []func() error // the other listeners, each served until ctx ends
	if cfg.Server.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.Server.MetricsListen)
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "fuyun-bridge serve: server.metrics_listen: %v\n", err)
			return 1
		}
		logger.Info("metrics serving", "listen", mln.Addr().String())
		side = append(side, func() error {
			return bridge.Serve(ctx, bridge.NewHTTPServer(root.OpsHandler(), logger), mln, "", "", shutdownGrace)
		})
	} else if !cfg.Server.MetricsPublic {
		logger.Info("metrics not served: set server.metrics_listen (e.g. 127.0.0.1:9090) to serve /metrics apart")
	}
	if ps != nil {
		aln, err := net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "fuyun-bridge serve: admin.listen: %v\n", err)
			return 1
		}
		if cfg.Admin.KeysFile == "" {
			logger.Warn(errAdminOff.Error())
		}
		logger.Info("admin API serving", "listen", aln.Addr().String())
		side = append(side, func() error {
			return bridge.Serve(ctx, bridge.NewHTTPServer(ps.adminHandler(), logger), aln, "", "", shutdownGrace)
		})
		go ps.platform.Run(ctx)
		go onSIGHUP(ctx, logger, ps.reload)
	} else {
		go onSIGHUP(ctx, logger, func() error {
			logger.Warn("SIGHUP: reloading is platform mode's (store.driver); restart the bridge to apply a changed file")
			return nil
		})
	}
	sideDone := make(chan error, len(side))
	for _, f := range side {
		go func() { sideDone <- f() }()
	}
	gogc := bridge.TuneGCFor(ps != nil)
	logger.Info("fuyun-bridge serving", "listen", ln.Addr().String(), "public_url", cfg.Server.PublicURL, "providers", len(cfg.Providers),
		"platform", ps != nil, "gogc", gogc)
	err = bridge.Serve(ctx, bridge.NewHTTPServer(public, logger), ln, cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile, shutdownGrace)
	stop() // the main server is done: stop the other listeners too
	for range side {
		if serr := <-sideDone; err == nil {
			err = serr
		}
	}
	if err != nil {
		logger.Error("server stopped", "error", err)
		return 1
	}
	logger.Info("fuyun-bridge stopped")
	return 0
}

// onSIGHUP calls reload on every SIGHUP until ctx ends; reload logs its own outcome.
func onSIGHUP(ctx context.Context, logger *slog.Logger, reload func() error) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			logger.Info("SIGHUP: reloading the configuration")
			_ = reload()
		}
	}
}

func runDev(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dev", "dev [--listen 127.0.0.1:8080] [--platform]", stdout, stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "loopback address of the bridge; the IdP, Fuyun emulator and demo CRM take free ports")
	platformMode := fs.Bool("platform", false, "platform mode: two demo tenants in a SQLite store in a temporary directory, and the admin API")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	logger := bridge.NewLogger(stderr, 0, "text")
	var running interface{ Close(context.Context) error }
	if *platformMode {
		ps, err := devstack.StartPlatform(devstack.Options{Listen: *listen, Logger: logger})
		if err != nil {
			fmt.Fprintf(stderr, "fuyun-bridge dev: %v\n", err)
			return 1
		}
		printPlatform(stdout, ps)
		running = ps
	} else {
		st, err := devstack.Start(devstack.Options{Listen: *listen, Logger: logger})
		if err != nil {
			fmt.Fprintf(stderr, "fuyun-bridge dev: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, `fuyun-bridge dev is running (Ctrl-C to stop)

  Open:          %[1]s/
  Demo CRM:      %[4]s/
  Embedded CRM:  %[5]s   (the widget in an iframe of another site, popup login, JS SDK)
  Script login:  curl -L -c jar -b jar '%[1]s/login/dev?login_hint=alice'
  Dev IdP:       %[2]s   (demo agents: alice, bob, carol)
  Fuyun emulator %[3]s/oauth/token_exchange

`, st.BridgeURL, st.IdPURL, st.FuyunURL, st.CRMURL, st.EmbedCRMURL)
		running = st
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := running.Close(sctx); err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge dev: shutdown: %v\n", err)
		return 1
	}
	return 0
}

// printPlatform is what `dev --platform` prints: where each tenant signs in, the admin key and the curl that
// creates the third tenant.
func printPlatform(w io.Writer, ps *devstack.PlatformStack) {
	fmt.Fprintf(w, "fuyun-bridge dev --platform is running (Ctrl-C to stop; it removes %s)\n\n", ps.Dir)
	fmt.Fprintf(w, "  Root page:     %s/   (the email box: alice@%s, bob@%s …)\n", ps.BridgeURL, ps.Domain(ps.Tenants[0]), ps.Domain(ps.Tenants[len(ps.Tenants)-1]))
	for _, id := range ps.Tenants {
		fmt.Fprintf(w, "  %-15s%s   (its own dev IdP %s: alice, bob, carol @%s)\n", "Tenant "+id+":", ps.TenantURL(id), ps.IdPURLs[id], ps.Domain(id))
	}
	fmt.Fprintf(w, "  Script login:  curl -L -c jar -b jar '%s/t/%s/login/dev?login_hint=alice'\n", ps.BridgeURL, ps.Tenants[0])
	fmt.Fprintf(w, "  Fuyun emulator %s%s   (one registration per tenant: crm-ID)\n", ps.FuyunURL, fuyunsim.TokenPath)
	fmt.Fprintf(w, "  Admin API:     %s/admin/v1/   key: %s\n", ps.AdminURL, ps.AdminKey)
	fmt.Fprintf(w, "\nCreate a third tenant, %s, through the admin API:\n\n  %s\n\n", ps.NewTenant, ps.CreateCommand())
	fmt.Fprintf(w, "then open %s (or sign in as alice@%s on the root page).\n\n", ps.TenantURL(ps.NewTenant), ps.Domain(ps.NewTenant))
}
