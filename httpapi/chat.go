package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
)

// Live pushes what REST calls change to connected clients. The XMPP layer
// implements it.
type Live interface {
	// Message delivers a message created with send_to_chat=1.
	Message(m *history.Message, d *dialogs.Dialog)
	// Read tells senders their messages were read by reader.
	Read(reader int64, d *dialogs.Dialog, msgs []history.Message)
	// Removed tells occupants that messages were deleted for everyone.
	Removed(by int64, d *dialogs.Dialog, ids []string)
	// Reaction pushes a reaction change.
	Reaction(uid int64, d *dialogs.Dialog, m *history.Message, add, remove string)
	// System sends a SystemNotifications headline.
	System(appID, from, to int64, id string, extension map[string]string)
	// Revoke ends a user's XMPP streams whose credentials no longer hold:
	// those signed in with session token only (when not 0), else all but
	// those signed in with keep (0: all).
	Revoke(appID, userID, only, keep int64) int
	// OnlineUsers lists the app's users with a live session, across the
	// cluster, in id order (bounded).
	OnlineUsers(appID int64) []int64
}

func (a *API) routesChat() {
	m := a.mux
	m.HandleFunc("GET /chat/Dialog.json", a.user(a.listDialogs))
	m.HandleFunc("POST /chat/Dialog.json", a.user(a.createDialog))
	m.HandleFunc("PUT /chat/Dialog/{id}", a.user(a.updateDialog))
	m.HandleFunc("DELETE /chat/Dialog/{id}", a.user(a.deleteDialogs))
	m.HandleFunc("POST /chat/Dialog/{id}/{sub}", a.user(a.dialogSub))
	m.HandleFunc("GET /chat/Dialog/{id}/{sub}", a.user(a.dialogSub))
	m.HandleFunc("PUT /chat/Dialog/{id}/{sub}", a.user(a.dialogSub))
	m.HandleFunc("DELETE /chat/Dialog/{id}/{sub}", a.user(a.dialogSub))
	m.HandleFunc("GET /chat/Message.json", a.user(a.listMessages))
	m.HandleFunc("POST /chat/Message.json", a.user(a.createMessage))
	m.HandleFunc("PUT /chat/Message.json", a.user(a.updateMessages))
	m.HandleFunc("PUT /chat/Message/{ids}", a.user(a.updateMessages))
	m.HandleFunc("DELETE /chat/Message/{ids}", a.user(a.deleteMessages))
	m.HandleFunc("GET /chat/Message/unread.json", a.user(a.unread))
	m.HandleFunc("GET /chat/Message/{id}/reactions.json", a.user(a.listReactions))
	m.HandleFunc("PUT /chat/Message/{id}/reactions.json", a.user(a.react))
	m.HandleFunc("POST /chat/Message/system.json", a.user(a.systemMessage))
	m.HandleFunc("GET /chat/search.json", a.user(a.search))
}

// user requires a user session (an app session cannot chat).
func (a *API) user(next func(http.ResponseWriter, *http.Request, *accounts.Session)) http.HandlerFunc {
	return a.withSession(func(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
		if s.UserID == 0 {
			writeError(w, http.StatusForbidden, []string{"a user session is required: create the session with a login and password"})
			return
		}
		next(w, r, s)
	})
}

