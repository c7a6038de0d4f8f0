package admin

import (
	"log/slog"
	"maps"
	"reflect"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

func requestAttrs(c *call) []slog.Attr {
	return []slog.Attr{slog.String("request_id", c.requestID), slog.String("key_id", c.keyID)}
}

// audit logs one line per change (from is nil on create, to on delete): who, which tenant, from which version to which, and the names of what
// changed. Secrets appear by key path only; their values never reach the log.
func (h *Handler) audit(c *call, action string, from, to *store.Tenant) {
	var before, after store.Tenant
	if from != nil {
		before = *from
	}
	if to != nil {
		after = *to
	}
	id := after.ID
	if id == "" {
		id = before.ID
	}
	attrs := append(requestAttrs(c),
		slog.String("action", action), slog.String("tenant", id),
		slog.Int64("old_version", before.Version), slog.Int64("new_version", after.Version))
	if action != "delete" {
		attrs = append(attrs, slog.Any("fields", changedFields(before, after)),
			slog.Any("secrets", changedSecrets(before.Secrets, after.Secrets)))
	}
	h.log.LogAttrs(c.r.Context(), slog.LevelInfo, "admin_change", attrs...)
}

// changedFields names the tenant fields and the top-level keys of the configuration document that differ.
func changedFields(a, b store.Tenant) []string {
	fields := []string{}
	if a.DisplayName != b.DisplayName {
		fields = append(fields, "display_name")
	}
	if !slices.Equal(a.Domains, b.Domains) {
		fields = append(fields, "domains")
	}
	if !slices.Equal(a.Hosts, b.Hosts) {
		fields = append(fields, "hosts")
	}
	ka, okA := topLevel(a.Config)
	kb, okB := topLevel(b.Config)
	if !okA || !okB {
		if string(a.Config) != string(b.Config) {
			fields = append(fields, "config")
		}
		return fields
	}
	keys := slices.Sorted(maps.Keys(ka))
	for k := range kb {
		if _, ok := ka[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !reflect.DeepEqual(ka[k], kb[k]) && !slices.Contains(fields, k) {
			fields = append(fields, k)
		}
	}
	return fields
}

// topLevel decodes a document that is a YAML or JSON object (an empty one is an empty object).
func topLevel(doc []byte) (map[string]any, bool) {
	m := map[string]any{}
	if len(doc) == 0 {
		return m, true
	}
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return nil, false
	}
	return m, true
}

// changedSecrets lists the key paths of secrets set, changed or removed.
func changedSecrets(a, b map[string]string) []string {
	paths := []string{}
	for p, v := range a {
		if w, ok := b[p]; !ok || w != v {
			paths = append(paths, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	return paths
}
