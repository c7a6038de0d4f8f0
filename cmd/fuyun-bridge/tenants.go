package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/admin"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platform"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

func runTenants(args []string, stdout, stderr io.Writer) int {
	return runGroup("tenants", []command{
		{"import", "create or update tenants from YAML files", runTenantsImport},
		{"export", "write tenants as YAML, secrets as {set: true} unless --with-secrets", runTenantsExport},
		{"list", "list the tenants of the store", runTenantsList},
	}, args, stdout, stderr)
}

// imported is one file of `tenants import`, read and then merged with what the store has.
type imported struct {
	file   string
	doc    admin.Decoded
	old    *store.Tenant // nil: a new tenant
	tenant store.Tenant  // what to write
}

func runTenantsImport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tenants import", "tenants import --config FILE TENANT.yaml…\n\n"+
		"Creates each tenant, or updates it when it exists. A secret may be given as a value, a *_file or ${VAR},\n"+
		"or as {set: true} to keep the value the store has. Every file is checked before anything is written.", stdout, stderr)
	cmd := platformFlags(fs, stderr)
	if code, stop := parseFlagsArgs(fs, args, stdout); stop {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "fuyun-bridge tenants import: name at least one tenant file (e.g. tenants/acme.yaml)")
		return 2
	}
	ctx := context.Background()
	cfg, st, code := cmd.open(ctx)
	if st == nil {
		return code
	}
	defer st.Close()
	files, problems := readTenantFiles(fs.Args(), cfg.Server.PublicURL)
	more, err := mergeImports(ctx, st, files, cfg.Server.PublicURL)
	if err != nil {
		return cmd.fail(1, "%v", err)
	}
	if problems = append(problems, more...); problems != nil {
		fmt.Fprintln(stderr, problems)
		return cmd.fail(1, "nothing was written; fix the problems above and run the import again")
	}
	for _, f := range files {
		line, err := writeImport(ctx, st, f)
		if err != nil {
			return cmd.fail(1, "%s: %v", f.file, err)
		}
		fmt.Fprintln(stdout, line)
	}
	return 0
}

// readTenantFiles reads and checks each file as an operator's tenant: *_file secrets relative to the file and
// ${VAR} from the environment. Two files may not hold the same tenant.
func readTenantFiles(paths []string, publicURL string) ([]imported, config.Problems) {
	var (
		files    []imported
		problems config.Problems
		seen     = map[string]string{} // tenant id → file
	)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, config.Problem{File: path, Msg: fmt.Sprintf("cannot read the file: %v", errors.Unwrap(err))})
			continue
		}
		d, err := platform.Parse(data, config.TenantOptions{Name: path, PublicURL: publicURL, AllowFiles: true,
			Dir: filepath.Dir(path), LookupEnv: os.LookupEnv, ReadFile: os.ReadFile})
		var ps config.Problems
		switch {
		case errors.As(err, &ps):
			problems = append(problems, ps...)
			continue
		case err != nil:
			problems = append(problems, config.Problem{File: path, Msg: err.Error()})
			continue
		}
		if other, dup := seen[d.ID]; dup {
			problems = append(problems, config.Problem{File: path, Path: "id", Msg: fmt.Sprintf("tenant %q is also in %s", d.ID, other)})
			continue
		}
		seen[d.ID] = path
		files = append(files, imported{file: path, doc: d})
	}
	return files, problems
}

