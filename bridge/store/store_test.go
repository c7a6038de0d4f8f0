package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/store/pgtest"
)

// pg is the PostgreSQL server the tests of this package share (each test gets its own database); pgErr is why
// there is none.
var (
	pg    *pgtest.Server
	pgErr error
)

func TestMain(m *testing.M) {
	if !pgtest.Skipped() {
		pg, pgErr = pgtest.Launch()
	}
	code := m.Run()
	if pg != nil {
		if err := pg.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// backend makes a fresh, empty database of one driver.
type backend struct {
	name  string
	fresh func(t *testing.T) Options
}

var backends = []backend{
	{"sqlite", func(t *testing.T) Options {
		return Options{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "tenants.db")}
	}},
	{"postgres", func(t *testing.T) Options {
		if pgtest.Skipped() {
			t.Skip(pgtest.SkipEnv + "=1: PostgreSQL tests skipped")
		}
		if pgErr != nil {
			t.Fatalf("PostgreSQL is required (Debian's postgresql package, or set %s=1): %v", pgtest.SkipEnv, pgErr)
		}
		return Options{Driver: "postgres", DSN: pg.NewDatabase(t)}
	}},
}

// forEachBackend runs test once per driver, each on a fresh database.
func forEachBackend(t *testing.T, test func(t *testing.T, opts Options)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.fresh(t)) })
	}
}

var keyA, keyB = bytes.Repeat([]byte{'a'}, 32), bytes.Repeat([]byte{'b'}, 32)

// open opens opts with keys (default [keyA]) and closes the store when the test ends.
func open(t *testing.T, opts Options, keys ...[]byte) *Store {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{keyA}
	}
	opts.EncryptionKeys = keys
	s, err := Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func acme() Tenant {
	return Tenant{
		ID:          "acme",
		DisplayName: "Acme Call Center",
		Domains:     []string{"acme.example", "acme-cn.example"},
		Hosts:       []string{"login.acme.example"},
		Config:      []byte(`{"providers":[{"type":"oidc"}]}`),
		Secrets:     map[string]string{"providers[0].client_secret": "s3cr3t-acme-client"},
	}
}

func TestCRUD(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		s := open(t, opts)
		created, err := s.Create(ctx, acme())
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if created.Version != 1 || created.UpdatedAt.IsZero() {
			t.Fatalf("Create = version %d, updated %v; want version 1 and a time", created.Version, created.UpdatedAt)
		}
		got, err := s.Get(ctx, "acme")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if !reflect.DeepEqual(got, created) {
			t.Fatalf("Get = %+v\nwant %+v", got, created)
		}
		if !reflect.DeepEqual(got.Domains, []string{"acme-cn.example", "acme.example"}) {
			t.Errorf("Domains = %v, want sorted", got.Domains)
		}

		for _, lookup := range []struct {
			name string
			fn   func(context.Context, string) (string, error)
			key  string
		}{{"domain", s.LookupDomain, "ACME.example"}, {"host", s.LookupHost, "login.acme.example"}} {
			if id, err := lookup.fn(ctx, lookup.key); err != nil || id != "acme" {
				t.Errorf("Lookup %s %q = %q, %v; want acme", lookup.name, lookup.key, id, err)
			}
			if _, err := lookup.fn(ctx, "nobody.example"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Lookup %s of an unknown name: %v, want ErrNotFound", lookup.name, err)
			}
		}

		next := got
		next.DisplayName = "Acme"
		next.Domains = []string{"acme.example"}
		next.Secrets = map[string]string{"providers[0].client_secret": "rotated"}
		updated, err := s.Update(ctx, next, 1)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if updated.Version != 2 {
			t.Errorf("Update version = %d, want 2", updated.Version)
		}
		got, err = s.Get(ctx, "acme")
		if err != nil || !reflect.DeepEqual(got, updated) {
			t.Fatalf("Get after Update = %+v, %v\nwant %+v", got, err, updated)
		}
		if _, err := s.LookupDomain(ctx, "acme-cn.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a domain the update dropped still resolves: %v", err)
		}

		if err := s.Delete(ctx, "acme", 2); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(ctx, "acme"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete: %v, want ErrNotFound", err)
		}
		if _, err := s.LookupHost(ctx, "login.acme.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupHost after Delete: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "acme", 2); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Delete: %v, want ErrNotFound", err)
		}
		if _, err := s.Update(ctx, updated, 2); !errors.Is(err, ErrNotFound) {
			t.Errorf("Update after Delete: %v, want ErrNotFound", err)
		}
		// The id is free again, at version 1.
		if again, err := s.Create(ctx, acme()); err != nil || again.Version != 1 {
			t.Errorf("Create after Delete = version %d, %v", again.Version, err)
		}
	})
}

