package httpapi

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/objects"
)

// Custom objects (/data/<Class>.json), as the SDK's data module calls them.

func (a *API) routesObjects() {
	m := a.mux
	m.HandleFunc("POST /data/{class}", a.user(a.createObject))
	m.HandleFunc("POST /data/{class}/{sub}", a.user(a.createObjects))
	m.HandleFunc("GET /data/{class}", a.user(a.listObjects))
	m.HandleFunc("GET /data/{class}/{ids}", a.user(a.getObjects))
	m.HandleFunc("PUT /data/{class}/{id}", a.user(a.updateObject))
	m.HandleFunc("DELETE /data/{class}/{ids}", a.user(a.deleteObjects))
}

func className(r *http.Request) string { return pathValue(r, "class") }

func objectOut(class string, rec *objects.Record) map[string]any {
	out := map[string]any{}
	for k, v := range rec.Fields {
		out[k] = v
	}
	out["_id"], out["user_id"], out["_parent_id"] = rec.ID, rec.OwnerID, nullStr(rec.Parent)
	out["created_at"], out["updated_at"] = rec.Created.Unix(), rec.Updated.Unix()
	return out
}

func itemsOut(class string, recs []objects.Record, skip, limit int) map[string]any {
	items := make([]any, len(recs))
	for i := range recs {
		items[i] = objectOut(class, &recs[i])
	}
	return map[string]any{"class_name": class, "skip": skip, "limit": limit, "items": items}
}

// objectBody reads a JSON object with numbers as float64.
func objectBody(r *http.Request) (map[string]any, error) {
	var in map[string]any
	if err := decodeJSON(r, &in); err != nil {
		return nil, err
	}
	if in == nil {
		in = map[string]any{}
	}
	return in, nil
}

func (a *API) createObject(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	in, err := objectBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	recs, err := a.objects.Create(r.Context(), s.AppID, s.UserID, className(r), []map[string]any{in})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, objectOut(className(r), &recs[0]))
}

