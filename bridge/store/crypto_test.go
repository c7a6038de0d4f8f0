package store

import (
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// dump returns every row of every table of the store as text, as an operator with database access sees it.
func dump(t *testing.T, s *Store) string {
	t.Helper()
	ctx := t.Context()
	tables := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if s.dialect.name() == "postgres" {
		tables = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
	}
	names, err := column[string](s.db, tables)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, name := range names {
		rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+name)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			values := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range values {
				ptrs[i] = &values[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "%s:", name)
			for _, v := range values {
				if b, ok := v.([]byte); ok { // as it is, and as hex and base64 tools would show it
					fmt.Fprintf(&out, " %s %s %s", b, hex.EncodeToString(b), base64.StdEncoding.EncodeToString(b))
				} else {
					fmt.Fprintf(&out, " %v", v)
				}
			}
			out.WriteByte('\n')
		}
		rows.Close()
	}
	return out.String()
}

func column[T any](db *sql.DB, query string) ([]T, error) {
	rows, err := db.Query(query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

func TestSecretsAtRest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		s := open(t, opts)
		tn := acme()
		secret := tn.Secrets["providers[0].client_secret"]
		if _, err := s.Create(ctx, tn); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, tn, 1); err != nil {
			t.Fatal(err)
		}
		raw := dump(t, s)
		if !strings.Contains(raw, "Acme Call Center") || !strings.Contains(raw, KeyID(keyA)) {
			t.Fatalf("the dump misses what is stored in clear:\n%s", raw)
		}
		for _, form := range []string{secret, hex.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte(secret))} {
			if strings.Contains(raw, form) {
				t.Fatalf("the raw tables hold the secret %q:\n%s", form, raw)
			}
		}
		// Random nonces: sealing the same secrets twice gives different ciphertexts.
		_, a := s.keys.seal("acme", []byte(secret))
		_, b := s.keys.seal("acme", []byte(secret))
		if string(a) == string(b) {
			t.Error("two seals of one plaintext are equal")
		}
	})
}

// TestSecretsBoundToTenant copies one tenant's sealed secrets into another's row: they must not open there.
func TestSecretsBoundToTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		s := open(t, opts)
		if _, err := s.Create(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, Tenant{ID: "globex", Secrets: map[string]string{"k": "globex-secret"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE tenants SET secrets = (SELECT secrets FROM tenants WHERE id = 'acme'),
			secrets_key = (SELECT secrets_key FROM tenants WHERE id = 'acme') WHERE id = 'globex'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "globex"); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Get of a row holding another tenant's ciphertext: %v, want ErrDecrypt", err)
		}
		if _, err := s.Get(ctx, "acme"); err != nil {
			t.Fatalf("the source row: %v", err)
		}
	})
}

// TestKeyRotation: written under A; the keyring becomes [B, A] and still reads it; RotateKeys re-seals under
// B; then B alone reads it and A alone does not.
func TestKeyRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		underA := open(t, opts, keyA)
		want := acme()
		for i := range 3 { // more than one row, fewer than a batch
			tn := Tenant{ID: fmt.Sprintf("t%d", i), Secrets: map[string]string{"k": fmt.Sprint("v", i)}}
			if _, err := underA.Create(ctx, tn); err != nil {
				t.Fatal(err)
			}
		}
		created, err := underA.Create(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		underA.Close()

		if _, err := open(t, opts, keyB).Get(ctx, "acme"); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("B alone read A's row: %v", err)
		}
		both := open(t, opts, keyB, keyA)
		got, err := both.Get(ctx, "acme")
		if err != nil || got.Secrets["providers[0].client_secret"] != want.Secrets["providers[0].client_secret"] {
			t.Fatalf("[B, A] reads %v, %v", got.Secrets, err)
		}
		n, err := both.RotateKeys(ctx)
		if err != nil || n != 4 {
			t.Fatalf("RotateKeys = %d, %v; want 4 rows", n, err)
		}
		if n, err := both.RotateKeys(ctx); err != nil || n != 0 {
			t.Fatalf("second RotateKeys = %d, %v; want 0", n, err)
		}

		onlyB := open(t, opts, keyB)
		got, err = onlyB.Get(ctx, "acme")
		if err != nil || got.Secrets["providers[0].client_secret"] != want.Secrets["providers[0].client_secret"] {
			t.Fatalf("B alone after rotation reads %v, %v", got.Secrets, err)
		}
		if got.Version != created.Version {
			t.Errorf("rotation changed the version: %d, want %d", got.Version, created.Version)
		}
		if page, _, err := onlyB.List(ctx, "", 10); err != nil || len(page) != 4 {
			t.Fatalf("List under B = %d tenants, %v", len(page), err)
		}
		if _, err := open(t, opts, keyA).Get(ctx, "acme"); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("A alone still reads after rotation: %v", err)
		}
	})
}

// TestRotateKeysBatches re-seals more rows than one transaction holds.
func TestRotateKeysBatches(t *testing.T) {
	s := open(t, backends[0].fresh(t), keyA)
	opts := s.opts
	for i := range rotateBatch + 5 {
		if _, err := s.Create(t.Context(), Tenant{ID: fmt.Sprintf("t%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if n, err := open(t, opts, keyB, keyA).RotateKeys(t.Context()); err != nil || n != rotateBatch+5 {
		t.Fatalf("RotateKeys = %d, %v; want %d", n, err, rotateBatch+5)
	}
}
