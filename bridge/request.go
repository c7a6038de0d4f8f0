package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"time"
)

type ctxKey int

const requestIDKey ctxKey = 0

// requestIDHeader carries the request id in and out; the same id is on the error page and in every log line.
const requestIDHeader = "X-Request-Id"

// withRequestID takes a sane X-Request-Id from the caller (a load balancer's) or makes one, echoes it in the
// response and puts it in the request context.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !saneRequestID(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// withAccessLog logs one line per request once it is answered. The path is logged without its query, which
// carries authorization codes, states and tokens, and cut short so that a client cannot fill the log.
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &accessRecorder{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		if rw.status == 0 {
			rw.status = http.StatusOK
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http_request",
			slog.String("method", truncate(r.Method, 16)),
			slog.String("path", truncate(r.URL.Path, 256)),
			slog.Int("status", rw.status),
			slog.Int64("bytes", rw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", requestID(r.Context())),
			slog.String("client_ip", clientIP(r)))
	})
}

// accessRecorder notes the status and body size a handler writes.
type accessRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (a *accessRecorder) WriteHeader(code int) {
	if a.status == 0 && code >= 200 { // an informational 1xx is not the answer
		a.status = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *accessRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	n, err := a.ResponseWriter.Write(b)
	a.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer (flush, deadlines).
func (a *accessRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// saneRequestID accepts ids of 8–64 characters from [A-Za-z0-9._-]: nothing that could forge a log line.
func saneRequestID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// pageCSP is the policy of every page the bridge renders: no script at all, styles from /static only, and no
// framing (the embed widget, later, lists its allowed parents instead).
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// scriptPageCSP is the policy of the pages that run the bridge's own scripts (the popup result page): scripts
// from /static only — never inline — and fetch only to the bridge itself.
const scriptPageCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// embedCSP is scriptPageCSP for /embed: framed by exactly one parent, an origin already checked against
// embed.allowed_origins, so the browser itself refuses any other framer.
func embedCSP(parentOrigin string) string {
	return "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors " + parentOrigin
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The callback URL carries the authorization code: never leak it in a Referer.
		h.Set("Referrer-Policy", "no-referrer")
		if viaHTTPS(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the client's address: the peer, or what a trusted proxy says in X-Forwarded-For (proxy.go).
func clientIP(r *http.Request) string {
	if info, ok := r.Context().Value(clientInfoKey).(clientInfo); ok {
		return info.ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
