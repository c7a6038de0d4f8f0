package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Both drivers accept $n placeholders and string_agg (SQLite since 3.44), so each query is written once.
const selectTenant = `SELECT t.id, t.display_name, t.config, t.secrets_key, t.secrets, t.version, t.updated_at,
	COALESCE((SELECT string_agg(d.domain, ',') FROM tenant_domains d WHERE d.tenant_id = t.id), ''),
	COALESCE((SELECT string_agg(h.host, ',') FROM tenant_hosts h WHERE h.tenant_id = t.id), '')
	FROM tenants t`

var (
	domainPattern = regexp.MustCompile(`^[a-z0-9.-]{1,253}$`)
	hostPattern   = regexp.MustCompile(`^[a-z0-9.:\[\]-]{1,261}$`) // a name or an address, with an optional port
)

// Get returns the tenant with id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Tenant, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ts, err := s.query(ctx, selectTenant+` WHERE t.id = $1`, id)
	if err != nil {
		return Tenant{}, s.fail(ctx, "get", err)
	}
	if len(ts) == 0 {
		return Tenant{}, fmt.Errorf("%w: tenant %q", ErrNotFound, id)
	}
	return ts[0], nil
}

// List returns up to limit tenants (default 100, at most 1000) in id order after cursor ("" for the first page),
// and the cursor of the next page, "" after the last.
func (s *Store) List(ctx context.Context, cursor string, limit int) ([]Tenant, string, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	ctx, cancel := s.bound(ctx)
	defer cancel()
	// One more than asked tells whether another page follows.
	ts, err := s.query(ctx, selectTenant+` WHERE t.id > $1 ORDER BY t.id LIMIT $2`, cursor, limit+1)
	if err != nil {
		return nil, "", s.fail(ctx, "list", err)
	}
	if len(ts) <= limit {
		return ts, "", nil
	}
	ts = ts[:limit]
	return ts, ts[limit-1].ID, nil
}