// mergeImports merges each file's secrets with the stored tenant's, checks the result whole, and checks that
// no domain or host belongs to a tenant the import leaves alone. The error is the store's.
func mergeImports(ctx context.Context, st *store.Store, files []imported, publicURL string) (config.Problems, error) {
	var problems config.Problems
	owner := map[string]string{} // "domain x" or "host x" → the file that claims it
	for i := range files {
		f := &files[i]
		old, err := st.Get(ctx, f.doc.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			f.old = &old
		}
		var stored map[string]string
		if f.old != nil {
			stored = f.old.Secrets
		}
		t, ps := admin.Merge(f.doc, stored)
		for _, p := range ps {
			problems = append(problems, config.Problem{File: f.file, Path: p.Path, Msg: "is {set: true}, but the store has no value for it: give the value"})
		}
		if ps == nil {
			var cps config.Problems
			if errors.As(platform.Validate(t, config.TenantOptions{Name: f.file, PublicURL: publicURL}), &cps) {
				problems = append(problems, cps...)
			}
		}
		f.tenant = t
		for _, n := range names(t) {
			if other, dup := owner[n.kind+" "+n.value]; dup {
				problems = append(problems, config.Problem{File: f.file, Path: n.kind + "s", Msg: fmt.Sprintf("%s %q is also in %s", n.kind, n.value, other)})
				continue
			}
			owner[n.kind+" "+n.value] = f.file
			holder, err := n.lookup(ctx, st)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if err == nil && holder != t.ID && !slices.ContainsFunc(files, func(o imported) bool { return o.doc.ID == holder }) {
				problems = append(problems, config.Problem{File: f.file, Path: n.kind + "s", Msg: fmt.Sprintf("%s %q belongs to tenant %q", n.kind, n.value, holder)})
			}
		}
	}
	return problems, nil
}

// name is one domain or host of a tenant.
type name struct {
	kind, value string
	lookup      func(context.Context, *store.Store) (string, error)
}

// names lists the domains and hosts of t, each with how to find its holder in the store.
func names(t store.Tenant) []name {
	var out []name
	for _, d := range t.Domains {
		out = append(out, name{"domain", d, func(ctx context.Context, st *store.Store) (string, error) { return st.LookupDomain(ctx, d) }})
	}
	for _, h := range t.Hosts {
		out = append(out, name{"host", h, func(ctx context.Context, st *store.Store) (string, error) { return st.LookupHost(ctx, h) }})
	}
	return out
}

// writeImport creates, updates or leaves one tenant and says which, with its version.
func writeImport(ctx context.Context, st *store.Store, f imported) (string, error) {
	if f.old == nil {
		t, err := st.Create(ctx, f.tenant)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("created    %s  version %d", t.ID, t.Version), nil
	}
	if sameTenant(*f.old, f.tenant) {
		return fmt.Sprintf("unchanged  %s  version %d", f.old.ID, f.old.Version), nil
	}
	t, err := st.Update(ctx, f.tenant, f.old.Version)
	var conflict store.ErrVersionConflict
	if errors.As(err, &conflict) {
		return "", fmt.Errorf("tenant %q changed while importing (now version %d); run the import again", conflict.ID, conflict.Current)
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("updated    %s  version %d → %d", t.ID, f.old.Version, t.Version), nil
}

// sameTenant reports whether writing b over a would change nothing: the same names, secrets and document,
// whatever the document's layout (a tenant sent as JSON and exported as YAML reads the same).
func sameTenant(a, b store.Tenant) bool {
	var docA, docB any
	return a.DisplayName == b.DisplayName && slices.Equal(a.Domains, b.Domains) && slices.Equal(a.Hosts, b.Hosts) &&
		maps.Equal(a.Secrets, b.Secrets) && yaml.Unmarshal(a.Config, &docA) == nil && yaml.Unmarshal(b.Config, &docB) == nil &&
		reflect.DeepEqual(docA, docB)
}

func runTenantsExport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tenants export", "tenants export --config FILE [--dir DIR] [--with-secrets] [ID…]\n\n"+
		"Writes each tenant (every tenant when no id is given) as YAML: to stdout, one document each, or to\n"+
		"DIR/<id>.yaml. Secrets are written {set: true}, which `tenants import` reads as \"keep the stored value\",\n"+
		"unless --with-secrets writes their values (backups, moving to another store).", stdout, stderr)
	cmd := platformFlags(fs, stderr)
	dir := fs.String("dir", "", "write one file per tenant here, <id>.yaml (created if missing), instead of stdout")
	withSecrets := fs.Bool("with-secrets", false, "write the secrets' values; keep the output as safe as the store's encryption keys")
	if code, stop := parseFlagsArgs(fs, args, stdout); stop {
		return code
	}
	ctx := context.Background()
	cfg, st, code := cmd.open(ctx)
	if st == nil {
		return code
	}
	defer st.Close()
	tenants, err := chosenTenants(ctx, st, fs.Args())
	if err != nil {
		return cmd.fail(1, "%v", err)
	}
	docs := make([][]byte, len(tenants))
	for i, t := range tenants {
		ct, err := platform.Load(t, config.TenantOptions{PublicURL: cfg.Server.PublicURL})
		if err == nil {
			docs[i], err = ct.YAML(*withSecrets)
		}
		if err != nil {
			return cmd.fail(1, "tenant %s cannot be read back:\n%v", t.ID, err)
		}
	}
	if *withSecrets {
		cmd.fail(0, "warning: the output holds the tenants' secrets in clear; keep it as safe as the store's encryption keys and delete it when done")
	}
	if *dir == "" {
		for i, doc := range docs {
			if i > 0 {
				fmt.Fprintln(stdout, "---")
			}
			_, _ = stdout.Write(doc)
		}
		return 0
	}
	if err := writeExports(*dir, tenants, docs, *withSecrets); err != nil {
		return cmd.fail(1, "%v", err)
	}
	for _, t := range tenants {
		fmt.Fprintf(stdout, "%s  version %d\n", filepath.Join(*dir, t.ID+".yaml"), t.Version)
	}
	return 0
}

