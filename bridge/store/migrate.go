package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"math"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Direction says which way Migrate moves the schema.
type Direction int

const (
	Up   Direction = iota // apply migrations up to and including a version
	Down                  // roll back migrations above a version
)

// Latest as Migrate's target means every migration this build knows.
const Latest int64 = math.MaxInt64

// Migrate moves the schema of the database in opts to version to (Up to Latest; Down to 0 removes every table
// of the store) and returns the version it is at afterwards. It needs no encryption keys. Open migrates Up by
// itself; Migrate is for the `store migrate` command and for rolling back.
func Migrate(ctx context.Context, opts Options, dir Direction, to int64) (int64, error) {
	db, d, err := connect(opts)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	s := &Store{db: db, dialect: d}
	if err := s.migrate(ctx, dir, to); err != nil {
		return 0, err
	}
	return s.schemaVersion(ctx)
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+s.dialect.name())
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if s.dialect.name() == "postgres" {
		dialect = goose.DialectPostgres
		// Replicas starting together must not migrate together: an advisory lock serialises them.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, s.db, fsys, opts...)
}

func (s *Store) migrate(ctx context.Context, dir Direction, to int64) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	switch dir {
	case Up:
		_, err = p.UpTo(ctx, to)
	case Down:
		_, err = p.DownTo(ctx, to)
	default:
		return fmt.Errorf("store: unknown migration direction %d", dir)
	}
	if err != nil {
		return s.fail(ctx, "migrate", err)
	}
	return nil
}

func (s *Store) schemaVersion(ctx context.Context) (int64, error) {
	p, err := s.provider()
	if err != nil {
		return 0, fmt.Errorf("store: migrations: %w", err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, s.fail(ctx, "schema version", err)
	}
	return v, nil
}