func (a *API) room(d *dialogs.Dialog) any {
	if d.Type == dialogs.Private {
		return nil
	}
	return d.RoomAddress(a.muc)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func ids(l []int64) []int64 {
	if l == nil {
		return []int64{}
	}
	return l
}

func (a *API) dialogOut(v *dialogs.View) map[string]any {
	d := &v.Dialog
	occ := ids(d.Occupants)
	if d.Type == dialogs.Public || d.Type == dialogs.Broadcast {
		occ = []int64{} // subscribers are paged via occupants.json
	}
	pinned := d.Pinned
	if pinned == nil {
		pinned = []string{}
	}
	var ext any
	if d.Extensions != nil {
		ext = d.Extensions
	}
	return map[string]any{
		"_id": d.ID, "type": a.wireType(d.AppID, d.Type), "user_id": d.OwnerID, "name": nullStr(d.Name), "description": nullStr(d.Description),
		"photo": nullStr(d.Photo), "occupants_ids": occ, "occupants_count": len(d.Occupants), "admins_ids": ids(d.Admins),
		"pinned_messages_ids": pinned, "xmpp_room_jid": a.room(d), "last_message": nullStr(d.LastMessage),
		"last_message_id": nullStr(d.LastMessageID), "last_message_user_id": nullInt(d.LastMessageUserID),
		"last_message_date_sent": nullInt(d.LastMessageDate), "last_message_status": nullStr(v.LastMessageStatus),
		"unread_messages_count": v.Unread, "extensions": ext, "permissions": map[string]bool{"allow_preview": d.AllowPreview},
		"is_muted": !v.Notifications, "created_at": iso(d.CreatedAt), "updated_at": iso(d.UpdatedAt),
	}
}

func messageOut(m *history.Message, viewer int64) map[string]any {
	att := m.Attachments
	if att == nil {
		att = []map[string]string{}
	}
	out := map[string]any{}
	for k, v := range m.Custom {
		out[k] = v
	}
	read := 0
	if m.Read {
		read = 1
	}
	var reactions any
	if len(m.Reactions) > 0 {
		own := []string{}
		total := map[string]int{}
		for r, users := range m.Reactions {
			total[r] = len(users)
			for _, u := range users {
				if u == viewer {
					own = append(own, r)
				}
			}
		}
		reactions = map[string]any{"own": own, "total": total}
	}
	for k, v := range map[string]any{
		"_id": m.ID, "chat_dialog_id": m.DialogID, "message": m.Body, "date_sent": m.DateSent, "sender_id": m.SenderID,
		"recipient_id": m.RecipientID, "attachments": att, "read_ids": ids(m.ReadIDs), "delivered_ids": ids(m.DeliveredIDs),
		"read": read, "views_count": len(m.ReadIDs), "reactions": reactions, "created_at": iso(m.CreatedAt), "updated_at": iso(m.UpdatedAt),
	} {
		out[k] = v
	}
	return out
}

// chatFail maps domain errors to HTTP answers.
func (a *API) chatFail(w http.ResponseWriter, r *http.Request, err error) {
	var dv dialogs.ValidationError
	var fe *dialogs.FilterError
	var nsu *dialogs.NoSuchUserError
	switch {
	case errors.As(err, &dv):
		writeError(w, http.StatusUnprocessableEntity, map[string][]string(dv))
	case errors.As(err, &nsu):
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"base": {strings.TrimPrefix(nsu.Error(), "dialogs: ")}})
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, []string{fe.Msg})
	case errors.Is(err, dialogs.ErrNotFound), errors.Is(err, history.ErrNotFound):
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
	case errors.Is(err, dialogs.ErrBlocked):
		writeError(w, http.StatusForbidden, []string{"The user does not accept messages or invitations from you"})
	case errors.Is(err, dialogs.ErrForbidden), errors.Is(err, history.ErrForbidden):
		writeError(w, http.StatusForbidden, []string{"You don't have appropriate permissions to perform this operation"})
	case errors.Is(err, history.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, []string{"invalid message"})
	default:
		a.fail(w, r, err)
	}
}

var dialogReserved = map[string]bool{"limit": true, "skip": true, "sort_asc": true, "sort_desc": true, "count": true}