func TestVersionConflict(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		s := open(t, opts)
		v1, err := s.Create(ctx, acme())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, v1, 1); err != nil {
			t.Fatal(err)
		}
		// A second writer that read version 1 loses, and learns the version to re-read.
		_, err = s.Update(ctx, v1, 1)
		var conflict ErrVersionConflict
		if !errors.As(err, &conflict) || conflict.Current != 2 || conflict.Expected != 1 || conflict.ID != "acme" {
			t.Fatalf("stale Update: %v, want ErrVersionConflict{acme, 1, 2}", err)
		}
		if err := s.Delete(ctx, "acme", 1); !errors.As(err, &conflict) || conflict.Current != 2 {
			t.Fatalf("stale Delete: %v, want ErrVersionConflict at 2", err)
		}
		if got, err := s.Get(ctx, "acme"); err != nil || got.Version != 2 {
			t.Fatalf("after the conflicts: version %d, %v; want 2", got.Version, err)
		}
	})
}

func TestDuplicates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		s := open(t, opts)
		if _, err := s.Create(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		globex, err := s.Create(ctx, Tenant{ID: "globex", Domains: []string{"globex.example"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			write func() error
			want  ErrDuplicate
		}{
			{"same id", func() error { _, err := s.Create(ctx, Tenant{ID: "acme"}); return err },
				ErrDuplicate{"id", "acme", "acme"}},
			{"domain on create", func() error {
				_, err := s.Create(ctx, Tenant{ID: "initech", Domains: []string{"initech.example", "acme.example"}})
				return err
			}, ErrDuplicate{"domain", "acme.example", "acme"}},
			{"host on create", func() error {
				_, err := s.Create(ctx, Tenant{ID: "initech", Hosts: []string{"login.acme.example"}})
				return err
			}, ErrDuplicate{"host", "login.acme.example", "acme"}},
			{"domain on update", func() error {
				g := globex
				g.Domains = append(g.Domains, "acme-cn.example")
				_, err := s.Update(ctx, g, 1)
				return err
			}, ErrDuplicate{"domain", "acme-cn.example", "acme"}},
		} {
			err := tc.write()
			var dup ErrDuplicate
			if !errors.As(err, &dup) || dup != tc.want {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		// Nothing of a failed write remains.
		if _, err := s.Get(ctx, "initech"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a failed Create left a tenant: %v", err)
		}
		if got, _ := s.Get(ctx, "globex"); got.Version != 1 || len(got.Domains) != 1 {
			t.Errorf("a failed Update changed globex: %+v", got)
		}
	})
}

func TestInvalid(t *testing.T) {
	s := open(t, backends[0].fresh(t))
	for _, tn := range []Tenant{
		{ID: ""}, {ID: "Acme"}, {ID: "-acme"}, {ID: "acme/x"}, {ID: strings.Repeat("a", 64)},
		{ID: "acme", Domains: []string{"Acme.example"}},
		{ID: "acme", Domains: []string{"a.example", "a.example"}},
		{ID: "acme", Domains: []string{"a,b.example"}},
		{ID: "acme", Hosts: []string{"login.acme.example/path"}},
	} {
		if _, err := s.Create(t.Context(), tn); !errors.Is(err, ErrInvalid) {
			t.Errorf("Create(%+v): %v, want ErrInvalid", tn, err)
		}
	}
}

func TestList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		s := open(t, opts)
		var want []string
		for i := range 7 {
			id := fmt.Sprintf("t%02d", 6-i) // written out of order
			if _, err := s.Create(ctx, Tenant{ID: id, Domains: []string{id + ".example"}}); err != nil {
				t.Fatal(err)
			}
			want = append([]string{id}, want...)
		}
		var got []string
		pages := 0
		for cursor := ""; ; {
			page, next, err := s.List(ctx, cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, tn := range page {
				got = append(got, tn.ID)
				if len(tn.Domains) != 1 || tn.Domains[0] != tn.ID+".example" {
					t.Errorf("%s: domains %v", tn.ID, tn.Domains)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !reflect.DeepEqual(got, want) || pages != 3 {
			t.Fatalf("pages %d of %v, want 3 of %v", pages, got, want)
		}
		if page, next, err := s.List(ctx, "", 7); err != nil || len(page) != 7 || next != "" {
			t.Errorf("an exact page: %d tenants, next %q, %v; want 7 and no next page", len(page), next, err)
		}
	})
}

// TestSchemaMigrations moves each database down to nothing and up again.
func TestSchemaMigrations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		if v, err := Migrate(ctx, opts, Up, Latest); err != nil || v != 1 {
			t.Fatalf("Migrate up = %d, %v; want 1", v, err)
		}
		s := open(t, opts)
		if _, err := s.Create(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		if v, err := Migrate(ctx, opts, Down, 0); err != nil || v != 0 {
			t.Fatalf("Migrate down = %d, %v; want 0", v, err)
		}
		if _, err := s.Get(ctx, "acme"); err == nil || errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after migrating down: %v, want the missing table's error", err)
		}
		if v, err := Migrate(ctx, opts, Up, Latest); err != nil || v != 1 {
			t.Fatalf("Migrate up again = %d, %v; want 1", v, err)
		}
		if _, err := s.Get(ctx, "acme"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get on the fresh schema: %v, want ErrNotFound", err)
		}
		if rev, err := s.Revision(ctx); err != nil || rev != 0 {
			t.Fatalf("Revision on the fresh schema = %d, %v", rev, err)
		}
	})
}

