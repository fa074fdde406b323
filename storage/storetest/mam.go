package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/quota"
)

type setupFunc func(t *testing.T, n int) (ChatStore, int64, []int64)

// archiveQueries checks XEP-0313 queries on the archive: a dialog's, and a
// user's 1-1 archive across private dialogs, paged both ways.
func archiveQueries(t *testing.T, setup setupFunc) {
	ctx := context.Background()
	st, app, u := setup(t, 4)
	ds := dialogs.NewService(st, st)
	ar := history.NewArchive(st, ds)
	mam := history.NewMAM(st, ds)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	at := t0
	ar.SetClock(func() time.Time { return at })
	typ := dialogs.Group
	name := "room"
	g, err := ds.Create(ctx, app, u[0], dialogs.Input{Type: &typ, Name: &name, Occupants: []int64{u[1], u[2]}})
	if err != nil {
		t.Fatal(err)
	}
	// send stores a message dated minutes after t0; the dates of b3 and a3
	// run against their insertion order (by less than history.ClockSlack).
	send := func(id string, from, to int64, dialogID string, minutes int) {
		t.Helper()
		at = t0.Add(time.Duration(minutes) * time.Minute)
		if p, err := ar.Send(ctx, app, from, history.Post{ID: id, DialogID: dialogID, RecipientID: to, Body: "text " + id, Save: true}); err != nil || !p.Stored {
			t.Fatalf("send %s: %v", id, err)
		}
	}
	send("a1", u[0], u[1], "", 0)
	send("b1", u[2], u[0], "", 10)
	send("x1", u[1], u[2], "", 20) // not u0's
	send("g1", u[1], 0, g.ID, 30)
	send("a2", u[1], u[0], "", 40)
	send("b2", u[0], u[2], "", 50)
	send("a3", u[0], u[1], "", 60)
	send("b3", u[2], u[0], "", 58)
	send("a4", u[1], u[0], "", 70)
	send("g2", u[0], 0, g.ID, 80)
	send("b4", u[2], u[0], "", 90)

	ids := func(p *history.ArchivePage) string {
		var out []string
		for _, m := range p.Messages {
			out = append(out, m.ID)
		}
		return strings.Join(out, ",")
	}
	// want's first and last are those of ids.
	type want struct {
		ids      string
		complete bool
		count    int
	}
	check := func(t *testing.T, q history.ArchiveQuery, w want) {
		t.Helper()
		q.AppID = app
		if q.Viewer == 0 {
			q.Viewer = u[0]
		}
		p, err := mam.Query(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		if got := ids(p); got != w.ids || p.Complete != w.complete || p.Count != w.count {
			t.Fatalf("%+v: got [%s] complete=%v count=%d, want [%s] complete=%v count=%d", q, got, p.Complete, p.Count, w.ids, w.complete, w.count)
		}
		if w.ids != "" {
			all := strings.Split(w.ids, ",")
			first, last := all[0], all[len(all)-1]
			if p.FirstID != first || p.LastID != last {
				t.Fatalf("%+v: first %q last %q", q, p.FirstID, p.LastID)
			}
		} else if p.FirstID != "" || p.LastID != "" {
			t.Fatalf("%+v: empty page with first %q last %q", q, p.FirstID, p.LastID)
		}
	}
	with := func(uid int64) int64 { return uid }

	t.Run("1-1 archive forward", func(t *testing.T) {
		check(t, history.ArchiveQuery{Max: 3}, want{ids: "a1,b1,a2", count: -1})
		check(t, history.ArchiveQuery{Max: 3, AfterID: "a2"}, want{ids: "b2,a3,b3", count: -1})
		check(t, history.ArchiveQuery{Max: 3, AfterID: "b3"}, want{ids: "a4,b4", complete: true, count: -1})
		check(t, history.ArchiveQuery{Max: 3, AfterID: "b4"}, want{ids: "", complete: true, count: -1})
		check(t, history.ArchiveQuery{}, want{ids: "a1,b1,a2,b2,a3,b3,a4,b4", complete: true, count: 8})
	})
	t.Run("1-1 archive backward", func(t *testing.T) {
		check(t, history.ArchiveQuery{Max: 3, Before: true}, want{ids: "b3,a4,b4", count: -1})
		check(t, history.ArchiveQuery{Max: 3, BeforeID: "b3"}, want{ids: "a2,b2,a3", count: -1})
		check(t, history.ArchiveQuery{Max: 3, BeforeID: "a2"}, want{ids: "a1,b1", complete: true, count: -1})
		check(t, history.ArchiveQuery{Max: 3, BeforeID: "a1"}, want{ids: "", complete: true, count: -1})
		check(t, history.ArchiveQuery{Max: 8, Before: true}, want{ids: "a1,b1,a2,b2,a3,b3,a4,b4", complete: true, count: 8})
		check(t, history.ArchiveQuery{AfterID: "a1", BeforeID: "a3"}, want{ids: "b1,a2,b2", complete: true, count: -1})
	})
	t.Run("with a peer", func(t *testing.T) {
		check(t, history.ArchiveQuery{With: with(u[2])}, want{ids: "b1,b2,b3,b4", complete: true, count: 4})
		check(t, history.ArchiveQuery{With: with(u[2]), Max: 2, Before: true}, want{ids: "b3,b4", count: -1})
		check(t, history.ArchiveQuery{With: with(u[2]), Max: 2, AfterID: "b1"}, want{ids: "b2,b3", count: -1})
		check(t, history.ArchiveQuery{With: with(u[3])}, want{ids: "", complete: true, count: 0})
		check(t, history.ArchiveQuery{Viewer: u[1], With: with(u[2])}, want{ids: "x1", complete: true, count: 1})
	})
	t.Run("dates", func(t *testing.T) {
		check(t, history.ArchiveQuery{Start: t0.Add(55 * time.Minute)}, want{ids: "a3,b3,a4,b4", complete: true, count: 4})
		check(t, history.ArchiveQuery{End: t0.Add(58 * time.Minute)}, want{ids: "a1,b1,a2,b2,b3", complete: true, count: 5})
		check(t, history.ArchiveQuery{Start: t0.Add(10 * time.Minute), End: t0.Add(50 * time.Minute)}, want{ids: "b1,a2,b2", complete: true, count: 3})
		check(t, history.ArchiveQuery{Start: t0.Add(10 * time.Minute), End: t0.Add(50 * time.Minute), Max: 1, Before: true}, want{ids: "b2", count: -1})
		check(t, history.ArchiveQuery{Start: t0.Add(time.Hour), End: t0}, want{ids: "", complete: true, count: 0})
		check(t, history.ArchiveQuery{DialogID: g.ID, Start: t0.Add(31 * time.Minute)}, want{ids: "g2", complete: true, count: 1})
		check(t, history.ArchiveQuery{DialogID: g.ID, End: t0.Add(31 * time.Minute)}, want{ids: "g1", complete: true, count: 1})
		check(t, history.ArchiveQuery{With: with(u[2]), Start: t0.Add(55 * time.Minute), End: t0.Add(89 * time.Minute)}, want{ids: "b3", complete: true, count: 1})
	})
	t.Run("ids", func(t *testing.T) {
		check(t, history.ArchiveQuery{IDs: []string{"b3", "a1", "x1", "g1", "nope", "bad id!"}}, want{ids: "a1,b3", complete: true, count: 2})
		check(t, history.ArchiveQuery{IDs: []string{"b3", "a1", "b4"}, Max: 2, Before: true}, want{ids: "b3,b4", count: -1})
		check(t, history.ArchiveQuery{DialogID: g.ID, IDs: []string{"g2", "a1"}}, want{ids: "g2", complete: true, count: 1})
		check(t, history.ArchiveQuery{IDs: []string{}}, want{ids: "", complete: true, count: 0})
		mam.SetLimits(history.MAMLimits{MaxPage: 100, MaxIDs: 2, MaxPrefsJIDs: 10})
		defer mam.SetLimits(history.DefaultMAMLimits())
		_, err := mam.Query(ctx, history.ArchiveQuery{AppID: app, Viewer: u[0], IDs: []string{"a1", "a2", "a3"}})
		var qe *quota.Error
		if !errors.As(err, &qe) || !errors.Is(err, history.ErrInvalid) || qe.Setting != "mam-max-ids" {
			t.Fatalf("3 ids over a cap of 2: %v", err)
		}
	})
	t.Run("room", func(t *testing.T) {
		check(t, history.ArchiveQuery{DialogID: g.ID, Max: 1}, want{ids: "g1", count: -1})
		check(t, history.ArchiveQuery{DialogID: g.ID, Max: 1, AfterID: "g1"}, want{ids: "g2", complete: true, count: -1})
		check(t, history.ArchiveQuery{DialogID: g.ID, Max: 1, Before: true}, want{ids: "g2", count: -1})
		check(t, history.ArchiveQuery{DialogID: g.ID, Max: 1, BeforeID: "g2"}, want{ids: "g1", complete: true, count: -1})
		check(t, history.ArchiveQuery{Viewer: u[2], DialogID: g.ID}, want{ids: "g1,g2", complete: true, count: 2})
	})
	t.Run("page size", func(t *testing.T) {
		mam.SetLimits(history.MAMLimits{MaxPage: 2})
		defer mam.SetLimits(history.DefaultMAMLimits())
		check(t, history.ArchiveQuery{Max: 50}, want{ids: "a1,b1", count: -1})
		check(t, history.ArchiveQuery{}, want{ids: "a1,b1", count: -1})
	})
	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct {
			name string
			q    history.ArchiveQuery
			want error
		}{
			{"another pair's message", history.ArchiveQuery{AfterID: "x1"}, history.ErrNotFound},
			{"a room message in the 1-1 archive", history.ArchiveQuery{BeforeID: "g1"}, history.ErrNotFound},
			{"a 1-1 message in a room", history.ArchiveQuery{DialogID: g.ID, AfterID: "a1"}, history.ErrNotFound},
			{"another dialog's message with a peer", history.ArchiveQuery{With: u[2], AfterID: "a1"}, history.ErrNotFound},
			{"an unknown id", history.ArchiveQuery{AfterID: "nope"}, history.ErrNotFound},
			{"a malformed id", history.ArchiveQuery{BeforeID: "bad id!"}, history.ErrNotFound},
			{"an unknown id in an empty range", history.ArchiveQuery{IDs: []string{}, AfterID: "nope"}, history.ErrNotFound},
			{"no dialog with that peer", history.ArchiveQuery{With: u[3], AfterID: "a1"}, history.ErrNotFound},
			{"a room the viewer is not in", history.ArchiveQuery{Viewer: u[3], DialogID: g.ID}, history.ErrNotFound},
			{"an unknown room", history.ArchiveQuery{DialogID: "nosuchdialog"}, history.ErrNotFound},
			{"a room and a peer", history.ArchiveQuery{DialogID: g.ID, With: u[1]}, history.ErrInvalid},
		} {
			q := c.q
			q.AppID = app
			if q.Viewer == 0 {
				q.Viewer = u[0]
			}
			if _, err := mam.Query(ctx, q); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
	})
	t.Run("hidden messages", func(t *testing.T) {
		if ok, _, _, err := ar.Delete(ctx, app, u[0], "", []string{"a2"}, false); err != nil || len(ok) != 1 {
			t.Fatalf("delete a2 for u0: %v", err)
		}
		if ok, _, _, err := ar.Delete(ctx, app, u[0], g.ID, []string{"g1"}, false); err != nil || len(ok) != 1 {
			t.Fatalf("delete g1 for u0: %v", err)
		}
		b, err := ds.Private(ctx, app, u[0], u[2])
		if err != nil {
			t.Fatal(err)
		}
		if err := ar.ClearHistory(ctx, app, u[0], b.ID); err != nil {
			t.Fatal(err)
		}
		send("b5", u[2], u[0], "", 100)
		check(t, history.ArchiveQuery{}, want{ids: "a1,a3,a4,b5", complete: true, count: 4})
		check(t, history.ArchiveQuery{Max: 2, Before: true}, want{ids: "a4,b5", count: -1})
		check(t, history.ArchiveQuery{Max: 2, BeforeID: "a4"}, want{ids: "a1,a3", complete: true, count: -1})
		// A hidden message still bounds a page: another device may hold its id.
		check(t, history.ArchiveQuery{AfterID: "a2"}, want{ids: "a3,a4,b5", complete: true, count: -1})
		check(t, history.ArchiveQuery{With: u[2], AfterID: "b2"}, want{ids: "b5", complete: true, count: -1})
		check(t, history.ArchiveQuery{IDs: []string{"a2", "b1", "a3"}}, want{ids: "a3", complete: true, count: 1})
		check(t, history.ArchiveQuery{DialogID: g.ID}, want{ids: "g2", complete: true, count: 1})
		// The other parties still see everything.
		check(t, history.ArchiveQuery{Viewer: u[2], With: u[0]}, want{ids: "b1,b2,b3,b4,b5", complete: true, count: 5})
		check(t, history.ArchiveQuery{Viewer: u[1], DialogID: g.ID}, want{ids: "g1,g2", complete: true, count: 2})
		check(t, history.ArchiveQuery{Viewer: u[1], With: u[0]}, want{ids: "a1,a2,a3,a4", complete: true, count: 4})
	})
	t.Run("deleted messages", func(t *testing.T) {
		if ok, _, _, err := ar.Delete(ctx, app, u[1], "", []string{"a4"}, true); err != nil || len(ok) != 1 {
			t.Fatalf("delete a4: %v", err)
		}
		check(t, history.ArchiveQuery{}, want{ids: "a1,a3,b5", complete: true, count: 3})
		if _, err := mam.Query(ctx, history.ArchiveQuery{AppID: app, Viewer: u[0], AfterID: "a4"}); !errors.Is(err, history.ErrNotFound) {
			t.Fatalf("after a deleted message: %v", err)
		}
	})
}