// chosenTenants is the tenants named by ids, or every tenant when there is none.
func chosenTenants(ctx context.Context, st *store.Store, ids []string) ([]store.Tenant, error) {
	if len(ids) == 0 {
		return allTenants(ctx, st)
	}
	var out []store.Tenant
	for _, id := range ids {
		t, err := st.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("there is no tenant %q (see: fuyun-bridge tenants list)", id)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// writeExports writes each document to dir/<id>.yaml, readable by its owner only when it holds secrets.
func writeExports(dir string, tenants []store.Tenant, docs [][]byte, withSecrets bool) error {
	mode := os.FileMode(0o644)
	if withSecrets {
		mode = 0o600
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, t := range tenants {
		path := filepath.Join(dir, t.ID+".yaml")
		// Chmod first: WriteFile keeps the mode of a file that exists, and secrets must not land in a readable one.
		if err := os.Chmod(path, mode); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.WriteFile(path, docs[i], mode); err != nil {
			return err
		}
	}
	return nil
}

// listed is one tenant in `tenants list --json`.
type listed struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"display_name"`
	Version     int64     `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
	Domains     []string  `json:"domains"`
	Hosts       []string  `json:"hosts"`
}

func runTenantsList(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tenants list", "tenants list --config FILE [--json]\n\n"+
		"Lists the tenants of the store: id, display name, version, last update and domains.", stdout, stderr)
	cmd := platformFlags(fs, stderr)
	asJSON := fs.Bool("json", false, "one JSON array, for scripts")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	_, st, code := cmd.open(context.Background())
	if st == nil {
		return code
	}
	defer st.Close()
	tenants, err := allTenants(context.Background(), st)
	if err != nil {
		return cmd.fail(1, "%v", err)
	}
	if *asJSON {
		out := make([]listed, len(tenants))
		for i, t := range tenants {
			out[i] = listed{ID: t.ID, DisplayName: t.DisplayName, Version: t.Version, UpdatedAt: t.UpdatedAt,
				Domains: orNone(t.Domains), Hosts: orNone(t.Hosts)}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tVERSION\tUPDATED\tDOMAINS")
	for _, t := range tenants {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", t.ID, t.DisplayName, t.Version, t.UpdatedAt.UTC().Format(time.RFC3339),
			strings.Join(t.Domains, ","))
	}
	_ = tw.Flush()
	return 0
}

// orNone is s, or an empty list for JSON's sake.
func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
