package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// Page sizes of GET /admin/v1/tenants.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// summary is one tenant in a list: who it is and which version, without its document.
type summary struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"display_name"`
	Domains     []string  `json:"domains"`
	Hosts       []string  `json:"hosts"`
	Version     int64     `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type listBody struct {
	Tenants    []summary `json:"tenants"`
	NextCursor string    `json:"next_cursor"` // "" after the last page
}

func (h *Handler) list(c *call) error {
	q := c.r.URL.Query()
	limit := defaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return refuse(CodeInvalidRequest, fmt.Sprintf("limit must be a whole number from 1 to %d.", maxLimit),
				Problem{Path: "limit", Message: fmt.Sprintf("%q is not from 1 to %d", v, maxLimit)})
		}
		limit = n
	}
	cursor := q.Get("cursor")
	var (
		ts   []store.Tenant
		next string
		err  error
	)
	if c.scope == nil {
		ts, next, err = h.opts.Store.List(c.r.Context(), cursor, limit)
	} else {
		ts, next, err = h.listScoped(c, cursor, limit)
	}
	if err != nil {
		return h.storeError(c, err)
	}
	body := listBody{Tenants: make([]summary, 0, len(ts)), NextCursor: next}
	for _, t := range ts {
		body.Tenants = append(body.Tenants, summary{ID: t.ID, DisplayName: t.DisplayName,
			Domains: orNone(t.Domains), Hosts: orNone(t.Hosts), Version: t.Version, UpdatedAt: t.UpdatedAt})
	}
	writeJSON(c.w, http.StatusOK, body)
	return nil
}

// listScoped pages through the tenants a limited key may see, in id order like Store.List. A page may end
// early, and the last one be empty, when some of the key's tenants do not exist.
func (h *Handler) listScoped(c *call, cursor string, limit int) ([]store.Tenant, string, error) {
	i, _ := slices.BinarySearch(c.scope, cursor)
	if i < len(c.scope) && c.scope[i] == cursor {
		i++
	}
	var ts []store.Tenant
	for ; i < len(c.scope) && len(ts) < limit; i++ {
		t, err := h.opts.Store.Get(c.r.Context(), c.scope[i])
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		ts = append(ts, t)
	}
	if i < len(c.scope) && len(ts) > 0 {
		return ts, ts[len(ts)-1].ID, nil
	}
	return ts, "", nil
}

func (h *Handler) create(c *call) error {
	d, err := h.readTenant(c)
	if err != nil {
		return err
	}
	if !c.mayAccess(d.ID) {
		return refuse(CodeForbidden, fmt.Sprintf("This admin key may not create tenant %q.", d.ID))
	}
	t, err := h.merged(d, nil)
	if err != nil {
		return err
	}
	c.id = d.ID
	t, err = h.opts.Store.Create(c.r.Context(), t)
	if err != nil {
		return h.storeError(c, err)
	}
	h.audit(c, "create", nil, &t)
	c.w.Header().Set("Location", prefix+"tenants/"+t.ID)
	return h.writeTenant(c, http.StatusCreated, t)
}

func (h *Handler) get(c *call) error {
	if err := h.access(c); err != nil {
		return err
	}
	t, err := h.opts.Store.Get(c.r.Context(), c.id)
	if err != nil {
		return h.storeError(c, err)
	}
	return h.writeTenant(c, http.StatusOK, t)
}

// replace is PUT: the document replaces the stored one whole. Secrets follow the document: a string sets the
// value, {"set": true} keeps the stored one, null or leaving the path out removes it, so that a GET, an edit
// and a PUT change only what was edited.
func (h *Handler) replace(c *call) error {
	if err := h.access(c); err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	d, err := h.readTenant(c)
	if err != nil {
		return err
	}
	if d.ID == "" {
		d.ID = c.id
	}
	if d.ID != c.id {
		return refuse(CodeInvalidTenant, "A tenant's id cannot change; create a new tenant instead.",
			Problem{Path: "id", Message: fmt.Sprintf("is %q, but the path names %q", d.ID, c.id)})
	}
	old, err := h.opts.Store.Get(c.r.Context(), c.id)
	if err != nil {
		return h.storeError(c, err)
	}
	if old.Version != version {
		return h.storeError(c, store.ErrVersionConflict{ID: c.id, Expected: version, Current: old.Version})
	}
	t, err := h.merged(d, old.Secrets)
	if err != nil {
		return err
	}
	t, err = h.opts.Store.Update(c.r.Context(), t, version)
	if err != nil {
		return h.storeError(c, err)
	}
	h.audit(c, "update", &old, &t)
	return h.writeTenant(c, http.StatusOK, t)
}