// archivePrefs checks XEP-0313 archiving preferences.
func archivePrefs(t *testing.T, setup setupFunc) {
	ctx := context.Background()
	st, app, u := setup(t, 2)
	mam := history.NewMAM(st, dialogs.NewService(st, st))
	p, err := mam.Prefs(ctx, app, u[0])
	if err != nil || p.Default != history.PrefsAlways || len(p.Always)+len(p.Never) != 0 {
		t.Fatalf("prefs never set: %+v %v", p, err)
	}
	jid := func(i int) string { return fmt.Sprintf("%d-%d@localhost", i, app) }
	set, err := mam.SetPrefs(ctx, app, u[0], history.ArchivePrefs{Default: history.PrefsRoster,
		Always: []string{jid(1), jid(2), jid(1)}, Never: []string{jid(3)}})
	if err != nil || fmt.Sprint(set.Always) != fmt.Sprint([]string{jid(1), jid(2)}) {
		t.Fatalf("set: %+v %v", set, err)
	}
	p, err = mam.Prefs(ctx, app, u[0])
	if err != nil || p.Default != history.PrefsRoster || fmt.Sprint(p.Always) != fmt.Sprint([]string{jid(1), jid(2)}) || fmt.Sprint(p.Never) != fmt.Sprint([]string{jid(3)}) {
		t.Fatalf("read back: %+v %v", p, err)
	}
	if p, _ := mam.Prefs(ctx, app, u[1]); p.Default != history.PrefsAlways {
		t.Fatalf("another user's prefs: %+v", p)
	}
	if _, err := mam.SetPrefs(ctx, app, u[0], history.ArchivePrefs{Default: history.PrefsNever}); err != nil {
		t.Fatal(err)
	}
	if p, _ := mam.Prefs(ctx, app, u[0]); p.Default != history.PrefsNever || len(p.Always)+len(p.Never) != 0 {
		t.Fatalf("replaced: %+v", p)
	}
	mam.SetLimits(history.MAMLimits{MaxPrefsJIDs: 2})
	var qe *quota.Error
	for _, in := range []history.ArchivePrefs{
		{Default: history.PrefsAlways, Always: []string{jid(1), jid(2), jid(3)}},
		{Default: history.PrefsAlways, Never: []string{jid(1), jid(2), jid(3)}},
	} {
		if _, err := mam.SetPrefs(ctx, app, u[0], in); !errors.As(err, &qe) || qe.Setting != "mam-prefs-jids" || !errors.Is(err, history.ErrInvalid) {
			t.Fatalf("3 JIDs over a cap of 2: %v", err)
		}
	}
	// Duplicates do not count.
	if _, err := mam.SetPrefs(ctx, app, u[0], history.ArchivePrefs{Default: history.PrefsAlways, Always: []string{jid(1), jid(2), jid(2)}}); err != nil {
		t.Fatalf("2 JIDs and a duplicate: %v", err)
	}
	for _, in := range []history.ArchivePrefs{
		{Default: "sometimes"},
		{Default: ""},
		{Default: history.PrefsAlways, Always: []string{""}},
		{Default: history.PrefsAlways, Never: []string{"a\nb@localhost"}},
		{Default: history.PrefsAlways, Never: []string{strings.Repeat("a", history.MaxPrefsJID+1)}},
	} {
		if _, err := mam.SetPrefs(ctx, app, u[0], in); !errors.Is(err, history.ErrInvalid) {
			t.Fatalf("%+v: %v", in, err)
		}
	}
	if p, _ := mam.Prefs(ctx, app, u[0]); p.Default != history.PrefsAlways || fmt.Sprint(p.Always) != fmt.Sprint([]string{jid(1), jid(2)}) {
		t.Fatalf("a refused set changed the prefs: %+v", p)
	}
}
