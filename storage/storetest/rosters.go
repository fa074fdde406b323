package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/quota"
	"github.com/parley-chat/parley/rosters"
)

// RosterStore is what the rosters service needs from one backend, with
// accounts to create the users.
type RosterStore interface {
	accounts.Store
	rosters.Store
	rosters.Users
}

// Rosters checks rosters and presence subscriptions on a store, through
// rosters.Service.
func Rosters(t *testing.T, open func(t *testing.T) RosterStore) {
	ctx := context.Background()
	setup := func(t *testing.T, n int) (RosterStore, *rosters.Service, []rosters.Owner) {
		st := open(t)
		acc := accounts.NewService(st)
		acc.Iterations = 1000
		acc.SetLimits(accounts.Limits{})
		app, err := acc.CreateApp(ctx, "a", accounts.AppOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var users []rosters.Owner
		for i := range n {
			login, pw := fmt.Sprintf("user%02d", i), "password-x"
			u, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, rosters.Owner{AppID: app.ID, UserID: u.ID})
		}
		return st, rosters.NewService(st, st, "LocalHost"), users
	}
	// name words users as u0, u1, ... in results.
	name := func(svc *rosters.Service, users []rosters.Owner) func(string) string {
		return func(jid string) string {
			for i, u := range users {
				if svc.JID(u) == jid {
					return "u" + strconv.Itoa(i)
				}
			}
			return jid
		}
	}
	// words describes a result: its pushes, then its stanzas, each in
	// order, without versions.
	words := func(svc *rosters.Service, users []rosters.Owner, r *rosters.Result) string {
		n := name(svc, users)
		var out []string
		for _, p := range r.Pushes {
			owner := n(svc.JID(p.Owner))
			if p.Removed {
				out = append(out, "push "+owner+": remove "+n(p.Item.JID))
				continue
			}
			out = append(out, "push "+owner+": "+n(p.Item.JID)+" "+itemState(p.Item))
		}
		for _, s := range r.Stanzas {
			w := string(s.Type) + " " + n(s.From) + ">" + n(s.To)
			if s.Status != "" {
				w += " " + strconv.Quote(s.Status)
			}
			out = append(out, w)
		}
		return strings.Join(out, "; ")
	}
	// roster words a user's roster: the items listed, and the requests
	// pending.
	roster := func(t *testing.T, svc *rosters.Service, users []rosters.Owner, o rosters.Owner) string {
		t.Helper()
		n := name(svc, users)
		r, err := svc.Get(ctx, o, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range r.Items {
			out = append(out, n(it.JID)+" "+itemState(it))
		}
		pend, err := svc.Pending(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pend {
			out = append(out, "pending "+n(p.From)+" "+strconv.Quote(p.Status))
		}
		return strings.Join(out, "; ")
	}
	check := func(t *testing.T, what, got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
		}
	}
	// must(t)(call) is the call's result, or the test fails.
	must := func(t *testing.T) func(r *rosters.Result, err error) *rosters.Result {
		return func(r *rosters.Result, err error) *rosters.Result {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	}

	t.Run("items", func(t *testing.T) {
		st, svc, u := setup(t, 3)
		r := must(t)(svc.Set(ctx, u[0], "Romeo@Example.NET/orchard", "Romeo", []string{"Friends", "Verona"}))
		check(t, "set", words(svc, u, r), "push u0: romeo@example.net none")
		if p := r.Pushes[0]; p.Item.Name != "Romeo" || fmt.Sprint(p.Item.Groups) != "[Friends Verona]" || p.Ver == "" {
			t.Fatalf("push %+v", p)
		}
		// A local user in a non-canonical spelling is one contact.
		local := fmt.Sprintf("0%d-%d@localhost", u[1].UserID, u[1].AppID)
		must(t)(svc.Set(ctx, u[0], local, "", nil))
		must(t)(svc.Set(ctx, u[0], svc.JID(u[1]), "Benvolio", []string{"Friends"}))
		got, err := svc.Get(ctx, u[0], "")
		if err != nil || len(got.Items) != 2 || got.Items[0].JID != svc.JID(u[1]) || got.Items[0].Name != "Benvolio" || got.Items[1].JID != "romeo@example.net" {
			t.Fatalf("roster %+v %v", got, err)
		}
		if got.Items[1].Name != "Romeo" || fmt.Sprint(got.Items[1].Groups) != "[Friends Verona]" {
			t.Fatalf("item %+v", got.Items[1])
		}
		// Setting again keeps the subscription and replaces name and groups.
		must(t)(svc.Outbound(ctx, u[0], svc.JID(u[1]), rosters.Subscribe, ""))
		r = must(t)(svc.Set(ctx, u[0], svc.JID(u[1]), "Ben", nil))
		check(t, "rename", words(svc, u, r), "push u0: u1 none+ask")
		if g := r.Pushes[0].Item.Groups; len(g) != 0 {
			t.Fatalf("groups %v", g)
		}
		for _, c := range []struct {
			jid  string
			want error
		}{
			{svc.JID(u[0]), rosters.ErrInvalid}, // oneself
			{"@nowhere", rosters.ErrInvalid},
			{"a b@example.net", rosters.ErrInvalid},
			{"99999-" + strconv.FormatInt(u[0].AppID, 10) + "@localhost", rosters.ErrNoUser}, // no such user
			{strconv.FormatInt(u[1].UserID, 10) + "-99@localhost", rosters.ErrNoUser},        // another app
			{"admin@localhost", rosters.ErrNoUser},                                           // not a user JID
			{"localhost", rosters.ErrNoUser},                                                 // the server
			{strconv.FormatInt(u[1].UserID, 10) + "-99@localhost/phone", rosters.ErrNoUser},  // with a resource
			{"x@" + strings.Repeat("d", 3100), rosters.ErrInvalid},                           // too long
		} {
			if _, err := svc.Set(ctx, u[0], c.jid, "", nil); !errors.Is(err, c.want) {
				t.Errorf("set %.40s: %v, want %v", c.jid, err, c.want)
			}
		}
		r = must(t)(svc.Remove(ctx, u[0], "ROMEO@example.net"))
		check(t, "remove", words(svc, u, r), "push u0: remove romeo@example.net")
		if _, err := svc.Remove(ctx, u[0], "romeo@example.net"); !errors.Is(err, rosters.ErrNotFound) {
			t.Fatalf("remove again: %v", err)
		}
		check(t, "roster", roster(t, svc, u, u[0]), "u1 none+ask")
		check(t, "the contact's side", roster(t, svc, u, u[1]), `pending u0 ""`)
		// Removing u1 withdraws the request (RFC 6121 §2.5.2).
		r = must(t)(svc.Remove(ctx, u[0], svc.JID(u[1])))
		check(t, "remove a contact asked", words(svc, u, r), "push u0: remove u1; unsubscribe u0>u1")
		check(t, "the contact's side", roster(t, svc, u, u[1]), "")
		// A user's roster goes with the user.
		must(t)(svc.Set(ctx, u[2], svc.JID(u[0]), "", nil))
		acc := accounts.NewService(st)
		acc.Owned = append(acc.Owned, svc)
		if err := acc.DeleteUser(ctx, u[2].AppID, u[2].UserID); err != nil {
			t.Fatal(err)
		}
		check(t, "forgotten", roster(t, svc, u, u[2]), "")
	})

	t.Run("subscription between local users", func(t *testing.T) {
		_, svc, u := setup(t, 2)
		a, b := u[0], u[1]
		r := must(t)(svc.Outbound(ctx, a, svc.JID(b), rosters.Subscribe, "it's me"))
		check(t, "a asks", words(svc, u, r), `push u0: u1 none+ask; subscribe u0>u1 "it's me"`)
		check(t, "a", roster(t, svc, u, a), "u1 none+ask")
		check(t, "b: a is pending, not on the roster", roster(t, svc, u, b), `pending u0 "it's me"`)
		// Asking again changes nothing and delivers nothing new.
		r = must(t)(svc.Outbound(ctx, a, svc.JID(b), rosters.Subscribe, "again"))
		check(t, "a asks again", words(svc, u, r), "")
		check(t, "b keeps the first request", roster(t, svc, u, b), `pending u0 "it's me"`)

		r = must(t)(svc.Outbound(ctx, b, svc.JID(a), rosters.Subscribed, ""))
		check(t, "b approves", words(svc, u, r), "push u1: u0 from; push u0: u1 to; subscribed u1>u0; available u1>u0")
		check(t, "a", roster(t, svc, u, a), "u1 to")
		check(t, "b", roster(t, svc, u, b), "u0 from")
		// A request from someone already approved is answered for b; a,
		// subscribed already, ignores the answer but gets b's presence.
		r = must(t)(svc.Outbound(ctx, a, svc.JID(b), rosters.Subscribe, ""))
		check(t, "a asks once more", words(svc, u, r), "available u1>u0")

		r = must(t)(svc.Outbound(ctx, b, svc.JID(a), rosters.Subscribe, ""))
		check(t, "b asks", words(svc, u, r), "push u1: u0 from+ask; subscribe u1>u0")
		r = must(t)(svc.Outbound(ctx, a, svc.JID(b), rosters.Subscribed, ""))
		check(t, "a approves", words(svc, u, r), "push u0: u1 both; push u1: u0 both; subscribed u0>u1; available u0>u1")

		r = must(t)(svc.Outbound(ctx, a, svc.JID(b), rosters.Unsubscribed, ""))
		check(t, "a cancels b's subscription", words(svc, u, r), "push u0: u1 to; push u1: u0 from; unavailable u0>u1; unsubscribed u0>u1")
		r = must(t)(svc.Outbound(ctx, a, svc.JID(b), rosters.Unsubscribe, ""))
		check(t, "a unsubscribes", words(svc, u, r), "push u0: u1 none; push u1: u0 none; unavailable u1>u0; unsubscribe u0>u1")
		check(t, "a", roster(t, svc, u, a), "u1 none")
		check(t, "b", roster(t, svc, u, b), "u0 none")

		// Remove ends both subscriptions on both sides.
		must(t)(svc.Outbound(ctx, a, svc.JID(b), rosters.Subscribe, ""))
		must(t)(svc.Outbound(ctx, b, svc.JID(a), rosters.Subscribed, ""))
		must(t)(svc.Outbound(ctx, b, svc.JID(a), rosters.Subscribe, ""))
		must(t)(svc.Outbound(ctx, a, svc.JID(b), rosters.Subscribed, ""))
		r = must(t)(svc.Remove(ctx, b, svc.JID(a)))
		check(t, "b removes a", words(svc, u, r),
			"push u1: remove u0; push u0: u1 to; push u0: u1 none; unavailable u0>u1; unsubscribe u1>u0; unavailable u1>u0; unsubscribed u1>u0")
		check(t, "a", roster(t, svc, u, a), "u1 none")
		check(t, "b", roster(t, svc, u, b), "")
	})

	t.Run("pre-approval and denial", func(t *testing.T) {
		_, svc, u := setup(t, 3)
		a, b, c := u[0], u[1], u[2]
		r := must(t)(svc.Outbound(ctx, a, svc.JID(b), rosters.Subscribed, ""))
		check(t, "a pre-approves b: not routed", words(svc, u, r), "push u0: u1 none+approved")
		r = must(t)(svc.Outbound(ctx, b, svc.JID(a), rosters.Subscribe, "hi"))
		check(t, "b asks: answered for a", words(svc, u, r), "push u1: u0 none+ask; push u0: u1 from; push u1: u0 to; subscribed u0>u1; available u0>u1")
		check(t, "a", roster(t, svc, u, a), "u1 from")
		// Withdrawing a pre-approval is not routed either.
		must(t)(svc.Outbound(ctx, a, svc.JID(c), rosters.Subscribed, ""))
		r = must(t)(svc.Outbound(ctx, a, svc.JID(c), rosters.Unsubscribed, ""))
		check(t, "a withdraws c's pre-approval", words(svc, u, r), "push u0: u2 none")

		// c asks a, who denies: the request goes, c's ask is answered.
		must(t)(svc.Remove(ctx, a, svc.JID(c)))
		must(t)(svc.Outbound(ctx, c, svc.JID(a), rosters.Subscribe, "me too"))
		check(t, "a", roster(t, svc, u, a), `u1 from; pending u2 "me too"`)
		r = must(t)(svc.Outbound(ctx, a, svc.JID(c), rosters.Unsubscribed, ""))
		check(t, "a denies c", words(svc, u, r), "push u2: u0 none; unsubscribed u0>u2")
		check(t, "a", roster(t, svc, u, a), "u1 from")
		check(t, "c", roster(t, svc, u, c), "u0 none")
		// c asks again and withdraws: a's pending request goes too.
		must(t)(svc.Outbound(ctx, c, svc.JID(a), rosters.Subscribe, ""))
		r = must(t)(svc.Outbound(ctx, c, svc.JID(a), rosters.Unsubscribe, ""))
		check(t, "c withdraws", words(svc, u, r), "push u2: u0 none; unsubscribe u2>u0")
		check(t, "a", roster(t, svc, u, a), "u1 from")
	})

	t.Run("remote contacts", func(t *testing.T) {
		_, svc, u := setup(t, 1)
		a := u[0]
		const romeo = "romeo@example.net"
		r := must(t)(svc.Inbound(ctx, a, "Romeo@Example.net/balcony", rosters.Subscribe, "wherefore"))
		check(t, "romeo asks", words(svc, u, r), `subscribe romeo@example.net>u0 "wherefore"`)
		check(t, "a", roster(t, svc, u, a), `pending romeo@example.net "wherefore"`)
		r = must(t)(svc.Outbound(ctx, a, romeo, rosters.Subscribed, ""))
		check(t, "a approves", words(svc, u, r), "push u0: romeo@example.net from; subscribed u0>romeo@example.net; available u0>romeo@example.net")
		r = must(t)(svc.Outbound(ctx, a, romeo, rosters.Subscribe, ""))
		check(t, "a asks", words(svc, u, r), "push u0: romeo@example.net from+ask; subscribe u0>romeo@example.net")
		r = must(t)(svc.Inbound(ctx, a, romeo, rosters.Subscribed, ""))
		check(t, "romeo approves", words(svc, u, r), "push u0: romeo@example.net both; subscribed romeo@example.net>u0")
		r = must(t)(svc.Inbound(ctx, a, romeo, rosters.Subscribed, ""))
		check(t, "an approval nobody asked for", words(svc, u, r), "")
		r = must(t)(svc.Inbound(ctx, a, romeo, rosters.Subscribe, ""))
		check(t, "romeo asks again", words(svc, u, r), "subscribed u0>romeo@example.net; available u0>romeo@example.net")
		if _, err := svc.Inbound(ctx, a, svc.JID(a), rosters.Subscribe, ""); !errors.Is(err, rosters.ErrInvalid) {
			t.Fatalf("inbound from a local user: %v", err)
		}
		if _, err := svc.Outbound(ctx, a, romeo, rosters.Available, ""); !errors.Is(err, rosters.ErrInvalid) {
			t.Fatalf("not a subscription type: %v", err)
		}
	})

	t.Run("versions", func(t *testing.T) {
		_, svc, u := setup(t, 2)
		a := u[0]
		r0, err := svc.Get(ctx, a, "")
		if err != nil || r0.Unchanged || len(r0.Items) != 0 {
			t.Fatalf("empty roster %+v %v", r0, err)
		}
		if r, _ := svc.Get(ctx, a, r0.Ver); !r.Unchanged || r.Ver != r0.Ver {
			t.Fatalf("same version: %+v", r)
		}
		var last int64
		for i, step := range []func() (*rosters.Result, error){
			func() (*rosters.Result, error) { return svc.Set(ctx, a, "x@example.net", "x", nil) },
			func() (*rosters.Result, error) { return svc.Outbound(ctx, a, "x@example.net", rosters.Subscribe, "") },
			func() (*rosters.Result, error) { return svc.Outbound(ctx, a, "x@example.net", rosters.Subscribed, "") },
			func() (*rosters.Result, error) { return svc.Remove(ctx, a, "x@example.net") },
		} {
			before, _ := svc.Get(ctx, a, "")
			r := must(t)(step())
			if len(r.Pushes) != 1 {
				t.Fatalf("step %d pushes %+v", i, r.Pushes)
			}
			v, _ := strconv.ParseInt(r.Pushes[0].Ver, 10, 64)
			if v <= last {
				t.Fatalf("step %d: version %d after %d", i, v, last)
			}
			last = v
			now, _ := svc.Get(ctx, a, before.Ver)
			if now.Unchanged || now.Ver != r.Pushes[0].Ver {
				t.Fatalf("step %d: get after a change with the old version: %+v, push ver %s", i, now, r.Pushes[0].Ver)
			}
			if again, _ := svc.Get(ctx, a, now.Ver); !again.Unchanged || len(again.Items) != 0 {
				t.Fatalf("step %d: get with the current version: %+v", i, again)
			}
		}
		// Other users' rosters have versions of their own.
		if r, _ := svc.Get(ctx, u[1], ""); r.Ver != "0" {
			t.Fatalf("untouched roster at version %s", r.Ver)
		}
		if r, _ := svc.Get(ctx, a, "garbage"); r.Unchanged || r.Ver != strconv.FormatInt(last, 10) {
			t.Fatalf("unknown ver: %+v", r)
		}
	})

	t.Run("limits", func(t *testing.T) {
		_, svc, u := setup(t, 5)
		svc.SetLimits(rosters.Limits{MaxItems: 2, MaxGroups: 2, MaxTextLen: 8, MaxPending: 2, MaxStatusLen: 10})
		refusal := func(t *testing.T, err error, setting string, is error) {
			t.Helper()
			var q *quota.Error
			if !errors.As(err, &q) || q.Setting != setting || q.Rate || !errors.Is(err, is) {
				t.Fatalf("want a %s refusal, got %v", setting, err)
			}
		}
		a := u[0]
		must(t)(svc.Set(ctx, a, "1@example.net", "12345678", []string{"g1", "g2"}))
		must(t)(svc.Set(ctx, a, "2@example.net", "", nil))
		must(t)(svc.Set(ctx, a, "2@example.net", "renamed", nil)) // an update does not grow the roster
		_, err := svc.Set(ctx, a, "3@example.net", "", nil)
		refusal(t, err, "roster-items", rosters.ErrLimit)
		_, err = svc.Outbound(ctx, a, "3@example.net", rosters.Subscribe, "")
		refusal(t, err, "roster-items", rosters.ErrLimit)
		_, err = svc.Outbound(ctx, a, "3@example.net", rosters.Subscribed, "") // a pre-approval adds an item too
		refusal(t, err, "roster-items", rosters.ErrLimit)
		_, err = svc.Set(ctx, a, "1@example.net", "", []string{"a", "b", "c"})
		refusal(t, err, "roster-groups-per-item", rosters.ErrLimit)
		_, err = svc.Set(ctx, a, "1@example.net", "123456789", nil)
		refusal(t, err, "roster-text-length", rosters.ErrNotAcceptable)
		_, err = svc.Set(ctx, a, "1@example.net", "", []string{"123456789"})
		refusal(t, err, "roster-text-length", rosters.ErrNotAcceptable)
		for _, bad := range []struct {
			name   string
			groups []string
			want   error
		}{
			{"a\x00b", nil, rosters.ErrNotAcceptable},
			{"\xff", nil, rosters.ErrNotAcceptable},
			{"", []string{"\uFFFE"}, rosters.ErrNotAcceptable},
			{"", []string{""}, rosters.ErrNotAcceptable},
			{"", []string{"g", "g"}, rosters.ErrInvalid},
		} {
			if _, err := svc.Set(ctx, a, "1@example.net", bad.name, bad.groups); !errors.Is(err, bad.want) {
				t.Fatalf("set %q %q: %v, want %v", bad.name, bad.groups, err, bad.want)
			}
		}
		_, err = svc.Outbound(ctx, u[1], svc.JID(a), rosters.Subscribe, "12345678901")
		refusal(t, err, "roster-status-length", rosters.ErrNotAcceptable)
		if _, err := svc.Outbound(ctx, u[1], svc.JID(a), rosters.Subscribe, "\x01"); !errors.Is(err, rosters.ErrNotAcceptable) {
			t.Fatalf("status with a control character: %v", err)
		}
		check(t, "nothing refused was stored", roster(t, svc, u, a), "1@example.net none; 2@example.net none")

		// Requests to a: pending beyond the roster limit, up to their own.
		must(t)(svc.Outbound(ctx, u[1], svc.JID(a), rosters.Subscribe, ""))
		must(t)(svc.Outbound(ctx, u[2], svc.JID(a), rosters.Subscribe, ""))
		_, err = svc.Outbound(ctx, u[3], svc.JID(a), rosters.Subscribe, "")
		refusal(t, err, "roster-pending-requests", rosters.ErrLimit)
		check(t, "the refused sender asks nothing", roster(t, svc, u, u[3]), "")
		_, err = svc.Inbound(ctx, a, "4@example.net", rosters.Subscribe, "")
		refusal(t, err, "roster-pending-requests", rosters.ErrLimit)
		// Requests already pending are not refused again.
		must(t)(svc.Outbound(ctx, u[1], svc.JID(a), rosters.Subscribe, ""))
		// Approving one frees a pending slot, but a's roster is full.
		_, err = svc.Outbound(ctx, a, svc.JID(u[1]), rosters.Subscribed, "")
		refusal(t, err, "roster-items", rosters.ErrLimit)
		must(t)(svc.Remove(ctx, a, "2@example.net"))
		must(t)(svc.Outbound(ctx, a, svc.JID(u[1]), rosters.Subscribed, ""))
		must(t)(svc.Outbound(ctx, u[3], svc.JID(a), rosters.Subscribe, ""))
		check(t, "a", roster(t, svc, u, a), `1@example.net none; u1 from; pending u2 ""; pending u3 ""`)
	})

	t.Run("concurrent changes of one item", func(t *testing.T) {
		st, svc, u := setup(t, 6)
		run := func(fs ...func() error) {
			t.Helper()
			var wg sync.WaitGroup
			errs := make([]error, len(fs))
			for i, f := range fs {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = f() }()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
		}
		send := func(from, to rosters.Owner, typ rosters.Type) func() error {
			return func() error { _, err := svc.Outbound(ctx, from, svc.JID(to), typ, ""); return err }
		}
		// Two users ask each other at once, then approve at once: each
		// stanza changes both users' items for each other.
		for i := 0; i+1 < len(u); i += 2 {
			a, b := u[i], u[i+1]
			run(send(a, b, rosters.Subscribe), send(b, a, rosters.Subscribe))
			na, nb := name(svc, u)(svc.JID(a)), name(svc, u)(svc.JID(b))
			check(t, "after both asked", roster(t, svc, u, a), nb+` none+ask; pending `+nb+` ""`)
			check(t, "after both asked", roster(t, svc, u, b), na+` none+ask; pending `+na+` ""`)
			run(send(a, b, rosters.Subscribed), send(b, a, rosters.Subscribed))
			check(t, "after both approved", roster(t, svc, u, a), nb+" both")
			check(t, "after both approved", roster(t, svc, u, b), na+" both")
		}
		// Renames racing with subscription changes keep both.
		a, b := u[0], u[2]
		names := []string{"n1", "n2", "n3", "n4"}
		var fs []func() error
		for _, n := range names {
			fs = append(fs, func() error { _, err := svc.Set(ctx, a, svc.JID(b), n, []string{n}); return err })
		}
		fs = append(fs, send(b, a, rosters.Subscribe))
		run(fs...)
		got, err := st.RosterItem(ctx, a, svc.JID(b))
		if err != nil || !got.PendingIn || got.Hidden || !slices.Contains(names, got.Name) || fmt.Sprint(got.Groups) != "["+got.Name+"]" {
			t.Fatalf("item after racing changes: %+v %v", got, err)
		}
		// The store refuses the second of two writes over one revision.
		c := rosters.Owner{AppID: a.AppID, UserID: u[4].UserID}
		base := &rosters.Item{JID: "x@example.net", Subscription: rosters.None}
		if _, err := st.PutRosterItem(ctx, c, base); err != nil {
			t.Fatal(err)
		}
		var wins, conflicts int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				it := *base
				it.Name = "w" + strconv.Itoa(i)
				_, err := st.PutRosterItem(ctx, c, &it)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, rosters.ErrConflict):
					conflicts++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || conflicts != 1 {
			t.Fatalf("two writes over one revision: %d stored, %d conflicts", wins, conflicts)
		}
		fresh := &rosters.Item{JID: "x@example.net"}
		if _, err := st.PutRosterItem(ctx, c, fresh); !errors.Is(err, rosters.ErrConflict) {
			t.Fatalf("inserting an item that exists: %v", err)
		}
		if _, err := st.DeleteRosterItem(ctx, c, "x@example.net", base.Rev); !errors.Is(err, rosters.ErrConflict) {
			t.Fatalf("deleting over an old revision: %v", err)
		}
		if _, err := st.DeleteRosterItem(ctx, c, "y@example.net", 1); !errors.Is(err, rosters.ErrNotFound) {
			t.Fatalf("deleting what is not there: %v", err)
		}
	})
}

// itemState words an item's subscription state: none, to, from or both,
// with +ask and +approved.
func itemState(it rosters.Item) string {
	s := string(it.Subscription)
	if it.Ask {
		s += "+ask"
	}
	if it.Approved {
		s += "+approved"
	}
	return s
}
