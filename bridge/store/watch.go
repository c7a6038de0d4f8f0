package store

import (
	"context"
	"time"
)

// Revision returns the store revision: a counter that every write increments. A replica that has applied every
// change up to Revision is current.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var revision int64
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM store_revision`).Scan(&revision); err != nil {
		return 0, s.fail(ctx, "revision", err)
	}
	return revision, nil
}

// Watch returns the change feed from the current revision on, in revision order, until ctx ends (then the
// channel closes). It polls the revision every Options.PollInterval; on PostgreSQL a LISTEN connection also
// wakes it as soon as any replica commits. A change that happened while the database was unreachable arrives
// when it is back. Only the latest state of a tenant is kept, so a watcher that fell behind gets one Change
// per tenant touched, not one per write. If the database cannot be reached when Watch is called, the feed
// starts from revision 0: every tenant and tombstone, which re-reads everything but misses nothing.
func (s *Store) Watch(ctx context.Context) <-chan Change {
	ch := make(chan Change)
	from, err := s.Revision(ctx)
	if err != nil {
		s.log.Warn("store: watch starts from revision 0", "err", err)
		from = 0
	}
	wake := make(chan struct{}, 1)
	go s.dialect.listen(ctx, func() {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}, s.opts.PollInterval, s.log)
	go s.watch(ctx, ch, from, wake)
	return ch
}

func (s *Store) watch(ctx context.Context, ch chan<- Change, last int64, wake <-chan struct{}) {
	defer close(ch)
	ticker := time.NewTicker(s.opts.PollInterval)
	defer ticker.Stop()
	failing := false
	for {
		changes, err := s.changesSince(ctx, last)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			s.log.Warn("store: change feed poll failed; retrying", "err", err)
			failing = true
		case err == nil && failing:
			s.log.Info("store: change feed poll recovered", "revision", last)
			failing = false
		}
		for _, c := range changes {
			select {
			case ch <- c:
				last = c.Revision
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-wake:
		}
	}
}

// changesSince lists the tenants written and deleted after revision, oldest first.
func (s *Store) changesSince(ctx context.Context, revision int64) ([]Change, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `SELECT id, version, false, revision FROM tenants WHERE revision > $1
		UNION ALL SELECT id, version, true, revision FROM tenant_tombstones WHERE revision > $1
		ORDER BY 4`, revision)
	if err != nil {
		return nil, s.fail(ctx, "watch", err)
	}
	defer rows.Close()
	var changes []Change
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.ID, &c.Version, &c.Deleted, &c.Revision); err != nil {
			return nil, s.fail(ctx, "watch", err)
		}
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, "watch", err)
	}
	return changes, nil
}
