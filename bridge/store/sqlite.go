package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDialect is the single-replica driver: modernc.org/sqlite, pure Go, so the bridge builds without cgo.
type sqliteDialect struct{}

func openSQLite(opts Options) (*sql.DB, dialect, error) {
	if opts.Path == "" || opts.Path == ":memory:" {
		// Each pooled connection to ":memory:" would be a database of its own.
		return nil, nil, errors.New("store: sqlite needs Options.Path, a database file")
	}
	// WAL lets the Watch poll read while a write is under way; immediate transactions take the write lock at
	// BEGIN so two writers queue on busy_timeout instead of failing to upgrade a read lock.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+opts.Path+"?"+q.Encode())
	if err != nil {
		return nil, nil, fmt.Errorf("store: sqlite %s: %w", opts.Path, err)
	}
	return db, sqliteDialect{}, nil
}

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) uniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func (sqliteDialect) unavailable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return errors.Is(err, sql.ErrConnDone)
	}
	switch e.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL:
		return true
	}
	return false
}

// SQLite has no way to signal other connections, so Watch's poll is the whole feed.
func (sqliteDialect) notify(context.Context, *sql.Tx, int64) error { return nil }

func (sqliteDialect) listen(context.Context, func(), time.Duration, *slog.Logger) {}
