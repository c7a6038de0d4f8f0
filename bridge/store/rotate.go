package store

import (
	"context"
	"database/sql"
)

// rotateBatch is how many rows RotateKeys re-seals per transaction: short transactions, no long row locks.
const rotateBatch = 100

// RotateKeys re-seals every tenant's secrets that are not under the first key of the keyring, in transactions
// of rotateBatch rows, and returns how many rows it changed. After it, keys other than the first can leave the
// keyring. It bumps neither versions nor the revision: no tenant's content changes. A row no key opens stops it
// with ErrDecrypt.
func (s *Store) RotateKeys(ctx context.Context) (int, error) {
	total := 0
	for after := ""; ; {
		n, last, err := s.rotate(ctx, after)
		total += n
		if err != nil || last == "" {
			return total, err
		}
		after = last
	}
}

type sealedRow struct {
	id, keyID string
	sealed    []byte
	version   int64
}

// rotate re-seals one batch of rows with ids after after, returning the rows changed and the last id seen
// ("" when no row was left).
func (s *Store) rotate(ctx context.Context, after string) (changed int, last string, err error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, "", s.fail(ctx, "rotate keys", err)
	}
	defer tx.Rollback()
	batch, err := selectStale(ctx, tx, s.keys.current(), after)
	if err != nil {
		return 0, "", s.fail(ctx, "rotate keys", err)
	}
	for _, row := range batch {
		plain, err := s.keys.open(row.id, row.keyID, row.sealed)
		if err != nil {
			return 0, "", err
		}
		keyID, sealed := s.keys.seal(row.id, plain)
		// Conditional on what was read: an Update that landed in between already sealed under a current key.
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET secrets_key = $2, secrets = $3
			WHERE id = $1 AND version = $4 AND secrets_key = $5`, row.id, keyID, sealed, row.version, row.keyID)
		if err != nil {
			return 0, "", s.fail(ctx, "rotate keys", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, "", s.fail(ctx, "rotate keys", err)
		}
		changed += int(n)
		last = row.id
	}
	if err := tx.Commit(); err != nil {
		return 0, "", s.fail(ctx, "rotate keys", err)
	}
	return changed, last, nil
}

func selectStale(ctx context.Context, tx *sql.Tx, current, after string) ([]sealedRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, secrets_key, secrets, version FROM tenants
		WHERE secrets_key <> $1 AND id > $2 ORDER BY id LIMIT $3`, current, after, rotateBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var batch []sealedRow
	for rows.Next() {
		var r sealedRow
		if err := rows.Scan(&r.id, &r.keyID, &r.sealed, &r.version); err != nil {
			return nil, err
		}
		batch = append(batch, r)
	}
	return batch, rows.Err()
}