func TestOpenRefuses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "x.db")
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no driver", Options{Path: path, EncryptionKeys: [][]byte{keyA}}},
		{"unknown driver", Options{Driver: "mysql", EncryptionKeys: [][]byte{keyA}}},
		{"no keys", Options{Driver: "sqlite", Path: path}},
		{"short key", Options{Driver: "sqlite", Path: path, EncryptionKeys: [][]byte{keyA[:16]}}},
		{"repeated key", Options{Driver: "sqlite", Path: path, EncryptionKeys: [][]byte{keyA, keyA}}},
		{"memory", Options{Driver: "sqlite", Path: ":memory:", EncryptionKeys: [][]byte{keyA}}},
		{"no dsn", Options{Driver: "postgres", EncryptionKeys: [][]byte{keyA}}},
	} {
		if s, err := Open(ctx, tc.opts); err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", tc.name)
		}
	}
	// A DSN's password must not reach the error.
	_, err := Open(ctx, Options{Driver: "postgres", DSN: "postgres://u:hunter2@127.0.0.1:1/db?sslmode=bogus", EncryptionKeys: [][]byte{keyA}})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad DSN: %v", err)
	}
}

// within fails the test if ch yields nothing within d; it returns what it yielded.
func within(t *testing.T, ch <-chan Change, d time.Duration) Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return c
	case <-time.After(d):
		t.Fatalf("no change within %v", d)
	}
	return Change{}
}

// TestConcurrentWriters: replicas that all read version 1 update at once; exactly one wins.
func TestConcurrentWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		first := open(t, opts)
		if _, err := first.Create(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		const writers = 6
		errs := make(chan error, writers)
		for i := range writers {
			s := first
			if i%2 == 1 {
				s = open(t, opts) // half of them through another pool, as another replica would
			}
			go func() {
				tn := acme()
				tn.DisplayName = fmt.Sprint("writer ", i)
				_, err := s.Update(ctx, tn, 1)
				errs <- err
			}()
		}
		wins := 0
		for range writers {
			err := <-errs
			var conflict ErrVersionConflict
			switch {
			case err == nil:
				wins++
			case errors.As(err, &conflict) && conflict.Current == 2:
			default:
				t.Errorf("a losing writer: %v, want ErrVersionConflict at 2", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d writers won, want 1", wins)
		}
	})
}