// createObjects is POST /data/<Class>/multi.json: {"record":{"1":{…},"2":{…}}}.
func (a *API) createObjects(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	if r.PathValue("sub") != "multi.json" {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	var in struct {
		Record map[string]map[string]any `json:"record"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	keys := make([]int, 0, len(in.Record))
	for k := range in.Record {
		n, err := strconv.Atoi(k)
		if err != nil {
			writeError(w, http.StatusBadRequest, []string{"record keys are 1, 2, …"})
			return
		}
		keys = append(keys, n)
	}
	slices.Sort(keys)
	var list []map[string]any
	for _, k := range keys {
		list = append(list, in.Record[strconv.Itoa(k)])
	}
	recs, err := a.objects.Create(r.Context(), s.AppID, s.UserID, className(r), list)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, itemsOut(className(r), recs, 0, len(recs)))
}

var objectReserved = map[string]bool{"limit": true, "skip": true, "sort_asc": true, "sort_desc": true, "count": true, "permissions": true, "output[include]": true, "output[exclude]": true}

// objectQuery reads filters, sort and paging from the query string.
func (a *API) objectQuery(r *http.Request, s *accounts.Session) (objects.Query, bool, error) {
	c, err := a.objects.Class(r.Context(), s.AppID, className(r))
	if err != nil {
		return objects.Query{}, false, err
	}
	q := r.URL.Query()
	var oq objects.Query
	if oq.Filters, err = c.ParseFilters(q, objectReserved); err != nil {
		return oq, false, err
	}
	if f := q.Get("sort_desc"); f != "" {
		oq.Sort, oq.Desc = f, true
	} else if f := q.Get("sort_asc"); f != "" {
		oq.Sort = f
	}
	if oq.Limit, err = intParam(q, "limit", 100); err == nil {
		oq.Skip, err = intParam(q, "skip", 0)
	}
	return oq, truthy(q.Get("count")), err
}

func (a *API) listObjects(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	q, count, err := a.objectQuery(r, s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	recs, n, err := a.objects.List(r.Context(), s.AppID, s.UserID, className(r), q, count)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if count {
		writeJSON(w, http.StatusOK, map[string]any{"items_count": n})
		return
	}
	writeJSON(w, http.StatusOK, itemsOut(className(r), recs, q.Skip, min(max(q.Limit, 1), objects.MaxPage)))
}

func (a *API) getObjects(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	ids := splitList(pathValue(r, "ids"))
	if truthy(r.URL.Query().Get("permissions")) {
		c, err := a.objects.Class(r.Context(), s.AppID, className(r))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		recs, err := a.objects.Get(r.Context(), s.AppID, s.UserID, className(r), ids[:min(1, len(ids))])
		if err != nil || len(recs) == 0 {
			writeError(w, http.StatusNotFound, []string{"Resource not found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"record_id": recs[0].ID, "permissions": map[string]any{
			"read": map[string]string{"access": c.Read}, "update": map[string]string{"access": c.Update}, "delete": map[string]string{"access": c.Delete}}})
		return
	}
	recs, err := a.objects.Get(r.Context(), s.AppID, s.UserID, className(r), ids)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, itemsOut(className(r), recs, 0, len(ids)))
}

// objectOps reads the update operators of a body: inc, push, pull, add_to_set
// (as objects, or the form keys inc[field]) and the plain fields to set.
func objectOps(in map[string]any) objects.Ops {
	o := objects.Ops{Set: map[string]any{}, Inc: map[string]any{}, Push: map[string]any{}, Pull: map[string]any{}, AddToSet: map[string]any{}}
	named := map[string]map[string]any{"inc": o.Inc, "push": o.Push, "pull": o.Pull, "add_to_set": o.AddToSet}
	for k, v := range in {
		if dst, ok := named[k]; ok {
			if m, ok := v.(map[string]any); ok {
				for f, x := range m {
					dst[f] = x
				}
			}
			continue
		}
		if i := strings.IndexByte(k, '['); i > 0 && strings.HasSuffix(k, "]") {
			if dst, ok := named[k[:i]]; ok {
				dst[k[i+1:len(k)-1]] = v
				continue
			}
		}
		if k == "search_criteria" || k == "_id" || k == "id" {
			continue
		}
		o.Set[k] = v
	}
	return o
}

func (a *API) updateObject(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	in, err := objectBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id := pathValue(r, "id")
	if id == "by_criteria" {
		a.updateByCriteria(w, r, s, in)
		return
	}
	rec, err := a.objects.Update(r.Context(), s.AppID, s.UserID, className(r), id, objectOps(in))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, objectOut(className(r), rec))
}

// updateByCriteria updates the records search_criteria matches that the
// caller may update (at most a page).
func (a *API) updateByCriteria(w http.ResponseWriter, r *http.Request, s *accounts.Session, in map[string]any) {
	c, err := a.objects.Class(r.Context(), s.AppID, className(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	crit, _ := in["search_criteria"].(map[string]any)
	params := map[string][]string{}
	for k, v := range crit {
		b, _ := json.Marshal(v)
		params[k] = []string{strings.Trim(string(b), `"`)}
	}
	fs, err := c.ParseFilters(params, objectReserved)
	if err != nil || len(fs) == 0 {
		if err == nil {
			err = &objects.Refusal{Field: "search_criteria", Msg: "name at least one condition"}
		}
		a.fail(w, r, err)
		return
	}
	recs, _, err := a.objects.List(r.Context(), s.AppID, s.UserID, className(r), objects.Query{Filters: fs, Limit: objects.MaxPage}, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var done []objects.Record
	for i := range recs {
		if rec, err := a.objects.Update(r.Context(), s.AppID, s.UserID, className(r), recs[i].ID, objectOps(in)); err == nil {
			done = append(done, *rec)
		}
	}
	out := itemsOut(className(r), done, 0, len(done))
	out["total_found"] = len(recs)
	writeJSON(w, http.StatusOK, out)
}

// jsonScalar writes a JSON value as a query value (lists comma-joined).
func jsonScalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i := range x {
			parts[i] = jsonScalar(x[i])
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (a *API) deleteObjects(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	ids := pathValue(r, "ids")
	if ids == "by_criteria" {
		// The SDK sends the criteria as a form body (rating[gte]=0); a JSON
		// body ({"field":{"op":v}}) is read too.
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
			// ParseForm reads no DELETE body: parse it here.
			if raw, err := io.ReadAll(r.Body); err == nil {
				if form, err := url.ParseQuery(string(raw)); err == nil {
					qv := r.URL.Query()
					for k, v := range form {
						qv[k] = v
					}
					r.URL.RawQuery = qv.Encode()
				}
			}
		} else if body, err := objectBody(r); err == nil && len(body) > 0 {
			qv := r.URL.Query()
			for k, v := range body {
				if m, ok := v.(map[string]any); ok {
					for op, x := range m {
						qv.Set(k+"["+op+"]", jsonScalar(x))
					}
				} else {
					qv.Set(k, jsonScalar(v))
				}
			}
			r.URL.RawQuery = qv.Encode()
		}
		q, _, err := a.objectQuery(r, s)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		n, err := a.objects.DeleteByCriteria(r.Context(), s.AppID, s.UserID, className(r), q)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"total_deleted": n})
		return
	}
	list := splitList(ids)
	del, nf, forb, err := a.objects.Delete(r.Context(), s.AppID, s.UserID, className(r), list)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeDeleted(w, len(list) == 1, del, nf, forb)
}
