package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is returned when no tenant has the requested id, domain or host.
var ErrNotFound = errors.New("store: not found")

// ErrUnavailable wraps every failure to reach the database (refused, reset, timed out, shutting down, busy), so
// that callers can answer 503 instead of 500. Test with errors.Is.
var ErrUnavailable = errors.New("store: database unavailable")

// ErrInvalid wraps a tenant the store refuses to write (a bad id, an upper-case or repeated domain, …).
var ErrInvalid = errors.New("store: invalid tenant")

// ErrDecrypt is returned when a row's secrets cannot be opened: no key in the keyring has the key id the row
// was sealed under, or the ciphertext does not authenticate for this tenant id (for example a row copied from
// another tenant).
var ErrDecrypt = errors.New("store: secrets cannot be decrypted")

// ErrVersionConflict reports a write whose ifVersion is not the stored version. Current is the stored version
// the caller should re-read. Test with errors.As.
type ErrVersionConflict struct {
	ID       string
	Expected int64
	Current  int64
}

func (e ErrVersionConflict) Error() string {
	return fmt.Sprintf("store: tenant %q is at version %d, not %d", e.ID, e.Current, e.Expected)
}

// ErrDuplicate reports a write that would give a second tenant an id, domain or host another tenant already
// holds. Field is "id", "domain" or "host"; Holder is the tenant that holds Value. Test with errors.As.
type ErrDuplicate struct {
	Field  string
	Value  string
	Holder string
}

func (e ErrDuplicate) Error() string {
	return fmt.Sprintf("store: %s %q already belongs to tenant %q", e.Field, e.Value, e.Holder)
}

// errTimeout is the cause of a context that Options.Timeout ended, which tells the store's own deadline (the
// database is too slow: unavailable) from the caller's cancellation (passed through as it is).
var errTimeout = errors.New("store: Options.Timeout elapsed")

// fail wraps a database error for op: the caller's own cancellation stays as it is, a failure to reach the
// database becomes ErrUnavailable, anything else (a bug, a constraint the store did not expect) stays plain.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil && context.Cause(ctx) != errTimeout {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if ctx.Err() != nil || s.dialect.unavailable(err) {
		return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
