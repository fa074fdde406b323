package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/accounts"
)

type userJSON struct {
	ID            int64   `json:"id"`
	FullName      string  `json:"full_name"`
	Email         *string `json:"email"`
	Login         *string `json:"login"`
	Phone         string  `json:"phone"`
	Website       string  `json:"website"`
	CreatedAt     any     `json:"created_at"`
	UpdatedAt     any     `json:"updated_at"`
	LastRequestAt any     `json:"last_request_at"`
	ExternalID    any     `json:"external_user_id"`
	CustomData    *string `json:"custom_data"`
	UserTags      *string `json:"user_tags"`
	Avatar        *string `json:"avatar"`
	BlobID        any     `json:"blob_id"`
	IsGuest       bool    `json:"is_guest,omitempty"`
}

func userOut(u *accounts.User) userJSON {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	var ext any
	if u.ExternalID != "" {
		ext = u.ExternalID
	}
	return userJSON{
		ID: u.ID, FullName: u.FullName, Email: opt(u.Email), Login: opt(u.Login), Phone: u.Phone, Website: u.Website,
		CreatedAt: iso(u.CreatedAt), UpdatedAt: iso(u.UpdatedAt), LastRequestAt: iso(u.LastRequestAt),
		ExternalID: ext, CustomData: opt(u.CustomData), UserTags: opt(strings.Join(u.Tags, ",")), Avatar: opt(u.Avatar), IsGuest: u.Guest,
	}
}

// contactsShown reports whether session s sees other users' email and
// phone: only a user session, and only where the app allows it.
func (a *API) contactsShown(ctx context.Context, s *accounts.Session) (bool, error) {
	if s.UserID == 0 {
		return false, nil
	}
	app, err := a.accounts.App(ctx, s.AppID)
	if err != nil {
		return false, err
	}
	return app.ShowContacts, nil
}

// userFor renders u as session s sees it: email and phone only for the
// user itself or when contacts are shown.
func userFor(u *accounts.User, s *accounts.Session, contacts bool) userJSON {
	out := userOut(u)
	if !contacts && u.ID != s.UserID {
		out.Email, out.Phone = nil, ""
	}
	return out
}

func sessionOut(s *accounts.Session, token string, u *accounts.User) map[string]any {
	out := map[string]any{
		"id": s.ID, "user_id": s.UserID, "application_id": s.AppID, "token": token,
		"ts": s.CreatedAt.Unix(), "created_at": iso(s.CreatedAt), "updated_at": iso(s.CreatedAt),
		"expires_at": iso(s.ExpiresAt),
	}
	if u != nil {
		out["user"] = userOut(u)
	}
	return map[string]any{"session": out}
}

