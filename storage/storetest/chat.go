package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/push"
)

// ChatStore is everything the chat model needs from one backend.
type ChatStore interface {
	accounts.Store
	dialogs.Store
	dialogs.Users
	history.Store
	history.OfflineStore
	history.MAMStore
	privacy.Store
	push.Store
}

// Chat checks dialogs, history, offline queues, privacy lists and push
// subscriptions on a store.
func Chat(t *testing.T, open func(t *testing.T) ChatStore) {
	ctx := context.Background()
	setup := func(t *testing.T, n int) (ChatStore, int64, []int64) {
		st := open(t)
		acc := accounts.NewService(st)
		acc.Iterations = 1000
		app, _ := acc.CreateApp(ctx, "a", accounts.AppOptions{})
		var ids []int64
		for i := 0; i < n; i++ {
			login, pw := fmt.Sprintf("user%02d", i), "password-x"
			u, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		return st, app.ID, ids
	}
	typ := func(t dialogs.Type) *dialogs.Type { return &t }
	name := func(s string) *string { return &s }

	t.Run("dialogs", func(t *testing.T) {
		st, app, u := setup(t, 4)
		ds := dialogs.NewService(st, st)
		g, err := ds.Create(ctx, app, u[0], dialogs.Input{Type: typ(dialogs.Group), Name: name("Team"), Occupants: []int64{u[1], u[2]}, Extensions: map[string]*string{"color": name("red")}})
		if err != nil {
			t.Fatal(err)
		}
		p1, _ := ds.Create(ctx, app, u[0], dialogs.Input{Type: typ(dialogs.Private), Occupants: []int64{u[1]}})
		p2, _ := ds.Create(ctx, app, u[1], dialogs.Input{Type: typ(dialogs.Private), Occupants: []int64{u[0]}})
		if p1.ID != p2.ID {
			t.Fatal("private dialog not unique")
		}
		if _, err := ds.Create(ctx, app, u[0], dialogs.Input{Type: typ(dialogs.Group), Name: name("x"), Occupants: []int64{99999}}); err == nil {
			t.Fatal("unknown occupant accepted")
		}
		list := func(uid int64, q dialogs.Query) []string {
			views, _, err := ds.List(ctx, app, uid, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, v := range views {
				out = append(out, v.ID)
			}
			return out
		}
		if got := list(u[0], dialogs.Query{SortField: "created_at", SortAsc: true}); fmt.Sprint(got) != fmt.Sprint([]string{g.ID, p1.ID}) {
			t.Fatalf("list %v", got)
		}
		filters := []struct {
			f    dialogs.Filter
			want []string
		}{
			{dialogs.Filter{Field: "type", Op: "in", Values: []string{"2"}}, []string{g.ID}},
			{dialogs.Filter{Field: "name", Op: "ctn", Values: []string{"tea"}}, []string{g.ID}},
			{dialogs.Filter{Field: "extensions.color", Values: []string{"red"}}, []string{g.ID}},
			{dialogs.Filter{Field: "_id", Op: "nin", Values: []string{g.ID}}, []string{p1.ID}},
			{dialogs.Filter{Field: "occupants_ids", Op: "all", Values: []string{fmt.Sprint(u[1]), fmt.Sprint(u[2])}}, []string{g.ID}},
		}
		for _, f := range filters {
			if got := list(u[0], dialogs.Query{Filters: []dialogs.Filter{f.f}}); fmt.Sprint(got) != fmt.Sprint(f.want) {
				t.Fatalf("filter %+v: %v", f.f, got)
			}
		}
		if _, err := ds.Update(ctx, app, u[0], g.ID, dialogs.Input{PushOccupants: []int64{u[3]}, PushAdmins: []int64{u[1]}}); err != nil {
			t.Fatal(err)
		}
		if got := list(u[3], dialogs.Query{}); fmt.Sprint(got) != fmt.Sprint([]string{g.ID}) {
			t.Fatalf("added occupant sees %v", got)
		}
		if _, err := ds.Update(ctx, app, u[2], g.ID, dialogs.Input{Name: name("mine")}); !errors.Is(err, dialogs.ErrForbidden) {
			t.Fatalf("member rename: %v", err)
		}
		rs := dialogs.RoomSettings{Subject: "plans", SubjectBy: u[0], Hidden: true, Password: "pw", History: 5, WhoisModerators: true, Voiceless: []int64{u[2]}}
		if _, err := ds.Update(ctx, app, u[0], g.ID, dialogs.Input{Settings: &rs}); err != nil {
			t.Fatal(err)
		}
		if d, err := ds.Dialog(ctx, app, g.ID); err != nil || fmt.Sprint(d.Settings) != fmt.Sprint(rs) || d.CanPost(u[2]) || !d.CanPost(u[1]) {
			t.Fatalf("room settings stored as %+v (%v)", d, err)
		}
		if err := ds.SetNotifications(ctx, app, u[2], g.ID, false); err != nil {
			t.Fatal(err)
		}
		if m, _ := ds.Muted(ctx, app, g.ID); fmt.Sprint(m) != fmt.Sprint([]int64{u[2]}) {
			t.Fatalf("muted %v", m)
		}
		if r, _ := ds.Delete(ctx, app, u[1], []string{p1.ID}, false); len(r.Deleted) != 1 {
			t.Fatal("private delete for me")
		}
		if got := list(u[1], dialogs.Query{}); fmt.Sprint(got) != fmt.Sprint([]string{g.ID}) {
			t.Fatalf("hidden private dialog still listed: %v", got)
		}
		if r, _ := ds.Delete(ctx, app, u[0], []string{g.ID}, true); len(r.Deleted) != 1 {
			t.Fatal("force delete")
		}
		if _, err := ds.Get(ctx, app, u[0], g.ID); !errors.Is(err, dialogs.ErrNotFound) {
			t.Fatalf("deleted dialog: %v", err)
		}
	})

	t.Run("history", func(t *testing.T) {
		st, app, u := setup(t, 3)
		ds := dialogs.NewService(st, st)
		ar := history.NewArchive(st, ds)
		g, _ := ds.Create(ctx, app, u[0], dialogs.Input{Type: typ(dialogs.Group), Name: name("g"), Occupants: []int64{u[1], u[2]}})
		for i := 1; i <= 5; i++ {
			p, err := ar.Send(ctx, app, u[i%2], history.Post{ID: fmt.Sprintf("m%d", i), DialogID: g.ID, Body: fmt.Sprintf("apple %d", i), Save: true,
				Custom: map[string]any{"k": "v", "nested": map[string]any{"a": "1"}}, Attachments: []map[string]string{{"type": "image", "uid": "x"}}})
			if err != nil || !p.Stored {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		if p, _ := ar.Send(ctx, app, u[1], history.Post{ID: "m1", DialogID: g.ID, Body: "again", Save: true}); !p.Duplicate {
			t.Fatal("retry stored twice")
		}
		page, _, err := ar.List(ctx, app, u[2], g.ID, history.Query{Desc: true, Limit: 2}, false)
		if err != nil || len(page) != 2 || page[0].ID != "m5" || page[0].Custom["k"] != "v" || fmt.Sprint(page[0].Custom["nested"]) != "map[a:1]" {
			t.Fatalf("page %+v %v", page, err)
		}
		unread := func(uid int64) int64 {
			c, _, _ := ar.Unread(ctx, app, uid, nil)
			return c[g.ID]
		}
		if unread(u[2]) != 5 || unread(u[0]) != 1 { // u0 sent m4, so has read up to it
			t.Fatalf("unread %d %d", unread(u[2]), unread(u[0]))
		}
		if _, _, err := ar.Receipt(ctx, app, u[2], g.ID, history.Read, []string{"m3"}); err != nil {
			t.Fatal(err)
		}
		if unread(u[2]) != 2 {
			t.Fatalf("after reading m3: %d", unread(u[2]))
		}
		m3, _ := st.Message(ctx, app, g.ID, "m3")
		if fmt.Sprint(m3.ReadIDs) != fmt.Sprint([]int64{u[2]}) {
			t.Fatalf("read_ids %v", m3.ReadIDs)
		}
		if _, _, err := ar.Edit(ctx, app, u[0], g.ID, "m5", "edited"); !errors.Is(err, history.ErrForbidden) {
			t.Fatalf("foreign edit: %v", err)
		}
		if _, _, err := ar.Edit(ctx, app, u[1], g.ID, "m5", "edited"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ar.React(ctx, app, u[2], "m5", "👍", ""); err != nil {
			t.Fatal(err)
		}
		if r, _ := ar.Reactions(ctx, app, u[0], "m5"); fmt.Sprint(r) != fmt.Sprintf("map[👍:[%d]]", u[2]) {
			t.Fatalf("reactions %v", r)
		}
		found, _ := ar.Search(ctx, app, u[2], history.SearchQuery{Text: "APPLE", Limit: 10})
		if len(found) != 4 {
			t.Fatalf("search found %d", len(found))
		}
		if ok, _, _, err := ar.Delete(ctx, app, u[1], g.ID, []string{"m5"}, true); err != nil || len(ok) != 1 {
			t.Fatalf("delete: %v", err)
		}
		v, _ := ds.Get(ctx, app, u[2], g.ID)
		if v.LastMessageID != "m4" {
			t.Fatalf("last message after delete %q", v.LastMessageID)
		}
		ar.Delete(ctx, app, u[2], g.ID, []string{"m1"}, false)
		if page, _, _ := ar.List(ctx, app, u[2], g.ID, history.Query{Limit: 10}, false); len(page) != 3 || page[0].ID != "m2" {
			t.Fatalf("after hiding m1: %+v", page)
		}
		if found, err := ar.Search(ctx, app, u[2], history.SearchQuery{Text: "apple", Limit: 10}); err != nil || len(found) != 3 {
			t.Fatalf("search after hiding m1: %d hits, %v", len(found), err)
		}
		ar.ClearHistory(ctx, app, u[2], g.ID)
		if page, _, _ := ar.List(ctx, app, u[2], g.ID, history.Query{Limit: 10}, false); len(page) != 0 || unread(u[2]) != 0 {
			t.Fatalf("after clearing: %d messages, %d unread", len(page), unread(u[2]))
		}
		// Cleared history stays out of search too (both the trigram and the
		// short-text path); a message after the clear is found, and the
		// other members still find everything.
		ar.Send(ctx, app, u[1], history.Post{ID: "m6", DialogID: g.ID, Body: "apple 6", Save: true})
		for _, text := range []string{"apple", "ap"} {
			found, err := ar.Search(ctx, app, u[2], history.SearchQuery{Text: text, Limit: 10})
			if err != nil || len(found) != 1 || found[0].ID != "m6" {
				t.Fatalf("search %q after clearing: %+v, %v", text, found, err)
			}
		}
		if found, _ := ar.Search(ctx, app, u[1], history.SearchQuery{Text: "apple", Limit: 10}); len(found) != 5 {
			t.Fatalf("another member's search after the clear: %d hits", len(found))
		}
	})

	t.Run("archive queries", func(t *testing.T) { archiveQueries(t, setup) })
	t.Run("archive prefs", func(t *testing.T) { archivePrefs(t, setup) })

	t.Run("rooms created by name", func(t *testing.T) {
		st, app, u := setup(t, 2)
		ds := dialogs.NewService(st, st)
		r, err := ds.CreateRoom(ctx, app, u[0], "team")
		if err != nil || r.Room != "team" || r.OwnerID != u[0] || r.Type != dialogs.Group {
			t.Fatalf("create: %+v %v", r, err)
		}
		got, err := ds.ByRoom(ctx, app, "team")
		if err != nil || got.ID != r.ID || got.Room != "team" {
			t.Fatalf("by room: %+v %v", got, err)
		}
		// The name is taken: a second creation gets the first room.
		again, err := ds.CreateRoom(ctx, app, u[1], "team")
		if err != nil || again.ID != r.ID {
			t.Fatalf("second creation: %+v %v", again, err)
		}
		if _, err := ds.ByRoom(ctx, app, "other"); !errors.Is(err, dialogs.ErrNotFound) {
			t.Fatalf("unknown room: %v", err)
		}
		if _, err := ds.CreateRoom(ctx, app, u[0], "1_abc"); err == nil {
			t.Fatal("a name shaped like a dialog address was accepted")
		}
	})

	t.Run("offline", func(t *testing.T) {
		st, app, u := setup(t, 1)
		for i := 1; i <= 5; i++ {
			if _, err := st.PushOffline(ctx, app, u[0], history.Offline{Stanza: []byte(fmt.Sprintf("<m%d/>", i)), At: time.Now()}, 3); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.PopOffline(ctx, app, u[0], 10)
		if err != nil || len(got) != 3 || string(got[0].Stanza) != "<m3/>" {
			t.Fatalf("popped %+v %v", got, err)
		}
		if n, _ := st.OfflineCount(ctx, app, u[0]); n != 0 {
			t.Fatalf("left %d", n)
		}
		// Copies tagged for a hibernated session go when it resumes; the
		// others stay.
		for i, tag := range []string{"sm1", "", "sm1", "sm2"} {
			if _, err := st.PushOffline(ctx, app, u[0], history.Offline{Stanza: []byte(fmt.Sprintf("<t%d/>", i)), At: time.Now(), Tag: tag}, 10); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := st.DropOffline(ctx, app, u[0], "sm1"); n != 2 || err != nil {
			t.Fatalf("dropped %d %v", n, err)
		}
		got, err = st.PopOffline(ctx, app, u[0], 10)
		if err != nil || len(got) != 2 || string(got[0].Stanza) != "<t1/>" || string(got[1].Stanza) != "<t3/>" {
			t.Fatalf("after drop: %+v %v", got, err)
		}
	})

	t.Run("privacy", func(t *testing.T) {
		st, app, u := setup(t, 3)
		ps := privacy.NewService(st, "localhost", "muc.localhost")
		l := &privacy.List{Name: "l1", Items: []privacy.Item{
			{Type: "jid", Value: fmt.Sprintf("%d-%d@localhost", u[1], app), Action: "deny", Order: 1, Kinds: []privacy.Kind{privacy.Message}},
			{Type: "jid", Value: fmt.Sprintf("%d-%d@localhost", u[2], app), Action: "deny", Order: 2}}}
		if err := ps.Set(ctx, app, u[0], l); err != nil {
			t.Fatal(err)
		}
		if err := ps.SetDefault(ctx, app, u[0], "l1"); err != nil {
			t.Fatal(err)
		}
		names, def, _ := ps.Names(ctx, app, u[0])
		if fmt.Sprint(names) != "[l1]" || def != "l1" {
			t.Fatalf("names %v %q", names, def)
		}
		if !ps.Between(ctx, app, u[1], u[0], "", "", false) || ps.Between(ctx, app, u[0], u[1], "", "", false) {
			t.Fatal("one-way block")
		}
		if !ps.Between(ctx, app, u[0], u[2], "", "", false) {
			t.Fatal("mutual block")
		}
		got, _ := ps.Get(ctx, app, u[0], "l1")
		if len(got.Items) != 2 || len(got.Items[0].Kinds) != 1 || len(got.Items[1].Kinds) != 0 {
			t.Fatalf("items %+v", got.Items)
		}
		if err := ps.Delete(ctx, app, u[0], "l1"); err != nil {
			t.Fatal(err)
		}
		if _, def, _ := ps.Names(ctx, app, u[0]); def != "" {
			t.Fatal("default survives its list")
		}
	})

	t.Run("push subscriptions", func(t *testing.T) {
		st, app, u := setup(t, 2)
		ps := push.NewService(st, nil)
		a := &push.Subscription{AppID: app, UserID: u[0], Channel: "apns", Platform: "ios", DeviceUDID: "d1", Token: "t1"}
		if err := ps.Subscribe(ctx, a); err != nil {
			t.Fatal(err)
		}
		again := &push.Subscription{AppID: app, UserID: u[0], Channel: "apns", Platform: "ios", DeviceUDID: "d1", Token: "t2"}
		ps.Subscribe(ctx, again)
		ps.Subscribe(ctx, &push.Subscription{AppID: app, UserID: u[1], Channel: "fcm", Platform: "android", DeviceUDID: "d2", Token: "t3"})
		subs, _ := st.Subscriptions(ctx, app, []int64{u[0], u[1]})
		if len(subs) != 2 || subs[0].Token != "t2" || again.ID != a.ID {
			t.Fatalf("subscriptions %+v", subs)
		}
		if err := ps.Unsubscribe(ctx, app, u[1], a.ID); !errors.Is(err, push.ErrNotFound) {
			t.Fatalf("someone else's subscription: %v", err)
		}
		if err := ps.Unsubscribe(ctx, app, u[0], a.ID); err != nil {
			t.Fatal(err)
		}
	})
}