// query runs a selectTenant query and opens each row's secrets.
func (s *Store) query(ctx context.Context, query string, args ...any) ([]Tenant, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []Tenant
	for rows.Next() {
		var (
			t              Tenant
			keyID          string
			sealed         []byte
			domains, hosts string
		)
		if err := rows.Scan(&t.ID, &t.DisplayName, &t.Config, &keyID, &sealed, &t.Version, &t.UpdatedAt,
			&domains, &hosts); err != nil {
			return nil, err
		}
		plain, err := s.keys.open(t.ID, keyID, sealed)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(plain, &t.Secrets); err != nil {
			return nil, fmt.Errorf("%w: tenant %q: %w", ErrDecrypt, t.ID, err)
		}
		if len(t.Secrets) == 0 {
			t.Secrets = nil
		}
		if len(t.Config) == 0 {
			t.Config = nil
		}
		t.Domains, t.Hosts = splitSorted(domains), splitSorted(hosts)
		t.UpdatedAt = t.UpdatedAt.UTC()
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

func splitSorted(joined string) []string {
	if joined == "" {
		return nil
	}
	list := strings.Split(joined, ",")
	slices.Sort(list)
	return list
}

// Create writes a new tenant at Version 1 and returns it as stored. An id, domain or host that another tenant
// holds fails with ErrDuplicate.
func (s *Store) Create(ctx context.Context, t Tenant) (Tenant, error) {
	t, err := s.prepare(t, 1)
	if err != nil {
		return Tenant{}, err
	}
	err = s.write(ctx, "create", t, func(ctx context.Context, tx *sql.Tx, revision int64, keyID string, sealed []byte) error {
		return insertTenant(ctx, tx, t, revision, keyID, sealed)
	})
	if err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// insertTenant writes a new tenant row; its domains and hosts are the caller's.
func insertTenant(ctx context.Context, tx *sql.Tx, t Tenant, revision int64, keyID string, sealed []byte) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenants
		(id, display_name, config, secrets_key, secrets, version, revision, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.DisplayName, orEmpty(t.Config), keyID, sealed, t.Version, revision, t.UpdatedAt); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM tenant_tombstones WHERE id = $1`, t.ID)
	return err
}

// MaxCreateMany bounds one CreateMany: one transaction, like one page of List.
const MaxCreateMany = 1000

// CreateMany writes up to MaxCreateMany new tenants at Version 1 in one transaction under one revision — all
// of them, or none when one fails — and returns them as stored: an import, at the cost of one write instead of
// one per tenant. An id, domain or host that another tenant holds, in the store or earlier in ts, fails with
// ErrDuplicate.
func (s *Store) CreateMany(ctx context.Context, ts []Tenant) ([]Tenant, error) {
	if len(ts) > MaxCreateMany {
		return nil, fmt.Errorf("%w: %d tenants in one CreateMany, at most %d", ErrInvalid, len(ts), MaxCreateMany)
	}
	if len(ts) == 0 {
		return nil, nil
	}
	out := make([]Tenant, len(ts))
	holders := map[[2]string]string{} // {field, value} → the tenant of ts that holds it
	for i, t := range ts {
		t, err := s.prepare(t, 1)
		if err != nil {
			return nil, err
		}
		if err := claimNames(holders, t); err != nil {
			return nil, err
		}
		out[i] = t
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.inTx(ctx, func(tx *sql.Tx, revision int64) error {
		for _, t := range out {
			keyID, sealed, err := s.seal(t)
			if err != nil {
				return err
			}
			if err := insertTenant(ctx, tx, t, revision, keyID, sealed); err != nil {
				return err
			}
			if err := replaceNames(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && s.dialect.uniqueViolation(err) {
		for _, t := range out {
			if dup, found, lookupErr := s.holder(ctx, "create", t); lookupErr != nil {
				return nil, s.fail(ctx, "create many", lookupErr)
			} else if found {
				return nil, dup
			}
		}
	}
	if err := s.wrap(ctx, "create many", err); err != nil {
		return nil, err
	}
	return out, nil
}

// claimNames records t's id, domains and hosts in holders, or fails with ErrDuplicate naming the tenant that
// claimed one first.
func claimNames(holders map[[2]string]string, t Tenant) error {
	claim := func(field, value string) error {
		key := [2]string{field, value}
		if holder, ok := holders[key]; ok {
			return ErrDuplicate{Field: field, Value: value, Holder: holder}
		}
		holders[key] = t.ID
		return nil
	}
	if err := claim("id", t.ID); err != nil {
		return err
	}
	for _, d := range t.Domains {
		if err := claim("domain", d); err != nil {
			return err
		}
	}
	for _, h := range t.Hosts {
		if err := claim("host", h); err != nil {
			return err
		}
	}
	return nil
}

// Update replaces the tenant t.ID (every field, secrets included) if it is still at ifVersion, and returns it at
// the next version. A stale ifVersion fails with ErrVersionConflict, a missing tenant with ErrNotFound.
func (s *Store) Update(ctx context.Context, t Tenant, ifVersion int64) (Tenant, error) {
	t, err := s.prepare(t, ifVersion+1)
	if err != nil {
		return Tenant{}, err
	}
	err = s.write(ctx, "update", t, func(ctx context.Context, tx *sql.Tx, revision int64, keyID string, sealed []byte) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET display_name = $2, config = $3, secrets_key = $4,
			secrets = $5, version = $6, revision = $7, updated_at = $8 WHERE id = $1 AND version = $9`,
			t.ID, t.DisplayName, orEmpty(t.Config), keyID, sealed, t.Version, revision, t.UpdatedAt, ifVersion)
		if err != nil {
			return err
		}
		return s.expectOne(ctx, tx, res, t.ID, ifVersion)
	})
	if err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// Delete removes the tenant id if it is still at ifVersion. Watchers see a Change with Deleted set.