func (a *API) listDialogs(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	q := r.URL.Query()
	fs, err := parseFilters(q, dialogReserved)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	dq := dialogs.Query{}
	for _, f := range fs {
		if f.field == "type" {
			f.values = a.typeFilterValues(s.AppID, f.values)
		}
		dq.Filters = append(dq.Filters, dialogs.Filter{Field: f.field, Op: f.op, Values: f.values})
	}
	if dq.Limit, err = intParam(q, "limit", 100); err == nil {
		dq.Skip, err = intParam(q, "skip", 0)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if f := q.Get("sort_asc"); f != "" {
		dq.SortField, dq.SortAsc = f, true
	} else {
		dq.SortField = q.Get("sort_desc")
	}
	if dq.SortField != "" && !map[string]bool{"last_message_date_sent": true, "created_at": true, "updated_at": true, "name": true}[dq.SortField] {
		writeError(w, http.StatusBadRequest, []string{"cannot sort by " + dq.SortField})
		return
	}
	views, total, err := a.dialogs.List(r.Context(), s.AppID, s.UserID, dq)
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	if truthy(q.Get("count")) {
		writeJSON(w, http.StatusOK, map[string]any{"items_count": total})
		return
	}
	items := make([]map[string]any, 0, len(views))
	for i := range views {
		items = append(items, a.dialogOut(&views[i]))
	}
	limit := dq.Limit
	if limit == 0 || limit > 100 {
		limit = 100
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_entries": total, "skip": dq.Skip, "limit": limit, "items": items})
}

type dialogJSON struct {
	Type        *flexInt64      `json:"type"`
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Photo       *string         `json:"photo"`
	Occupants   intList         `json:"occupants_ids"`
	Admins      intList         `json:"admins_ids"`
	Extensions  *map[string]any `json:"extensions"`
	Permissions *struct {
		AllowPreview *flexBool `json:"allow_preview"`
	} `json:"permissions"`
	PushAll *changeJSON `json:"push_all"`
	PullAll *changeJSON `json:"pull_all"`
}

type changeJSON struct {
	Occupants intList `json:"occupants_ids"`
	Admins    intList `json:"admins_ids"`
	Pinned    strList `json:"pinned_messages_ids"`
}

func (dj *dialogJSON) input(raw map[string]any) dialogs.Input {
	in := dialogs.Input{Name: dj.Name, Description: dj.Description, Photo: dj.Photo, Occupants: dj.Occupants, Admins: dj.Admins}
	if dj.Type != nil {
		t := dialogs.Type(*dj.Type)
		in.Type = &t
	}
	if v, ok := raw["extensions"]; ok {
		if v == nil {
			in.ResetExt = true
		} else if m, ok := v.(map[string]any); ok {
			in.Extensions = map[string]*string{}
			for k, val := range m {
				if val == nil {
					in.Extensions[k] = nil
					continue
				}
				s := toString(val)
				in.Extensions[k] = &s
			}
		}
	}
	if dj.Permissions != nil && dj.Permissions.AllowPreview != nil {
		b := bool(*dj.Permissions.AllowPreview)
		in.AllowPreview = &b
	}
	if dj.PushAll != nil {
		in.PushOccupants, in.PushAdmins, in.PushPinned = dj.PushAll.Occupants, dj.PushAll.Admins, dj.PushAll.Pinned
	}
	if dj.PullAll != nil {
		in.PullOccupants, in.PullAdmins, in.PullPinned = dj.PullAll.Occupants, dj.PullAll.Admins, dj.PullAll.Pinned
	}
	return in
}

func toString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		if t {
			return "true"
		}
		return "false"
	default:
		b, _ := jsonMarshal(t)
		return strings.Trim(string(b), `"`)
	}
}

// readDialogJSON decodes a dialog body both typed and raw (to tell a null
// from an absent field).
func readDialogJSON(r *http.Request) (*dialogJSON, map[string]any, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, nil, err
	}
	var dj dialogJSON
	raw := map[string]any{}
	if len(body) > 0 {
		if err := jsonUnmarshal(body, &dj); err != nil {
			return nil, nil, asBadRequest(err)
		}
		jsonUnmarshal(body, &raw)
	}
	return &dj, raw, nil
}

func (a *API) createDialog(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	dj, raw, err := readDialogJSON(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in := dj.input(raw)
	if in.Type != nil {
		t := a.modelType(s.AppID, int64(*in.Type))
		in.Type = &t
	}
	v, err := a.dialogs.Create(r.Context(), s.AppID, s.UserID, in)
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a.dialogOut(v))
}

func (a *API) updateDialog(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	id := pathValue(r, "id")
	dj, raw, err := readDialogJSON(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.dialogs.Update(r.Context(), s.AppID, s.UserID, id, dj.input(raw))
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.dialogOut(v))
}

