package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/accounts"
)

// The classic users API the SDK's users.get({...}) variants call (spec
// 2.2): one user by login, email or external id; pages by full name, phone,
// tags, or by the documented filter strings; and who is online.

func (a *API) routesUsers() {
	m := a.mux
	m.HandleFunc("GET /users.json", a.withSession(a.usersPage))
	m.HandleFunc("GET /users/by_login.json", a.withSession(a.userBy("login")))
	m.HandleFunc("GET /users/by_email.json", a.withSession(a.userBy("email")))
	m.HandleFunc("GET /users/external/{id}", a.withSession(a.userBy("external")))
	m.HandleFunc("GET /users/by_facebook_id.json", a.withSession(a.notLinked))
	m.HandleFunc("GET /users/by_twitter_id.json", a.withSession(a.notLinked))
	m.HandleFunc("GET /users/by_full_name.json", a.withSession(a.usersPage))
	m.HandleFunc("GET /users/phone.json", a.withSession(a.usersPage))
	m.HandleFunc("GET /users/by_tags.json", a.withSession(a.usersPage))
	m.HandleFunc("GET /users/online.json", a.withSession(a.usersOnline))
}

// notLinked answers lookups by social network ids: Parley links none.
func (a *API) notLinked(w http.ResponseWriter, _ *http.Request, _ *accounts.Session) {
	writeError(w, http.StatusNotFound, []string{"Resource not found: no user is linked to a Facebook or Twitter id here"})
}

// userBy answers {"user"} for one user found by login, email or external id.
func (a *API) userBy(field string) func(http.ResponseWriter, *http.Request, *accounts.Session) {
	return func(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
		contacts, err := a.contactsShown(r.Context(), s)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		var q accounts.UserQuery
		switch field {
		case "login":
			q.Logins = []string{r.URL.Query().Get("login")}
		case "email":
			if !contacts {
				writeError(w, http.StatusForbidden, []string{"looking users up by email needs a user session in an app that shows contacts (show_contacts)"})
				return
			}
			q.Emails = []string{r.URL.Query().Get("email")}
		case "external":
			q.ExternalIDs = []string{pathValue(r, "id")}
		}
		q.Limit = 1
		users, _, err := a.accounts.Users(r.Context(), s.AppID, q)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if len(users) == 0 {
			writeError(w, http.StatusNotFound, []string{"Resource not found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": userFor(&users[0], s, contacts)})
	}
}

// userFilterFields are the fields the documented filter strings may name,
// with the operators served on each.
var userFilterFields = map[string]string{
	"id": "eq in", "login": "eq in", "email": "eq in", "external_user_id": "eq in",
	"phone": "eq in", "full_name": "eq", "tags": "eq in", "user_tags": "eq in",
}

// usersPage answers the page form: by full name, phone or tags (their
// routes), or by filter[] strings ("<type> <field> <op> <value>") and order
// ("<asc|desc> <type> <field>") on /users.json.
func (a *API) usersPage(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	qv := r.URL.Query()
	contacts, err := a.contactsShown(r.Context(), s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var q accounts.UserQuery
	list := func(v string) []string {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/by_full_name.json"):
		q.FullName = qv.Get("full_name")
	case strings.HasSuffix(r.URL.Path, "/phone.json"):
		q.Phones = list(qv.Get("phone"))
	case strings.HasSuffix(r.URL.Path, "/by_tags.json"):
		q.Tags = list(qv.Get("tags"))
	}
	filters := append(qv["filter[]"], qv["filter"]...)
	if len(filters) > 10 {
		writeError(w, http.StatusBadRequest, []string{"at most 10 filters"})
		return
	}
	for _, f := range filters {
		parts := strings.SplitN(f, " ", 4)
		if len(parts) != 4 {
			writeError(w, http.StatusBadRequest, []string{`a filter is "<type> <field> <operator> <value>", e.g. "string login eq bob"`})
			return
		}
		field, op, val := parts[1], parts[2], parts[3]
		ops, ok := userFilterFields[field]
		if !ok || !strings.Contains(ops, op) {
			writeError(w, http.StatusUnprocessableEntity, map[string][]string{"filter": {field + " " + op + " is not served; filter on id, login, email, external_user_id, phone, tags (eq, in) or full_name (eq)"}})
			return
		}
		vals := list(val)
		switch field {
		case "id":
			for _, v := range vals {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					writeError(w, http.StatusBadRequest, []string{"id filter values must be integers"})
					return
				}
				q.IDs = append(q.IDs, id)
			}
		case "login":
			q.Logins = append(q.Logins, vals...)
		case "email":
			q.Emails = append(q.Emails, vals...)
		case "external_user_id":
			q.ExternalIDs = append(q.ExternalIDs, vals...)
		case "phone":
			q.Phones = append(q.Phones, vals...)
		case "tags", "user_tags":
			q.Tags = append(q.Tags, vals...)
		case "full_name":
			q.FullName = val
		}
	}
	if (len(q.Emails) > 0 || len(q.Phones) > 0) && !contacts {
		writeError(w, http.StatusForbidden, []string{"looking users up by email or phone needs a user session in an app that shows contacts (show_contacts)"})
		return
	}
	if len(q.FullName) > MaxSearchText {
		a.fail(w, r, badRequest("full_name: at most "+strconv.Itoa(MaxSearchText)+" bytes"))
		return
	}
	if o := strings.Fields(qv.Get("order")); len(o) == 3 {
		q.SortField, q.SortDesc = o[2], o[0] == "desc"
	}
	page, err := intParam(qv, "page", 1)
	if err == nil {
		q.Limit, err = intParam(qv, "per_page", 10)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, q.Limit = max(page, 1), min(max(q.Limit, 1), 100)
	q.Offset = (page - 1) * q.Limit
	users, total, err := a.accounts.Users(r.Context(), s.AppID, q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	items := make([]any, len(users))
	for i := range users {
		items[i] = map[string]any{"user": userFor(&users[i], s, contacts)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"current_page": page, "per_page": q.Limit, "total_entries": total, "items": items})
}

// usersOnline answers listOnline ({"users"}) and getOnlineCount
// ({"count"}) from the live sessions of every node.
func (a *API) usersOnline(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var ids []int64
	if a.live != nil {
		ids = a.live.OnlineUsers(s.AppID)
	}
	qv := r.URL.Query()
	if c := qv.Get("count"); c == "true" || c == "1" {
		writeJSON(w, http.StatusOK, map[string]any{"count": len(ids)})
		return
	}
	limit, err := intParam(qv, "limit", 100)
	offset := 0
	if err == nil {
		offset, err = intParam(qv, "offset", 0)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, offset = min(max(limit, 1), 100), min(max(offset, 0), len(ids))
	ids = ids[offset:min(len(ids), offset+limit)]
	contacts, err := a.contactsShown(r.Context(), s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	users := []userJSON{}
	if len(ids) > 0 {
		found, _, err := a.accounts.Users(r.Context(), s.AppID, accounts.UserQuery{IDs: ids, Limit: len(ids)})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		for i := range found {
			users = append(users, userFor(&found[i], s, contacts))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}