type loginJSON struct {
	Login    string `json:"login"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Guest    any    `json:"guest"`
	FullName string `json:"full_name"`
}

func (l *loginJSON) login() *accounts.Login {
	if l == nil {
		return nil
	}
	return &accounts.Login{Login: l.Login, Email: l.Email, Password: l.Password}
}

// createSession is POST /session.json: an app session, or a user session
// when "user" carries a login or email and a password.
func (a *API) createSession(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppID    flexInt64  `json:"application_id"`
		AuthKey  string     `json:"auth_key"`
		User     *loginJSON `json:"user"`
		Provider string     `json:"provider"`
	}
	if err := decodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	// Sign-in options this install does not offer are refused by name,
	// never answered with a bare app session.
	if req.Provider != "" {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"provider": {strconv.Quote(req.Provider) + " is not configured for this app: sign in with a login or email and password"}})
		return
	}
	if req.User != nil && req.User.Guest != nil && req.User.Guest != false && req.User.Guest != "0" {
		sess, token, u, err := a.accounts.CreateGuestSession(r.Context(), int64(req.AppID), req.AuthKey, req.User.FullName)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, sessionOut(sess, token, u))
		return
	}
	if req.AppID == 0 || req.AuthKey == "" {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"base": {"application_id and auth_key are required"}})
		return
	}
	if req.User != nil && req.User.Password == "" {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"base": {"password is required"}})
		return
	}
	if req.User == nil {
		sess, token, _, err := a.accounts.CreateSession(r.Context(), int64(req.AppID), req.AuthKey, nil)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, sessionOut(sess, token, nil))
		return
	}
	acct, ip := a.loginAccount(r.Context(), int64(req.AppID), req.User), clientAddr(r)
	if !a.allowLogin(w, r, acct, ip) {
		return
	}
	sess, token, u, err := a.accounts.CreateSession(r.Context(), int64(req.AppID), req.AuthKey, req.User.login())
	a.loginDone(acct, ip, err)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sessionOut(sess, token, u))
}

func (a *API) getSession(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var u *accounts.User
	if s.UserID != 0 {
		var err error
		if u, err = a.accounts.User(r.Context(), s.AppID, s.UserID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, sessionOut(s, r.Header.Get("CB-Token"), u))
}

func (a *API) deleteSession(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	if err := a.accounts.DeleteSession(r.Context(), s); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.live != nil && s.UserID != 0 {
		a.live.Revoke(s.AppID, s.UserID, s.ID, 0) // streams signed in with this token end too
	}
	w.WriteHeader(http.StatusOK)
}

// login is the deprecated POST /login.json: logs a user into an app session.
func (a *API) login(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var req loginJSON
	if err := decodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	acct, ip := a.loginAccount(r.Context(), s.AppID, &req), clientAddr(r)
	if !a.allowLogin(w, r, acct, ip) {
		return
	}
	_, u, err := a.accounts.UpgradeSession(r.Context(), s, r.Header.Get("CB-Token"), req.login())
	a.loginDone(acct, ip, err)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"user": userOut(u)})
}

type userInputJSON struct {
	Login       *string `json:"login"`
	Email       *string `json:"email"`
	FullName    *string `json:"full_name"`
	Phone       *string `json:"phone"`
	Website     *string `json:"website"`
	CustomData  *string `json:"custom_data"`
	ExternalID  *string `json:"external_user_id"`
	ExternalID2 *string `json:"external_id"`
	TagList     any     `json:"tag_list"`
	Avatar      *string `json:"avatar"`
	Password    *string `json:"password"`
	OldPassword *string `json:"old_password"`
}

func (in *userInputJSON) input() accounts.UserInput {
	out := accounts.UserInput{Login: in.Login, Email: in.Email, FullName: in.FullName, Phone: in.Phone, Website: in.Website,
		CustomData: in.CustomData, ExternalID: in.ExternalID, Avatar: in.Avatar, Password: in.Password, OldPassword: in.OldPassword}
	if out.ExternalID == nil {
		out.ExternalID = in.ExternalID2
	}
	switch t := in.TagList.(type) {
	case string:
		out.Tags = splitList(t)
	case []any:
		for _, v := range t {
			if s, ok := v.(string); ok {
				out.Tags = append(out.Tags, s)
			}
		}
	}
	return out
}

// signup is POST /users.json, with an app session token or CB-AuthKey.
func (a *API) signup(w http.ResponseWriter, r *http.Request) {
	var appID int64
	if tok := r.Header.Get("CB-Token"); tok != "" {
		s, err := a.accounts.SessionByToken(r.Context(), tok)
		if err != nil {
			writeError(w, http.StatusUnauthorized, map[string][]string{"base": {"Required session does not exist"}})
			return
		}
		appID = s.AppID
	}
	var req struct {
		User  *userInputJSON `json:"user"`
		AppID flexInt64      `json:"application_id"`
	}
	if err := decodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if appID == 0 {
		// CB-AuthKey: the app is named in the body or as a query parameter.
		key := r.Header.Get("CB-AuthKey")
		id := int64(req.AppID)
		if id == 0 {
			id, _ = strconv.ParseInt(r.URL.Query().Get("application_id"), 10, 64)
		}
		var app *accounts.App
		var err error
		if id == 0 && key != "" {
			app, err = a.accounts.AppByAuthKey(r.Context(), key) // the SDK sends the key alone
		} else {
			app, err = a.accounts.App(r.Context(), id)
		}
		if key == "" || err != nil || !app.CheckAuthKey(key) {
			writeError(w, http.StatusUnauthorized, map[string][]string{"base": {"Required session does not exist"}})
			return
		}
		appID = app.ID
	}
	if req.User == nil {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"base": {"user is required"}})
		return
	}
	u, err := a.accounts.CreateUser(r.Context(), appID, req.User.input())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": userOut(u)})
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	id, ok := pathID(r)
	if !ok {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	u, err := a.accounts.User(r.Context(), s.AppID, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	contacts, err := a.contactsShown(r.Context(), s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userFor(u, s, contacts)})
}

// selfID resolves the user a PUT or DELETE on /users names: only the
// session's own user may change or delete itself.
func selfID(r *http.Request, s *accounts.Session) (int64, error) {
	if s.UserID == 0 {
		return 0, accounts.ErrForbidden
	}
	if r.PathValue("id") == "" {
		return s.UserID, nil
	}
	id, ok := pathID(r)
	if !ok {
		return 0, accounts.ErrNotFound
	}
	if id != s.UserID {
		return 0, accounts.ErrForbidden
	}
	return id, nil
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	id, err := selfID(r, s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		User *userInputJSON `json:"user"`
	}
	if err := decodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.User == nil {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"base": {"user is required"}})
		return
	}
	in := req.User.input()
	in.KeepSession = s.ID
	u, err := a.accounts.UpdateUser(r.Context(), s.AppID, id, in, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if in.Password != nil && a.live != nil {
		a.live.Revoke(s.AppID, id, 0, s.ID) // every other token and stream ends
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userOut(u)})
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	id, err := selfID(r, s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.accounts.DeleteUser(r.Context(), s.AppID, id); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.live != nil {
		a.live.Revoke(s.AppID, id, 0, 0)
	}
	w.WriteHeader(http.StatusOK)
}

// listUsers is GET /users/v2.json: filters id, login, email, external_id
// (plain, [in] or []-repeated), full_name, limit, offset, sort_asc/sort_desc.
func (a *API) listUsers(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	q := r.URL.Query()
	var uq accounts.UserQuery
	idList, err := listParam(q, "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, v := range idList {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, []string{"id must be an integer"})
			return
		}
		uq.IDs = append(uq.IDs, id)
	}
	contacts, err := a.contactsShown(r.Context(), s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if uq.Logins, err = listParam(q, "login"); err == nil {
		if uq.Emails, err = listParam(q, "email"); err == nil {
			uq.ExternalIDs, err = listParam(q, "external_id")
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(uq.Emails) > 0 && !contacts {
		writeError(w, http.StatusForbidden, []string{"looking users up by email needs a user session in an app that shows contacts (show_contacts)"})
		return
	}
	uq.FullName = q.Get("full_name")
	if len(uq.FullName) > MaxSearchText {
		a.fail(w, r, badRequest("full_name: at most "+strconv.Itoa(MaxSearchText)+" bytes"))
		return
	}
	uq.Limit, _ = strconv.Atoi(q.Get("limit"))
	uq.Offset, _ = strconv.Atoi(q.Get("offset"))
	if uq.Offset == 0 {
		uq.Offset, _ = strconv.Atoi(q.Get("skip"))
	}
	if f := q.Get("sort_desc"); f != "" {
		uq.SortField, uq.SortDesc = f, true
	} else if f := q.Get("sort_asc"); f != "" {
		uq.SortField = f
	}
	if uq.Offset < 0 || uq.Limit < 0 {
		writeError(w, http.StatusBadRequest, []string{"limit and offset must not be negative"})
		return
	}
	users, total, err := a.accounts.Users(r.Context(), s.AppID, uq)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	items := make([]userJSON, 0, len(users))
	for i := range users {
		items = append(items, userFor(&users[i], s, contacts))
	}
	limit := uq.Limit
	if limit <= 0 {
		limit = 10
	}
	writeJSON(w, http.StatusOK, map[string]any{"limit": min(limit, 100), "skip": uq.Offset, "total_entries": total, "items": items})
}

// listParam collects a filter in every encoding the SDK produces: k=v,
// k=a,b, k[]=a&k[]=b, k[in]=a,b and k[in][]=a; at most MaxListItems.
func listParam(q map[string][]string, key string) ([]string, error) {
	var out []string
	for _, k := range []string{key, key + "[]", key + "[in]", key + "[in][]"} {
		for _, v := range q[k] {
			out = append(out, splitList(v)...)
		}
	}
	return out, checkListLen(key, len(out))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