func (a *API) deleteDialogs(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	list, err := pathList(r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q, err := form(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.dialogs.Delete(r.Context(), s.AppID, s.UserID, list, truthy(q.Get("force")))
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	writeDeleted(w, len(list) == 1, res.Deleted, res.NotFound, res.WrongPermissions)
}

// dialogSub serves /chat/Dialog/{id}/{subscribe|occupants|admins|notifications}.json
// and /chat/Dialog/clearHistory/{id}.json.
func (a *API) dialogSub(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	id, sub := r.PathValue("id"), pathValue(r, "sub")
	ctx := r.Context()
	if id == "clearHistory" && r.Method == http.MethodDelete {
		if err := a.history.ClearHistory(ctx, s.AppID, s.UserID, sub); err != nil {
			a.chatFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	switch r.Method + " " + sub {
	case "POST subscribe":
		v, err := a.dialogs.Subscribe(ctx, s.AppID, s.UserID, id)
		if err != nil {
			a.chatFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a.dialogOut(v))
	case "DELETE subscribe":
		if err := a.dialogs.Unsubscribe(ctx, s.AppID, s.UserID, id); err != nil {
			a.chatFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	case "GET occupants":
		q := r.URL.Query()
		limit, err := intParam(q, "limit", 100)
		skip, err2 := intParam(q, "skip", 0)
		if err != nil || err2 != nil {
			a.fail(w, r, badRequest("limit and skip must be non-negative integers"))
			return
		}
		uids, total, err := a.dialogs.Occupants(ctx, s.AppID, s.UserID, id, limit, skip)
		if err != nil {
			a.chatFail(w, r, err)
			return
		}
		users, _, err := a.accounts.Users(ctx, s.AppID, accounts.UserQuery{IDs: uids, Limit: 100})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		contacts, err := a.contactsShown(ctx, s)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		items := make([]userJSON, 0, len(users))
		for i := range users {
			items = append(items, userFor(&users[i], s, contacts))
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items, "total_entries": total, "limit": limit, "skip": skip})
	case "PUT admins":
		dj, raw, err := readDialogJSON(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		in := dj.input(raw)
		in = dialogs.Input{PushAdmins: in.PushAdmins, PullAdmins: in.PullAdmins}
		if len(in.PushAdmins)+len(in.PullAdmins) == 0 {
			writeError(w, http.StatusUnprocessableEntity, map[string][]string{"admins_ids": {"push_all or pull_all of admins_ids is required"}})
			return
		}
		v, err := a.dialogs.Update(ctx, s.AppID, s.UserID, id, in)
		if err != nil {
			a.chatFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a.dialogOut(v))
	case "GET notifications":
		on, err := a.dialogs.Notifications(ctx, s.AppID, s.UserID, id)
		if err != nil {
			a.chatFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"notifications": map[string]int{"enabled": b2i(on)}})
	case "PUT notifications":
		var req struct {
			Enabled *flexBool `json:"enabled"`
		}
		if err := decodeJSON(r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		if req.Enabled == nil {
			writeError(w, http.StatusUnprocessableEntity, map[string][]string{"enabled": {"is required (0 or 1)"}})
			return
		}
		if err := a.dialogs.SetNotifications(ctx, s.AppID, s.UserID, id, bool(*req.Enabled)); err != nil {
			a.chatFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"notifications": map[string]int{"enabled": b2i(bool(*req.Enabled))}})
	default:
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var messageReserved = map[string]bool{"limit": true, "skip": true, "sort_asc": true, "sort_desc": true, "mark_as_read": true,
	"chat_dialog_id": true, "preview": true, "count": true}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	q := r.URL.Query()
	dialogID := q.Get("chat_dialog_id")
	if dialogID == "" {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"chat_dialog_id": {"is required"}})
		return
	}
	fs, err := parseFilters(q, messageReserved)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	hq := history.Query{}
	for _, f := range fs {
		hq.Filters = append(hq.Filters, history.Filter{Field: f.field, Op: f.op, Values: f.values})
	}
	if hq.Limit, err = intParam(q, "limit", 100); err == nil {
		hq.Skip, err = intParam(q, "skip", 0)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	hq.Desc = q.Get("sort_desc") != ""
	markRead := q.Get("mark_as_read") != "0" && !truthy(q.Get("preview"))
	msgs, readNow, err := a.history.List(r.Context(), s.AppID, s.UserID, dialogID, hq, markRead)
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	if len(readNow) > 0 && a.live != nil {
		if d, err := a.dialogs.Dialog(r.Context(), s.AppID, dialogID); err == nil {
			a.live.Read(s.UserID, d, readNow)
		}
	}
	items := make([]map[string]any, 0, len(msgs))
	for i := range msgs {
		items = append(items, messageOut(&msgs[i], s.UserID))
	}
	limit := hq.Limit
	if limit == 0 || limit > 100 {
		limit = 100
	}
	writeJSON(w, http.StatusOK, map[string]any{"skip": hq.Skip, "limit": limit, "items": items})
}

// messageKnown are the create body's own keys; any other key is custom.
var messageKnown = map[string]bool{"chat_dialog_id": true, "recipient_id": true, "message": true, "attachments": true,
	"send_to_chat": true, "markable": true, "_id": true, "date_sent": true, "sender_id": true, "save_to_history": true}

func (a *API) createMessage(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	body, err := readBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		DialogID    string           `json:"chat_dialog_id"`
		RecipientID flexInt64        `json:"recipient_id"`
		Message     string           `json:"message"`
		Attachments []map[string]any `json:"attachments"`
		SendToChat  flexBool         `json:"send_to_chat"`
		ID          string           `json:"_id"`
	}
	raw := map[string]any{}
	if err := jsonUnmarshal(body, &req); err != nil {
		a.fail(w, r, asBadRequest(err))
		return
	}
	jsonUnmarshal(body, &raw)
	if req.DialogID == "" && req.RecipientID == 0 {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"base": {"chat_dialog_id or recipient_id is required"}})
		return
	}
	p := history.Post{ID: req.ID, DialogID: req.DialogID, RecipientID: int64(req.RecipientID), Body: req.Message, Save: true}
	for _, at := range req.Attachments {
		m := map[string]string{}
		for k, v := range at {
			m[k] = toString(v)
		}
		p.Attachments = append(p.Attachments, m)
	}
	for k, v := range raw {
		if !messageKnown[k] {
			if p.Custom == nil {
				p.Custom = map[string]any{}
			}
			if _, nested := v.(map[string]any); nested {
				p.Custom[k] = v
			} else {
				p.Custom[k] = toString(v)
			}
		}
	}
	posted, err := a.history.Send(r.Context(), s.AppID, s.UserID, p)
	if errors.Is(err, dialogs.ErrNoSuchUser) {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"recipient_id": {"is not a user of this application"}})
		return
	}
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	if bool(req.SendToChat) && a.live != nil && posted.Stored {
		a.live.Message(posted.Message, posted.Dialog)
	}
	writeJSON(w, http.StatusCreated, messageOut(posted.Message, s.UserID))
}

