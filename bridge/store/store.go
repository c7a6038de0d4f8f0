// Package store keeps the tenants of platform mode in a database that every replica shares: SQLite for one
// replica, PostgreSQL for many. It knows nothing of the bridge's configuration: a tenant's configuration is an
// opaque document and its secrets an opaque map, sealed with AES-256-GCM before they reach the database.
//
// Writes are optimistic (each carries the version it read), domains and hosts belong to at most one tenant
// (unique indexes), and every write bumps one revision counter that Watch polls and, on PostgreSQL, that
// LISTEN/NOTIFY announces at once.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"
)

// Tenant is one customer company of a platform-mode deployment.
type Tenant struct {
	ID          string            // URL-safe slug, ^[a-z0-9][a-z0-9-]{0,62}$
	DisplayName string            // shown to people
	Domains     []string          // lower-case email domains for home-realm discovery; unique across tenants
	Hosts       []string          // lower-case host names the tenant is served on; unique across tenants
	Config      []byte            // the non-secret configuration document, opaque to the store
	Secrets     map[string]string // secret values by key path ("providers[0].client_secret"); sealed at rest
	Version     int64             // set by the store: 1 on Create, +1 on every Update
	UpdatedAt   time.Time         // set by the store, UTC, microsecond precision
}

// Change is one entry of the change feed: tenant ID is now at Version, or was deleted at Version. Revision is
// the store revision of the write.
type Change struct {
	ID       string
	Version  int64
	Deleted  bool
	Revision int64
}

// Options says which database to open and how.
type Options struct {
	Driver string // "sqlite" or "postgres"
	Path   string // SQLite: the database file (created if missing)
	DSN    string // PostgreSQL: a connection string, URL or key=value

	// EncryptionKeys is the keyring for tenant secrets, 32 bytes each: the first seals, all open.
	EncryptionKeys [][]byte

	PollInterval time.Duration    // how often Watch polls the revision; default 1s
	Timeout      time.Duration    // bound on each call's database work; default 5s
	Logger       *slog.Logger     // default: discard
	Now          func() time.Time // the clock for UpdatedAt; default time.Now
}

// Store is an open tenant store. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialect
	keys    *keyring
	opts    Options
	log     *slog.Logger
	now     func() time.Time
}

// dialect holds what differs between the drivers; every query is written once, with $n placeholders, which
// both drivers accept.
type dialect interface {
	name() string
	// uniqueViolation reports whether err is a unique-index violation.
	uniqueViolation(err error) bool
	// unavailable reports whether err means the database could not be reached or cannot serve now.
	unavailable(err error) bool
	// notify announces a committed write to other replicas, inside the write's transaction.
	notify(ctx context.Context, tx *sql.Tx, revision int64) error
	// listen calls wake after each announcement from any replica until ctx ends (PostgreSQL only).
	listen(ctx context.Context, wake func(), retry time.Duration, log *slog.Logger)
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidID reports whether id is a tenant id the store accepts. It is the same rule as config.ValidTenantID,
// kept here so that the store needs no configuration package; a test in bridge/platform holds them equal.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Open connects to the database, applies any pending migration and returns the store. A database that cannot
// be reached fails with ErrUnavailable.
func Open(ctx context.Context, opts Options) (*Store, error) {
	keys, err := newKeyring(opts.EncryptionKeys)
	if err != nil {
		return nil, err
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	s := &Store{keys: keys, opts: opts, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.db, s.dialect, err = connect(opts)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx, Up, Latest); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// connect opens the database/sql handle and the dialect for opts.Driver.
func connect(opts Options) (*sql.DB, dialect, error) {
	switch opts.Driver {
	case "sqlite":
		return openSQLite(opts)
	case "postgres":
		return openPostgres(opts)
	case "":
		return nil, nil, errors.New("store: Options.Driver is empty: want sqlite or postgres")
	default:
		return nil, nil, fmt.Errorf("store: unknown driver %q: want sqlite or postgres", opts.Driver)
	}
}

// Close releases the database connections. Watchers end when their context does.
func (s *Store) Close() error {
	return s.db.Close()
}

// bound applies Options.Timeout to one call's database work.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, s.opts.Timeout, errTimeout)
}
