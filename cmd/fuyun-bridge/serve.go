package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/devstack"
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
	srv, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge serve: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge serve: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Connections to every IdP and Fuyun are opened now (each result logged) and kept warm while idle.
	go srv.KeepWarm(ctx)
	metricsDone := make(chan error, 1)
	if cfg.Server.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.Server.MetricsListen)
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "fuyun-bridge serve: server.metrics_listen: %v\n", err)
			return 1
		}
		logger.Info("metrics serving", "listen", mln.Addr().String())
		go func() {
			metricsDone <- bridge.Serve(ctx, bridge.NewHTTPServer(srv.OpsHandler(), logger), mln, "", "", shutdownGrace)
		}()
	} else {
		if !cfg.Server.MetricsPublic {
			logger.Info("metrics not served: set server.metrics_listen (e.g. 127.0.0.1:9090) to serve /metrics apart")
		}
		metricsDone <- nil
	}
	gogc := bridge.TuneGC()
	logger.Info("fuyun-bridge serving", "listen", ln.Addr().String(), "public_url", cfg.Server.PublicURL, "providers", len(cfg.Providers), "gogc", gogc)
	err = bridge.Serve(ctx, bridge.NewHTTPServer(srv, logger), ln, cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile, shutdownGrace)
	stop() // the main server is done: stop the metrics listener too
	if merr := <-metricsDone; err == nil {
		err = merr
	}
	if err != nil {
		logger.Error("server stopped", "error", err)
		return 1
	}
	logger.Info("fuyun-bridge stopped")
	return 0
}

func runDev(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dev", "dev [--listen 127.0.0.1:8080]", stdout, stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "loopback address of the bridge; the IdP, Fuyun emulator and demo CRM take free ports")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	logger := bridge.NewLogger(stderr, 0, "text")
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Close(sctx); err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge dev: shutdown: %v\n", err)
		return 1
	}
	return 0
}
