package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/meetings"
)

// Meetings (/meetings.json) and whiteboards (/whiteboards.json), as the
// SDK's meeting and whiteboard modules call them.

func (a *API) routesMeetings() {
	m := a.mux
	m.HandleFunc("POST /meetings.json", a.user(a.createMeeting))
	m.HandleFunc("GET /meetings.json", a.user(a.listMeetings))
	m.HandleFunc("PUT /meetings/{id}", a.user(a.updateMeeting))
	m.HandleFunc("DELETE /meetings/{id}", a.user(a.deleteMeeting))
	m.HandleFunc("GET /meetings/recordings/{id}", a.user(a.meetingRecordings))
	m.HandleFunc("POST /whiteboards.json", a.user(a.createWhiteboard))
	m.HandleFunc("GET /whiteboards.json", a.user(a.listWhiteboards))
	m.HandleFunc("PUT /whiteboards/{id}", a.user(a.renameWhiteboard))
	m.HandleFunc("DELETE /whiteboards/{id}", a.user(a.deleteWhiteboard))
}

func meetingOut(m *meetings.Meeting) map[string]any {
	att := m.Attendees
	if att == nil {
		att = []meetings.Attendee{}
	}
	return map[string]any{"_id": m.ID, "name": m.Name, "start_date": m.Start, "end_date": m.End, "attendees": att,
		"record": m.Record, "chat": m.Chat, "chat_dialog_id": nullStr(m.DialogID), "host_id": m.HostID, "public": m.Public,
		"scheduled": m.Scheduled, "notify": m.Notify, "created_at": iso(m.Created), "updated_at": iso(m.Updated)}
}

type meetingJSON struct {
	Name      *string              `json:"name"`
	Start     *flexInt64           `json:"start_date"`
	End       *flexInt64           `json:"end_date"`
	Attendees *[]meetings.Attendee `json:"attendees"`
	Record    *bool                `json:"record"`
	Chat      *bool                `json:"chat"`
	Public    *bool                `json:"public"`
	Scheduled *bool                `json:"scheduled"`
	Notify    *bool                `json:"notify"`
}

func (j *meetingJSON) input() meetings.Input {
	in := meetings.Input{Name: j.Name, Record: j.Record, Chat: j.Chat, Public: j.Public, Scheduled: j.Scheduled, Notify: j.Notify}
	if j.Start != nil {
		v := int64(*j.Start)
		in.Start = &v
	}
	if j.End != nil {
		v := int64(*j.End)
		in.End = &v
	}
	if j.Attendees != nil {
		in.Attendees, in.SetAttendees = *j.Attendees, true
	}
	return in
}

func (a *API) meetingBody(w http.ResponseWriter, r *http.Request) (meetings.Input, bool) {
	var j meetingJSON
	if err := decodeJSON(r, &j); err != nil {
		a.fail(w, r, err)
		return meetings.Input{}, false
	}
	return j.input(), true
}

func (a *API) createMeeting(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	in, ok := a.meetingBody(w, r)
	if !ok {
		return
	}
	m, err := a.meetings.Create(r.Context(), s.AppID, s.UserID, in)
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, meetingOut(m))
}

func (a *API) listMeetings(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var list []meetings.Meeting
	if id := r.URL.Query().Get("_id"); id != "" {
		m, err := a.meetings.Get(r.Context(), s.AppID, s.UserID, id)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		list = append(list, *m)
	} else {
		var err error
		if list, err = a.meetings.List(r.Context(), s.AppID, s.UserID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	out := make([]any, len(list))
	for i := range list {
		out[i] = meetingOut(&list[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) updateMeeting(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	in, ok := a.meetingBody(w, r)
	if !ok {
		return
	}
	m, err := a.meetings.Update(r.Context(), s.AppID, s.UserID, pathValue(r, "id"), in)
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, meetingOut(m))
}

func (a *API) deleteMeeting(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	if err := a.meetings.Delete(r.Context(), s.AppID, s.UserID, pathValue(r, "id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// meetingRecordings answers an empty list: Parley records no meetings yet.
func (a *API) meetingRecordings(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	if _, err := a.meetings.Get(r.Context(), s.AppID, s.UserID, pathValue(r, "id")); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, []any{})
}

func whiteboardOut(wb *meetings.Whiteboard) map[string]any {
	return map[string]any{"_id": wb.ID, "name": wb.Name, "chat_dialog_id": wb.DialogID, "user_id": wb.OwnerID,
		"created_at": iso(wb.Created), "updated_at": iso(wb.Updated)}
}

func (a *API) createWhiteboard(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var j struct {
		Name     string `json:"name"`
		DialogID string `json:"chat_dialog_id"`
	}
	if err := decodeJSON(r, &j); err != nil {
		a.fail(w, r, err)
		return
	}
	wb, err := a.meetings.CreateWhiteboard(r.Context(), s.AppID, s.UserID, j.DialogID, j.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, whiteboardOut(wb))
}

func (a *API) listWhiteboards(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	list, err := a.meetings.Whiteboards(r.Context(), s.AppID, s.UserID, r.URL.Query().Get("chat_dialog_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]any, len(list))
	for i := range list {
		out[i] = whiteboardOut(&list[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) renameWhiteboard(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var j struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &j); err != nil {
		a.fail(w, r, err)
		return
	}
	wb, err := a.meetings.RenameWhiteboard(r.Context(), s.AppID, s.UserID, pathValue(r, "id"), j.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, whiteboardOut(wb))
}

func (a *API) deleteWhiteboard(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	if err := a.meetings.DeleteWhiteboard(r.Context(), s.AppID, s.UserID, pathValue(r, "id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
