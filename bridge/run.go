package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"
)

// NewLogger builds the process logger: format "json" (production) or "text" (dev).
func NewLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// DefaultGCPercent is the GOGC the bridge runs with unless the environment sets GOGC. The bridge's live heap
// is small (a few MiB) and its garbage is per-request, so a less eager collector trades ~12 MiB of RSS for
// ~15 % less CPU per login (make load: 0.90 → 0.76 ms in OAuth mode).
const DefaultGCPercent = 400

// DefaultPlatformGCPercent is the GOGC of platform mode unless the environment sets GOGC. There the live heap
// is mostly the tenants' records (about 4 KiB each: 40 MiB for 10,000), and DefaultGCPercent's headroom would
// let the heap grow to five times that between collections (peak RSS 234–246 MiB under make load with 10,000
// tenants); at 100 a collection comes after as many bytes of garbage as there are records — still about every
// 700 logins at 10,000 tenants.
const DefaultPlatformGCPercent = 100

// TuneGC applies DefaultGCPercent when GOGC is not set and returns the GOGC in force, for the start-up log.
func TuneGC() string { return TuneGCFor(false) }

// TuneGCFor is TuneGC for a bridge in platform mode (DefaultPlatformGCPercent) or not.
func TuneGCFor(platform bool) string {
	if v, ok := os.LookupEnv("GOGC"); ok {
		return v
	}
	percent := DefaultGCPercent
	if platform {
		percent = DefaultPlatformGCPercent
	}
	debug.SetGCPercent(percent)
	return strconv.Itoa(percent)
}

// NewHTTPServer wraps h in an http.Server with the timeouts and header limits a browser-facing service needs.
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Serve serves srv on ln (TLS when certFile is set) until ctx ends, then shuts down gracefully: it stops
// accepting and lets logins in flight finish within grace.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, certFile, keyFile string, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
