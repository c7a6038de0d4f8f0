package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platform"
)

// runBridge serves the bridge exactly as `fuyun-bridge serve` builds it (config.Load, NewFromConfig,
// NewHTTPServer, Serve) on the listener inherited as fd 3, logging to -log. A config with store.driver is
// platform mode, as in serve: platform.Open, then Platform.Run; it serves once the tenants are loaded.
func runBridge(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "the bridge's YAML configuration")
	logPath := fs.String("log", "", "file for the bridge's log lines (default: discard)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "bridge: %v\n", err)
		return 1
	}
	logOut := io.Discard
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			fmt.Fprintf(stderr, "bridge: %v\n", err)
			return 1
		}
		defer f.Close()
		logOut = f
	}
	logger := bridge.NewLogger(logOut, cfg.Log.SlogLevel, cfg.Log.Format)
	bridge.TuneGCFor(cfg.Store.Enabled()) // as serve does
	ctx, stop := stopContext()
	defer stop()
	var public http.Handler
	if cfg.Store.Enabled() {
		p, st, err := platform.Open(ctx, cfg, bridge.BuildOptions{Logger: logger})
		if err != nil {
			fmt.Fprintf(stderr, "bridge: %v\n", err)
			return 1
		}
		defer st.Close()
		runCtx, stopRun := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() { defer close(ran); p.Run(runCtx) }()
		defer func() { stopRun(); <-ran }() // before the store closes
		loadCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := p.WaitLoaded(loadCtx); err != nil {
			fmt.Fprintf(stderr, "bridge: %v\n", err)
			return 1
		}
		public = p
	} else {
		srv, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{Logger: logger})
		if err != nil {
			fmt.Fprintf(stderr, "bridge: %v\n", err)
			return 1
		}
		public = srv
	}
	lns, err := inheritedListeners([]string{"bridge"})
	if err != nil {
		fmt.Fprintf(stderr, "bridge: %v\n", err)
		return 1
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		fmt.Fprintf(stderr, "bridge: %v\n", err)
		return 1
	}
	defer stopProfile()
	if err := bridge.Serve(ctx, bridge.NewHTTPServer(public, logger), lns["bridge"], "", "", 5*time.Second); err != nil {
		fmt.Fprintf(stderr, "bridge: %v\n", err)
		return 1
	}
	return 0
}

// startCPUProfile writes a CPU profile to path until the returned func is called; "" profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}
