package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// notifyChannel is the LISTEN/NOTIFY channel every write announces its revision on.
const notifyChannel = "fuyun_bridge_tenants"

// postgresDialect is the many-replica driver: pgx through database/sql for queries, and one pgx connection of
// its own per watcher for LISTEN.
type postgresDialect struct {
	config *pgx.ConnConfig
}

func openPostgres(opts Options) (*sql.DB, dialect, error) {
	if opts.DSN == "" {
		return nil, nil, errors.New("store: postgres needs Options.DSN")
	}
	config, err := pgx.ParseConfig(opts.DSN)
	if err != nil {
		// pgx's message can quote the DSN, password included.
		return nil, nil, errors.New("store: postgres: Options.DSN does not parse as a connection string")
	}
	if config.ConnectTimeout == 0 {
		config.ConnectTimeout = 5 * time.Second
	}
	return stdlib.OpenDB(*config), postgresDialect{config: config}, nil
}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) uniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// unavailable: any error the server did not answer with an SQLSTATE is about reaching it (refused, reset, timed
// out, closed); of those it did answer, connection exceptions (08), insufficient resources (53) and operator
// intervention (57: shutting down, starting up, cancelled) mean it cannot serve now.
func (postgresDialect) unavailable(err error) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return true
	}
	switch e.Code[:2] {
	case "08", "53", "57":
		return true
	}
	return false
}

func (postgresDialect) notify(ctx context.Context, tx *sql.Tx, revision int64) error {
	// Delivered when the transaction commits, and only then.
	_, err := tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", notifyChannel, strconv.FormatInt(revision, 10))
	return err
}

// listen holds a connection in LISTEN and calls wake for each notification. When the connection fails it
// reconnects every retry, and wakes once after each (re)connect to catch up what it missed while away.
func (d postgresDialect) listen(ctx context.Context, wake func(), retry time.Duration, log *slog.Logger) {
	down := false
	for ctx.Err() == nil {
		err := d.listenOnce(ctx, wake, func() {
			if down {
				log.Info("store: change notifications resumed")
				down = false
			}
			log.Debug("store: listening for change notifications")
			wake()
		})
		if ctx.Err() != nil {
			return
		}
		if !down {
			log.Warn("store: change notifications lost; polling until reconnected", "err", err)
			down = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

func (d postgresDialect) listenOnce(ctx context.Context, wake, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, d.config.Copy())
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("LISTEN: %w", err)
	}
	listening()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
