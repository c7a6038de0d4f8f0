package fuyunsim_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

// captured records what the emulator logs, at every level.
type captured struct {
	mu      sync.Mutex
	records []slog.Record
}

func (c *captured) Enabled(context.Context, slog.Level) bool { return true }
func (c *captured) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *captured) WithGroup(string) slog.Handler            { return c }
func (c *captured) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r.Clone())
	return nil
}

func (c *captured) take() []slog.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.records
	c.records = nil
	return r
}

// TestReadinessPingLogsAtDebug: the bridge's /readyz pings the token URL with a credential-less GET every
// few seconds. The emulator answers it 405 as Fuyun does, but logs it at debug, not as a refused exchange;
// a GET with credentials and a real refusal stay warnings.
func TestReadinessPingLogsAtDebug(t *testing.T) {
	logs := &captured{}
	e := newEnv(t, fuyunsim.Options{Logger: slog.New(logs)})

	// The bridge's own ping, not an imitation of it.
	c, err := fuyun.NewClient(fuyun.Config{TokenURL: e.url, ClientID: clientID, ClientSecret: clientSecret,
		Scope: "user_management,hotline", RedirectURL: redirectURL, AllowInsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkOneRecord(t, "readiness ping", logs.take(), slog.LevelDebug, "token endpoint pinged")
	if resp, _ := e.do(t, request{method: http.MethodGet}); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET of the token URL: %d, want 405 as the real endpoint answers", resp.StatusCode)
	}
	checkOneRecord(t, "plain GET", logs.take(), slog.LevelDebug, "token endpoint pinged")

	for _, tc := range []struct {
		name string
		rq   request
	}{
		{"GET with credentials", request{method: http.MethodGet, auth: basic(clientID, clientSecret)}},
		{"GET with a query", request{method: http.MethodGet, query: "grant_type=x"}},
		{"POST with a wrong secret", request{method: http.MethodPost, contentType: "application/x-www-form-urlencoded",
			auth: basic(clientID, "wrong"), body: "grant_type=x"}},
	} {
		e.do(t, tc.rq)
		checkOneRecord(t, tc.name, logs.take(), slog.LevelWarn, "token exchange refused")
	}
}

func checkOneRecord(t *testing.T, what string, got []slog.Record, level slog.Level, msg string) {
	t.Helper()
	if len(got) != 1 || got[0].Level != level || got[0].Message != msg {
		var seen []string
		for _, r := range got {
			seen = append(seen, r.Level.String()+" "+r.Message)
		}
		t.Errorf("%s logged %q, want one %s %q", what, seen, level, msg)
	}
}