func (h *Handler) remove(c *call) error {
	if err := h.access(c); err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	if err := h.opts.Store.Delete(c.r.Context(), c.id, version); err != nil {
		return h.storeError(c, err)
	}
	h.audit(c, "delete", &store.Tenant{ID: c.id, Version: version}, nil)
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type checkBody struct {
	Tenant  string `json:"tenant"`
	Version int64  `json:"version"`
	Report  any    `json:"report"`
}

func (h *Handler) check(c *call) error {
	if err := h.access(c); err != nil {
		return err
	}
	if h.opts.Check == nil {
		return refuse(CodeNotConfigured, "This deployment has no tenant check.")
	}
	t, err := h.opts.Store.Get(c.r.Context(), c.id)
	if err != nil {
		return h.storeError(c, err)
	}
	report, err := h.opts.Check(c.r.Context(), t)
	if err != nil {
		return fmt.Errorf("check of tenant %q: %w", t.ID, err)
	}
	writeJSON(c.w, http.StatusOK, checkBody{Tenant: t.ID, Version: t.Version, Report: report})
	return nil
}

func (h *Handler) reload(c *call) error {
	if c.scope != nil {
		return refuse(CodeForbidden, "Reloading affects every tenant; this admin key is limited to some.")
	}
	if h.opts.Reload == nil {
		return refuse(CodeNotConfigured, "This deployment has nothing to reload.")
	}
	if err := h.opts.Reload(); err != nil {
		var refused ReloadRefused
		if errors.As(err, &refused) {
			return refuse(CodeConfigRefused, "The configuration file was not applied; the running configuration keeps serving. "+refused.Error())
		}
		return fmt.Errorf("reload: %w", err)
	}
	h.log.LogAttrs(c.r.Context(), slog.LevelInfo, "admin_reload", requestAttrs(c)...)
	writeJSON(c.w, http.StatusOK, map[string]bool{"reloaded": true})
	return nil
}

// access refuses a tenant outside the key's scope, whether or not it exists.
func (h *Handler) access(c *call) error {
	if !c.mayAccess(c.id) {
		return refuse(CodeForbidden, fmt.Sprintf("This admin key may not act on tenant %q.", c.id))
	}
	return nil
}

// readTenant reads a JSON body within MaxBody and decodes it with the codec.
func (h *Handler) readTenant(c *call) (Decoded, error) {
	if mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return Decoded{}, refuse(CodeUnsupportedMedia, "Send the tenant document as Content-Type: application/json.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, h.opts.MaxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return Decoded{}, refuse(CodeBodyTooLarge, fmt.Sprintf("The body is larger than %d bytes.", h.opts.MaxBody))
	}
	if err != nil {
		return Decoded{}, refuse(CodeInvalidRequest, "The body could not be read.")
	}
	if p, ok := syntaxProblem(body); !ok {
		return Decoded{}, refuse(CodeInvalidJSON, "The body is not JSON.", p)
	}
	d, problems := h.opts.Codec.Decode(body)
	if len(problems) > 0 {
		return Decoded{}, invalidTenant(problems)
	}
	return d, nil
}

// syntaxProblem finds the first JSON syntax error of body and its line.
func syntaxProblem(body []byte) (Problem, bool) {
	var v any
	err := json.Unmarshal(body, &v)
	if err == nil {
		return Problem{}, true
	}
	p := Problem{Path: "", Message: err.Error()}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		p.Line = 1 + bytes.Count(body[:min(int(syn.Offset), len(body))], []byte("\n"))
	}
	return p, false
}