func (s *Store) Delete(ctx context.Context, id string, ifVersion int64) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := s.inTx(ctx, func(tx *sql.Tx, revision int64) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE id = $1 AND version = $2`, id, ifVersion)
		if err != nil {
			return err
		}
		if err := s.expectOne(ctx, tx, res, id, ifVersion); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM tenant_domains WHERE tenant_id = $1`, `DELETE FROM tenant_hosts WHERE tenant_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tenant_tombstones (id, version, revision) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET version = excluded.version, revision = excluded.revision`,
			id, ifVersion, revision)
		return err
	})
	return s.wrap(ctx, "delete", err)
}

// expectOne turns a conditional write that touched no row into ErrNotFound or ErrVersionConflict.
func (s *Store) expectOne(ctx context.Context, tx *sql.Tx, res sql.Result, id string, ifVersion int64) error {
	n, err := res.RowsAffected()
	if err != nil || n == 1 {
		return err
	}
	var current int64
	err = tx.QueryRowContext(ctx, `SELECT version FROM tenants WHERE id = $1`, id).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: tenant %q", ErrNotFound, id)
	}
	if err != nil {
		return err
	}
	return ErrVersionConflict{ID: id, Expected: ifVersion, Current: current}
}

// prepare validates t and fills what the store sets: the version, the time, sorted domains and hosts.
func (s *Store) prepare(t Tenant, version int64) (Tenant, error) {
	if !ValidID(t.ID) {
		return Tenant{}, fmt.Errorf("%w: id %q is not a slug (^[a-z0-9][a-z0-9-]{0,62}$)", ErrInvalid, t.ID)
	}
	var err error
	if t.Domains, err = checkNames("domain", t.Domains, domainPattern); err != nil {
		return Tenant{}, err
	}
	if t.Hosts, err = checkNames("host", t.Hosts, hostPattern); err != nil {
		return Tenant{}, err
	}
	t.Version = version
	t.UpdatedAt = s.now().UTC().Truncate(time.Microsecond) // what PostgreSQL keeps
	t.Secrets = nilIfEmpty(t.Secrets)
	if len(t.Config) == 0 {
		t.Config = nil
	}
	return t, nil
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// orEmpty keeps a nil document out of the NOT NULL config column.
func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func checkNames(field string, names []string, pattern *regexp.Regexp) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for i, n := range sorted {
		if n != strings.ToLower(n) {
			return nil, fmt.Errorf("%w: %s %q is not lower-case", ErrInvalid, field, n)
		}
		if !pattern.MatchString(n) {
			return nil, fmt.Errorf("%w: %s %q has characters a %s cannot have", ErrInvalid, field, n, field)
		}
		if i > 0 && sorted[i-1] == n {
			return nil, fmt.Errorf("%w: %s %q is listed twice", ErrInvalid, field, n)
		}
	}
	return sorted, nil
}

// writeFunc writes the tenant row; write itself replaces the domains and hosts.
type writeFunc func(ctx context.Context, tx *sql.Tx, revision int64, keyID string, sealed []byte) error

// write seals t's secrets, runs fn and replaces t's domains and hosts in one transaction. A unique index
// violation becomes ErrDuplicate naming the tenant that holds the value.
func (s *Store) write(ctx context.Context, op string, t Tenant, fn writeFunc) error {
	keyID, sealed, err := s.seal(t)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err = s.inTx(ctx, func(tx *sql.Tx, revision int64) error {
		if err := fn(ctx, tx, revision, keyID, sealed); err != nil {
			return err
		}
		return replaceNames(ctx, tx, t)
	})
	if err != nil && s.dialect.uniqueViolation(err) {
		if dup, found, lookupErr := s.holder(ctx, op, t); lookupErr != nil {
			return s.fail(ctx, op, lookupErr)
		} else if found {
			return dup
		}
	}
	return s.wrap(ctx, op, err)
}

