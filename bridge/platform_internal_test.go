package bridge

import (
	"fmt"
	"sync"
	"testing"
)

// TestTenantLabelIsBounded: however many tenants log in, concurrently or not, at most maxTenantLabels get a
// label value of their own; the rest share "other", and a tenant keeps the value it got.
func TestTenantLabelIsBounded(t *testing.T) {
	m := NewMetrics()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxTenantLabels + 300 {
				m.tenantLabel(fmt.Sprintf("tenant-%d", (i*7+w)%(maxTenantLabels+300)))
			}
		}()
	}
	wg.Wait()
	own := 0
	for i := range maxTenantLabels + 300 {
		id := fmt.Sprintf("tenant-%d", i)
		switch got := m.tenantLabel(id); got {
		case id:
			own++
		case "other":
		default:
			t.Fatalf("tenant %s labelled %q", id, got)
		}
	}
	if own != maxTenantLabels {
		t.Fatalf("%d tenants have a label of their own, want %d", own, maxTenantLabels)
	}
}
