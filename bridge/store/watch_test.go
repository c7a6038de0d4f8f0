package store

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/logtest"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store/pgtest"
)

// TestWatch: one replica watches while another writes; each write arrives in order, deletes included.
func TestWatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		opts.PollInterval = 50 * time.Millisecond
		watcher, writer := open(t, opts), open(t, opts)
		if _, err := writer.Create(ctx, Tenant{ID: "before"}); err != nil {
			t.Fatal(err)
		}
		ch := watcher.Watch(ctx) // from the current revision: "before" is not news

		steps := []struct {
			write func() error
			want  Change
		}{
			{func() error { _, err := writer.Create(ctx, acme()); return err }, Change{ID: "acme", Version: 1}},
			{func() error { _, err := writer.Update(ctx, acme(), 1); return err }, Change{ID: "acme", Version: 2}},
			{func() error { return writer.Delete(ctx, "acme", 2) }, Change{ID: "acme", Version: 2, Deleted: true}},
		}
		var last int64
		for _, step := range steps {
			if err := step.write(); err != nil {
				t.Fatal(err)
			}
			got := within(t, ch, 2*time.Second)
			if got.ID != step.want.ID || got.Version != step.want.Version || got.Deleted != step.want.Deleted || got.Revision <= last {
				t.Fatalf("change %+v, want %+v after revision %d", got, step.want, last)
			}
			last = got.Revision
		}
		if rev, err := writer.Revision(ctx); err != nil || rev != last {
			t.Errorf("Revision = %d, %v; the last change was at %d", rev, err, last)
		}
	})
}

// TestWatchNotify: on PostgreSQL a change arrives at once through LISTEN/NOTIFY, without waiting for a poll.
func TestWatchNotify(t *testing.T) {
	opts := backends[1].fresh(t)
	ctx := t.Context()
	logs := &logtest.Buffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.PollInterval = time.Hour // no poll comes in time: only a notification can deliver
	watcher := open(t, opts)
	opts.Logger = nil
	writer := open(t, opts)
	ch := watcher.Watch(ctx)
	waitFor(t, func() bool { return strings.Contains(logs.String(), "listening for change notifications") })
	// The first write may still meet the catch-up poll that follows LISTEN; the second can only be announced.
	for version := int64(1); version <= 2; version++ {
		start := time.Now()
		var err error
		if version == 1 {
			_, err = writer.Create(ctx, acme())
		} else {
			_, err = writer.Update(ctx, acme(), 1)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := within(t, ch, 2*time.Second); got.ID != "acme" || got.Version != version {
			t.Fatalf("change %+v, want acme at %d", got, version)
		}
		t.Logf("version %d arrived after %v", version, time.Since(start))
	}
}

// TestUnavailable stops PostgreSQL under an open store: calls fail with ErrUnavailable, and once it is back the
// store serves again and the watch catches up with a write made by another replica.
func TestUnavailable(t *testing.T) {
	if pgtest.Skipped() {
		t.Skip(pgtest.SkipEnv + "=1")
	}
	srv := pgtest.Start(t) // its own server, to stop
	ctx := t.Context()
	opts := Options{Driver: "postgres", DSN: srv.NewDatabase(t), PollInterval: 100 * time.Millisecond, Timeout: 2 * time.Second}
	s := open(t, opts)
	ch := s.Watch(ctx)
	if _, err := s.Create(ctx, acme()); err != nil {
		t.Fatal(err)
	}
	within(t, ch, 2*time.Second)

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Get":          func() error { _, err := s.Get(ctx, "acme"); return err },
		"List":         func() error { _, _, err := s.List(ctx, "", 10); return err },
		"Create":       func() error { _, err := s.Create(ctx, Tenant{ID: "globex"}); return err },
		"Update":       func() error { _, err := s.Update(ctx, acme(), 1); return err },
		"Delete":       func() error { return s.Delete(ctx, "acme", 1) },
		"LookupDomain": func() error { _, err := s.LookupDomain(ctx, "acme.example"); return err },
		"Revision":     func() error { _, err := s.Revision(ctx); return err },
		"RotateKeys":   func() error { _, err := s.RotateKeys(ctx); return err },
		"Open": func() error {
			_, err := Open(ctx, Options{Driver: "postgres", DSN: opts.DSN, EncryptionKeys: [][]byte{keyA}})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with the database stopped: %v, want ErrUnavailable", name, err)
		}
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	other := open(t, opts) // another replica writes while the watcher's LISTEN may still be reconnecting
	if _, err := other.Update(ctx, acme(), 1); err != nil {
		t.Fatalf("Update after restart: %v", err)
	}
	if got := within(t, ch, 5*time.Second); got.ID != "acme" || got.Version != 2 {
		t.Fatalf("change after restart %+v, want acme at 2", got)
	}
	if got, err := s.Get(ctx, "acme"); err != nil || got.Version != 2 {
		t.Fatalf("Get after restart: version %d, %v", got.Version, err)
	}
}

// TestWatchEnds: the channel closes when the context ends.
func TestWatchEnds(t *testing.T) {
	s := open(t, backends[0].fresh(t))
	ctx, cancel := context.WithCancel(t.Context())
	ch := s.Watch(ctx)
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("a change after cancel")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the channel did not close")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