// updateMessages is PUT /chat/Message/{ids}.json or, for every message of a
// dialog, PUT /chat/Message.json: read, delivered and (one id) message.
func (a *API) updateMessages(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var req struct {
		Read      flexBool `json:"read"`
		Delivered flexBool `json:"delivered"`
		Message   *string  `json:"message"`
		DialogID  string   `json:"chat_dialog_id"`
	}
	if err := decodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := pathList(r.PathValue("ids"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(list) == 0 && req.DialogID == "" {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"chat_dialog_id": {"is required to update every message of a dialog"}})
		return
	}
	ctx := r.Context()
	if req.Message != nil {
		if len(list) != 1 {
			writeError(w, http.StatusUnprocessableEntity, map[string][]string{"message": {"can be changed on one message at a time"}})
			return
		}
		if _, _, err := a.history.Edit(ctx, s.AppID, s.UserID, req.DialogID, list[0], *req.Message); err != nil {
			a.chatFail(w, r, err)
			return
		}
	}
	for _, kind := range []string{history.Delivered, history.Read} {
		if kind == history.Delivered && !bool(req.Delivered) || kind == history.Read && !bool(req.Read) {
			continue
		}
		d, msgs, err := a.history.Receipt(ctx, s.AppID, s.UserID, req.DialogID, kind, list)
		if err != nil {
			a.chatFail(w, r, err)
			return
		}
		if kind == history.Read && a.live != nil && len(msgs) > 0 {
			a.live.Read(s.UserID, d, msgs)
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (a *API) deleteMessages(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	q, err := form(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := pathList(r.PathValue("ids"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ok, notFound, wrong, err := a.history.Delete(r.Context(), s.AppID, s.UserID, "", list, truthy(q.Get("force")))
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	if truthy(q.Get("force")) && a.live != nil {
		byDialog := map[string][]string{}
		dlg := map[string]*dialogs.Dialog{}
		for _, d := range ok {
			byDialog[d.Dialog.ID] = append(byDialog[d.Dialog.ID], d.Message.ID)
			dlg[d.Dialog.ID] = d.Dialog
		}
		for id, mids := range byDialog {
			a.live.Removed(s.UserID, dlg[id], mids)
		}
	}
	var done []string
	for _, d := range ok {
		done = append(done, d.Message.ID)
	}
	writeDeleted(w, false, done, notFound, wrong)
}

// writeDeleted answers a delete by ids: for one id, 404, 403 or an empty
// 200 as the SDK expects; for several, the three lists (never null).
func writeDeleted(w http.ResponseWriter, one bool, deleted, notFound, forbidden []string) {
	if one {
		switch {
		case len(notFound) > 0:
			writeError(w, http.StatusNotFound, []string{"Resource not found"})
		case len(forbidden) > 0:
			writeError(w, http.StatusForbidden, []string{"You don't have appropriate permissions to perform this operation"})
		default:
			w.WriteHeader(http.StatusOK)
		}
		return
	}
	nz := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"SuccessfullyDeleted": map[string]any{"ids": nz(deleted)},
		"NotFound":            map[string]any{"ids": nz(notFound)},
		"WrongPermissions":    map[string]any{"ids": nz(forbidden)},
	})
}

func (a *API) unread(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	dialogIDs, err := queryList(r.URL.Query(), "chat_dialog_ids")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	counts, total, err := a.history.Unread(r.Context(), s.AppID, s.UserID, dialogIDs)
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	out := map[string]any{"total": total}
	for id, n := range counts {
		out[id] = n
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) react(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var req struct {
		Add    string `json:"add"`
		Remove string `json:"remove"`
	}
	if err := decodeJSON(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	m, d, err := a.history.React(r.Context(), s.AppID, s.UserID, pathValue(r, "id"), req.Add, req.Remove)
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	if a.live != nil {
		a.live.Reaction(s.UserID, d, m, req.Add, req.Remove)
	}
	w.WriteHeader(http.StatusOK)
}

func (a *API) listReactions(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	rs, err := a.history.Reactions(r.Context(), s.AppID, s.UserID, r.PathValue("id"))
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

func (a *API) systemMessage(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	raw := map[string]any{}
	if err := decodeJSON(r, &raw); err != nil {
		a.fail(w, r, err)
		return
	}
	var to int64
	switch v := raw["recipientId"].(type) {
	case float64:
		to = int64(v)
	case string:
		var f flexInt64
		f.UnmarshalJSON([]byte(`"` + v + `"`))
		to = int64(f)
	}
	if to == 0 {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"recipientId": {"is required"}})
		return
	}
	if _, err := a.accounts.User(r.Context(), s.AppID, to); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.dialogs.Refuses(r.Context(), s.AppID, s.UserID, to) {
		a.chatFail(w, r, dialogs.ErrBlocked)
		return
	}
	ext := map[string]string{}
	for k, v := range raw {
		if k != "recipientId" {
			ext[k] = toString(v)
		}
	}
	id := dialogs.NewID(time.Now())
	if a.live != nil {
		a.live.System(s.AppID, s.UserID, to, id, ext)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"messageId": id, "recipientId": to, "extensionParams": ext})
}

// search is GET /chat/search.json: messages by text, dialogs by name and
// users by login or full name, within what the user may read.
func (a *API) search(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("search_text"))
	if text == "" {
		writeError(w, http.StatusUnprocessableEntity, map[string][]string{"search_text": {"is required"}})
		return
	}
	if len(text) > MaxSearchText {
		a.fail(w, r, badRequest("search_text: at most "+strconv.Itoa(MaxSearchText)+" bytes"))
		return
	}
	dialogIDs, err := queryList(q, "chat_dialog_ids")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sq := history.SearchQuery{Text: text, DialogIDs: dialogIDs}
	if sq.Limit, err = intParam(q, "limit", 100); err != nil {
		a.fail(w, r, err)
		return
	}
	for name, dst := range map[string]*time.Time{"start_date": &sq.Start, "end_date": &sq.End} {
		if v := q.Get(name); v != "" {
			sec, err := dialogs.ParseTime(v)
			if err != nil {
				a.fail(w, r, badRequest(name+": "+err.Error()))
				return
			}
			*dst = time.Unix(sec, 0)
		}
	}
	ctx := r.Context()
	msgs, err := a.history.Search(ctx, s.AppID, s.UserID, sq)
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	views, _, err := a.dialogs.List(ctx, s.AppID, s.UserID, dialogs.Query{Filters: []dialogs.Filter{{Field: "name", Op: "ctn", Values: []string{text}}}, Limit: sq.Limit})
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	users, _, err := a.accounts.Users(ctx, s.AppID, accounts.UserQuery{FullName: text, Limit: sq.Limit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	contacts, err := a.contactsShown(ctx, s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	mo := make([]map[string]any, 0, len(msgs))
	for i := range msgs {
		mo = append(mo, messageOut(&msgs[i], s.UserID))
	}
	do := make([]map[string]any, 0, len(views))
	for i := range views {
		do = append(do, a.dialogOut(&views[i]))
	}
	uo := make([]userJSON, 0, len(users))
	for i := range users {
		uo = append(uo, userFor(&users[i], s, contacts))
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": map[string]any{"messages": mo, "dialogs": do, "users": uo}})
}
