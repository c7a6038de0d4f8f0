package store

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// tenantN is the n-th tenant of an import: its own id, domain and secret.
func tenantN(n int) Tenant {
	id := fmt.Sprintf("t-%05d", n)
	return Tenant{ID: id, DisplayName: "Tenant " + id, Domains: []string{id + ".example"},
		Config: []byte(`{"providers":[{"type":"oidc"}]}`), Secrets: map[string]string{"fuyun.client_secret": "s-" + id}}
}

// TestCreateMany: one write for many tenants — one revision, one change each on the feed, every tenant as Get
// returns it with its secrets opened — and, when one of them cannot be written, none is.
func TestCreateMany(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts Options) {
		ctx := t.Context()
		opts.PollInterval = 50 * time.Millisecond
		s := open(t, opts)
		if _, err := s.Create(ctx, acme()); err != nil {
			t.Fatal(err)
		}
		ch := open(t, opts).Watch(ctx)
		before, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		batch := []Tenant{tenantN(1), tenantN(2), tenantN(3)}
		created, err := s.CreateMany(ctx, batch)
		if err != nil {
			t.Fatalf("CreateMany: %v", err)
		}
		if rev, err := s.Revision(ctx); err != nil || rev != before+1 {
			t.Errorf("Revision after CreateMany = %d, %v; want %d (one write)", rev, err, before+1)
		}
		for i, c := range created {
			if c.ID != batch[i].ID || c.Version != 1 || c.UpdatedAt.IsZero() {
				t.Errorf("created[%d] = %s at version %d", i, c.ID, c.Version)
			}
			if got, err := s.Get(ctx, c.ID); err != nil || !reflect.DeepEqual(got, c) {
				t.Errorf("Get %s = %+v, %v\nwant %+v", c.ID, got, err, c)
			}
			if id, err := s.LookupDomain(ctx, c.ID+".example"); err != nil || id != c.ID {
				t.Errorf("LookupDomain of %s = %q, %v", c.ID, id, err)
			}
			if got := within(t, ch, 2*time.Second); got.ID != c.ID || got.Version != 1 || got.Revision != before+1 {
				t.Errorf("change %+v, want %s at 1, revision %d", got, c.ID, before+1)
			}
		}

		dupInBatch := tenantN(5)
		dupInBatch.Domains = []string{"t-00004.example"}
		bad := []struct {
			name  string
			batch []Tenant
			want  ErrDuplicate
		}{
			{"an id in the store", []Tenant{tenantN(4), acme()}, ErrDuplicate{"id", "acme", "acme"}},
			{"a domain in the store", []Tenant{tenantN(4), func() Tenant {
				t := tenantN(5)
				t.Domains = []string{"acme.example"}
				return t
			}()}, ErrDuplicate{"domain", "acme.example", "acme"}},
			{"an id twice in the batch", []Tenant{tenantN(4), tenantN(4)}, ErrDuplicate{"id", "t-00004", "t-00004"}},
			{"a domain twice in the batch", []Tenant{tenantN(4), dupInBatch}, ErrDuplicate{"domain", "t-00004.example", "t-00004"}},
		}
		for _, tc := range bad {
			var dup ErrDuplicate
			if _, err := s.CreateMany(ctx, tc.batch); !errors.As(err, &dup) || dup != tc.want {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if _, err := s.Get(ctx, "t-00004"); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: the batch's other tenant was written: %v", tc.name, err)
			}
		}
		if _, err := s.CreateMany(ctx, []Tenant{tenantN(4), {ID: "Not A Slug"}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("an invalid tenant in the batch: %v, want ErrInvalid", err)
		}
		if _, err := s.CreateMany(ctx, make([]Tenant, MaxCreateMany+1)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%d tenants: %v, want ErrInvalid", MaxCreateMany+1, err)
		}
		if rev, err := s.Revision(ctx); err != nil || rev != before+1 {
			t.Errorf("Revision after the refused batches = %d, %v; want %d", rev, err, before+1)
		}
	})
}