// ifMatch reads the version of If-Match: "<version>".
func ifMatch(c *call) (int64, error) {
	v := strings.TrimSpace(c.r.Header.Get("If-Match"))
	if v == "" {
		return 0, refuse(CodeIfMatchRequired, `Send If-Match: "<version>" with the ETag of the tenant you read.`)
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`), 10, 64)
	if err != nil || n < 1 || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
		return 0, refuse(CodeVersionMismatch, `If-Match must be one ETag as GET gives it: "<version>".`)
	}
	return n, nil
}

// writeTenant answers with the redacted document and its version as the ETag.
func (h *Handler) writeTenant(c *call, status int, t store.Tenant) error {
	doc, err := h.opts.Codec.Redact(t)
	if err != nil {
		return fmt.Errorf("redacting tenant %q: %w", t.ID, err)
	}
	c.w.Header().Set("ETag", etag(t.Version))
	c.w.Header().Set("Last-Modified", t.UpdatedAt.UTC().Format(http.TimeFormat))
	writeJSON(c.w, status, doc)
	return nil
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// storeError turns the store's errors into refusals; anything else stays an internal error.
func (h *Handler) storeError(c *call, err error) error {
	var (
		dup      store.ErrDuplicate
		conflict store.ErrVersionConflict
	)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return &refusal{code: CodeUnavailable, desc: "The tenant database cannot be reached; retry after Retry-After seconds.", cause: err}
	case errors.Is(err, store.ErrNotFound):
		return refuse(CodeNotFound, fmt.Sprintf("There is no tenant %q.", c.id))
	case errors.As(err, &conflict):
		return refuse(CodeVersionMismatch, fmt.Sprintf(`Tenant %q is at version %d, not %d; read it again and retry with If-Match: "%d".`,
			conflict.ID, conflict.Current, conflict.Expected, conflict.Current))
	case errors.As(err, &dup) && dup.Field == "id":
		return refuse(CodeTenantExists, fmt.Sprintf("A tenant with id %q already exists.", dup.Value),
			Problem{Path: "id", Message: "is taken"})
	case errors.As(err, &dup):
		// Name the holder only to a key that may see it; others learn only that the name is taken.
		msg := fmt.Sprintf("%s %q belongs to another tenant", dup.Field, dup.Value)
		if c.mayAccess(dup.Holder) {
			msg = fmt.Sprintf("%s %q belongs to tenant %q", dup.Field, dup.Value, dup.Holder)
		}
		return refuse(CodeNameTaken, "A domain or host of this tenant belongs to another tenant.",
			Problem{Path: dup.Field + "s", Message: msg})
	case errors.Is(err, store.ErrInvalid):
		return invalidTenant([]Problem{{Message: strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": ")}})
	}
	return err
}

// invalidTenant refuses a tenant document with every problem it has.
func invalidTenant(problems []Problem) error {
	return refuse(CodeInvalidTenant, "The tenant document has problems; see problems.", problems...)
}

// merged is the tenant to write: the decoded document with its secrets merged into the stored ones (nil on
// create), validated whole by the codec.
func (h *Handler) merged(d Decoded, stored map[string]string) (store.Tenant, error) {
	t, problems := Merge(d, stored)
	if len(problems) == 0 {
		problems = h.opts.Codec.Validate(t)
	}
	if len(problems) > 0 {
		return store.Tenant{}, invalidTenant(problems)
	}
	return t, nil
}

// Merge builds the tenant to write from a decoded document and the stored secrets (nil for a new tenant): a
// value replaces, Keep keeps the stored value, a path the document does not list is removed. A Keep with no
// stored value is a problem. The result is not validated: see TenantCodec.Validate.
func Merge(d Decoded, stored map[string]string) (store.Tenant, []Problem) {
	secrets, problems := mergeSecrets(d.Secrets, stored)
	return store.Tenant{ID: d.ID, DisplayName: d.DisplayName, Domains: d.Domains, Hosts: d.Hosts,
		Config: d.Config, Secrets: secrets}, problems
}

// mergeSecrets applies a document's secrets to the stored ones (nil on create): see replace.
func mergeSecrets(in map[string]Secret, stored map[string]string) (map[string]string, []Problem) {
	out := make(map[string]string, len(in))
	var problems []Problem
	for path, s := range in {
		if !s.Keep {
			out[path] = s.Value
			continue
		}
		v, ok := stored[path]
		if !ok {
			problems = append(problems, Problem{Path: path, Message: `is {"set": true} but no value is stored; send the value`})
			continue
		}
		out[path] = v
	}
	slices.SortFunc(problems, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) })
	return out, problems
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