// seal encrypts t's secrets for its row.
func (s *Store) seal(t Tenant) (keyID string, sealed []byte, err error) {
	secrets, err := json.Marshal(t.Secrets)
	if err != nil {
		return "", nil, err
	}
	keyID, sealed = s.keys.seal(t.ID, secrets)
	return keyID, sealed, nil
}

func replaceNames(ctx context.Context, tx *sql.Tx, t Tenant) error {
	for _, table := range []struct {
		del, ins string
		names    []string
	}{
		{`DELETE FROM tenant_domains WHERE tenant_id = $1`, `INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)`, t.Domains},
		{`DELETE FROM tenant_hosts WHERE tenant_id = $1`, `INSERT INTO tenant_hosts (host, tenant_id) VALUES ($1, $2)`, t.Hosts},
	} {
		if _, err := tx.ExecContext(ctx, table.del, t.ID); err != nil {
			return err
		}
		for _, name := range table.names {
			if _, err := tx.ExecContext(ctx, table.ins, name, t.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// holder finds which id, domain or host of t another tenant already holds, after a unique violation.
func (s *Store) holder(ctx context.Context, op string, t Tenant) (ErrDuplicate, bool, error) {
	if op == "create" {
		var id string
		err := s.db.QueryRowContext(ctx, `SELECT id FROM tenants WHERE id = $1`, t.ID).Scan(&id)
		if err == nil {
			return ErrDuplicate{Field: "id", Value: t.ID, Holder: id}, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return ErrDuplicate{}, false, err
		}
	}
	for _, table := range []struct {
		field, query string
		names        []string
	}{
		{"domain", `SELECT tenant_id FROM tenant_domains WHERE domain = $1 AND tenant_id <> $2`, t.Domains},
		{"host", `SELECT tenant_id FROM tenant_hosts WHERE host = $1 AND tenant_id <> $2`, t.Hosts},
	} {
		for _, name := range table.names {
			var holder string
			err := s.db.QueryRowContext(ctx, table.query, name, t.ID).Scan(&holder)
			if err == nil {
				return ErrDuplicate{Field: table.field, Value: name, Holder: holder}, true, nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return ErrDuplicate{}, false, err
			}
		}
	}
	return ErrDuplicate{}, false, nil // the holder let go meanwhile; the caller may retry
}

// inTx runs fn in a transaction after taking the next revision, announces the revision and commits.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx, revision int64) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var revision int64
	if err := tx.QueryRowContext(ctx, `UPDATE store_revision SET value = value + 1 RETURNING value`).Scan(&revision); err != nil {
		return err
	}
	if err := fn(tx, revision); err != nil {
		return err
	}
	if err := s.dialect.notify(ctx, tx, revision); err != nil {
		return err
	}
	return tx.Commit()
}

// wrap passes the store's own errors through and classifies the database's.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	var conflict ErrVersionConflict
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.As(err, &conflict):
		return err
	}
	return s.fail(ctx, op, err)
}

// LookupDomain returns the id of the tenant that holds the email domain (matched without regard to case).
func (s *Store) LookupDomain(ctx context.Context, domain string) (string, error) {
	return s.lookup(ctx, "domain", `SELECT tenant_id FROM tenant_domains WHERE domain = $1`, domain)
}

// LookupHost returns the id of the tenant served on host (matched without regard to case).
func (s *Store) LookupHost(ctx context.Context, host string) (string, error) {
	return s.lookup(ctx, "host", `SELECT tenant_id FROM tenant_hosts WHERE host = $1`, host)
}

func (s *Store) lookup(ctx context.Context, field, query, name string) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var id string
	err := s.db.QueryRowContext(ctx, query, strings.ToLower(name)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: %s %q", ErrNotFound, field, name)
	}
	if err != nil {
		return "", s.fail(ctx, "lookup "+field, err)
	}
	return id, nil
}
