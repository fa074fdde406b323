package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/meetings"
)

// MeetingsStore is what meetings need from one backend.
type MeetingsStore interface {
	accounts.Store
	dialogs.Store
	dialogs.Users
	meetings.Store
}

// Meetings checks meetings (host-only edits, attendees' visibility, a chat
// whose occupants follow the attendees) and whiteboards of dialogs.
func Meetings(t *testing.T, open func(t *testing.T) MeetingsStore) {
	ctx := context.Background()
	st := open(t)
	acc := accounts.NewService(st)
	acc.Iterations = 1000
	app, _ := acc.CreateApp(ctx, "m", accounts.AppOptions{})
	var u []int64
	for i := range 4 {
		login, pw := fmt.Sprintf("user%02d", i), "password-x"
		user, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
		if err != nil {
			t.Fatal(err)
		}
		u = append(u, user.ID)
	}
	ds := dialogs.NewService(st, st)
	svc := meetings.NewService(st, ds)
	yes, name := true, "Standup"
	m, err := svc.Create(ctx, app.ID, u[0], meetings.Input{Name: &name, Chat: &yes, SetAttendees: true,
		Attendees: []meetings.Attendee{{ID: u[1]}, {Email: "guest@example.com"}}})
	if err != nil || m.DialogID == "" {
		t.Fatalf("create with a chat: %+v %v", m, err)
	}
	d, err := ds.Dialog(ctx, app.ID, m.DialogID)
	if err != nil || d.Type != dialogs.Meeting || !d.HasOccupant(u[1]) || d.HasOccupant(u[2]) {
		t.Fatalf("the meeting's dialog: %+v %v", d, err)
	}
	if _, err := svc.Get(ctx, app.ID, u[2], m.ID); !errors.Is(err, meetings.ErrNotFound) {
		t.Fatalf("a stranger sees the meeting: %v", err)
	}
	if list, _ := svc.List(ctx, app.ID, u[1]); len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("the attendee's meetings: %v", list)
	}
	if _, err := svc.Update(ctx, app.ID, u[1], m.ID, meetings.Input{Name: &name}); !errors.Is(err, meetings.ErrForbidden) {
		t.Fatalf("an attendee edits: %v", err)
	}
	if _, err := svc.Update(ctx, app.ID, u[0], m.ID, meetings.Input{SetAttendees: true, Attendees: []meetings.Attendee{{ID: u[2]}}}); err != nil {
		t.Fatal(err)
	}
	d, _ = ds.Dialog(ctx, app.ID, m.DialogID)
	if !d.HasOccupant(u[2]) || d.HasOccupant(u[1]) {
		t.Fatalf("the chat's occupants after the attendees changed: %v", d.Occupants)
	}
	if list, _ := svc.List(ctx, app.ID, u[1]); len(list) != 0 {
		t.Fatalf("a removed attendee's meetings: %v", list)
	}
	wb, err := svc.CreateWhiteboard(ctx, app.ID, u[2], m.DialogID, "Plan")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateWhiteboard(ctx, app.ID, u[3], m.DialogID, "Mine"); err == nil {
		t.Fatal("a whiteboard on a dialog one is not in")
	}
	if list, err := svc.Whiteboards(ctx, app.ID, u[0], m.DialogID); err != nil || len(list) != 1 || list[0].ID != wb.ID {
		t.Fatalf("the dialog's whiteboards: %v %v", list, err)
	}
	if _, err := svc.Whiteboards(ctx, app.ID, u[3], m.DialogID); !errors.Is(err, meetings.ErrNotFound) {
		t.Fatalf("an outsider lists whiteboards: %v", err)
	}
	if err := svc.DeleteWhiteboard(ctx, app.ID, u[0], wb.ID); !errors.Is(err, meetings.ErrForbidden) {
		t.Fatalf("someone else deletes a whiteboard: %v", err)
	}
	if w, err := svc.RenameWhiteboard(ctx, app.ID, u[2], wb.ID, "Plan B"); err != nil || w.Name != "Plan B" {
		t.Fatalf("rename: %v", err)
	}
	if err := svc.Delete(ctx, app.ID, u[0], m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Dialog(ctx, app.ID, m.DialogID); !errors.Is(err, dialogs.ErrNotFound) {
		t.Fatalf("the deleted meeting's dialog: %v", err)
	}
	if list, _ := svc.List(ctx, app.ID, u[0]); slices.ContainsFunc(list, func(x meetings.Meeting) bool { return x.ID == m.ID }) {
		t.Fatal("a deleted meeting is listed")
	}
}
