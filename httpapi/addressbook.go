package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/addressbook"
)

// The address book (ConnectyCube's /address_book.json): a user's phone
// contacts per device, and which of them use the app.

func (a *API) routesAddressBook() {
	a.mux.HandleFunc("POST /address_book.json", a.user(a.uploadAddressBook))
	a.mux.HandleFunc("GET /address_book.json", a.user(a.getAddressBook))
	a.mux.HandleFunc("GET /address_book/registered_users.json", a.user(a.registeredUsers))
}

// jsonTrue reads a JSON flag the SDK may send as true, 1 or "1".
func jsonTrue(v any) bool { return v == true || v == "1" || v == "true" || v == float64(1) }

func (a *API) uploadAddressBook(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var in struct {
		Contacts []struct {
			Name    string `json:"name"`
			Phone   string `json:"phone"`
			Destroy any    `json:"destroy"`
		} `json:"contacts"`
		Force any    `json:"force"`
		UDID  string `json:"udid"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	up := addressbook.Upload{Force: jsonTrue(in.Force), UDID: in.UDID}
	for _, c := range in.Contacts {
		up.Contacts = append(up.Contacts, struct {
			Name    string
			Phone   string
			Destroy bool
		}{c.Name, c.Phone, jsonTrue(c.Destroy)})
	}
	res, err := a.book.Upload(r.Context(), s.AppID, s.UserID, up)
	if err != nil {
		if ref, ok := err.(*addressbook.Refusal); ok {
			writeError(w, http.StatusUnprocessableEntity, map[string][]string{"contacts": {ref.Msg}})
			return
		}
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"created": res.Created, "updated": res.Updated, "deleted": res.Deleted, "rejected": res.Rejected})
}

func (a *API) getAddressBook(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	cs, err := a.book.Contacts(r.Context(), s.AppID, s.UserID, r.URL.Query().Get("udid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cs)
}

// registeredUsers answers the users of the app whose phone is in the
// caller's book (of the device udid names, or the default one), as a plain
// array: with compact=1 only their id and phone.
func (a *API) registeredUsers(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	q := r.URL.Query()
	cs, err := a.book.Contacts(r.Context(), s.AppID, s.UserID, q.Get("udid"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var phones []string
	for _, c := range cs {
		phones = append(phones, addressbook.Variants(c.Phone)...)
	}
	out := []any{}
	if len(phones) > 0 {
		users, _, err := a.accounts.Users(r.Context(), s.AppID, accounts.UserQuery{Phones: phones, Limit: addressbook.MaxContacts})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		compact := truthy(q.Get("compact"))
		for i := range users {
			if users[i].ID == s.UserID {
				continue
			}
			if compact {
				out = append(out, map[string]any{"id": users[i].ID, "phone": users[i].Phone})
				continue
			}
			u := userOut(&users[i])
			u.Phone = users[i].Phone // the caller has the number already
			out = append(out, u)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
