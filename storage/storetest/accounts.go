// Package storetest is the conformance suite every store runs: the same
// tests against storage/sqlite and storage/mongo, through the domain
// services so the rules and the store are checked together.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
)

// Accounts checks an accounts.Store.
func Accounts(t *testing.T, open func(t *testing.T) accounts.Store) {
	ctx := context.Background()
	str := func(s string) *string { return &s }
	t.Run("apps", func(t *testing.T) {
		svc := accounts.NewService(open(t))
		a1, err := svc.CreateApp(ctx, "one", accounts.AppOptions{DialogExtensions: []string{"color"}})
		if err != nil {
			t.Fatal(err)
		}
		a2, _ := svc.CreateApp(ctx, "two", accounts.AppOptions{AutoCreateUsers: true, ShowContacts: true, ArchiveAll: true})
		if a1.ID == a2.ID || a1.AuthKey == a2.AuthKey {
			t.Fatal("apps share an id or key")
		}
		got, err := svc.App(ctx, a1.ID)
		if err != nil || got.Name != "one" || len(got.DialogExtensions) != 1 {
			t.Fatalf("app %+v %v", got, err)
		}
		if _, err := svc.App(ctx, 999999); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("missing app: %v", err)
		}
		if got.ShowContacts || got.AutoCreateUsers || got.ArchiveAll {
			t.Fatalf("options default to off: %+v", got)
		}
		if apps, _ := svc.Apps(ctx); len(apps) != 2 || apps[0].ID != a1.ID || !apps[1].AutoCreateUsers || !apps[1].ShowContacts || !apps[1].ArchiveAll {
			t.Fatalf("apps %+v", apps)
		}
		// Only the key's hash is stored; it is checked in constant time.
		if got.AuthKey != "" || !got.CheckAuthKey(a1.AuthKey) || got.CheckAuthKey(a2.AuthKey) || got.CheckAuthKey("") {
			t.Fatalf("stored app: key %q, hash %x", got.AuthKey, got.AuthKeyHash)
		}
		newKey, err := svc.RotateAuthKey(ctx, a1.ID)
		if err != nil || newKey == a1.AuthKey || len(newKey) != len(a1.AuthKey) {
			t.Fatalf("rotate: %q %v", newKey, err)
		}
		if _, _, _, err := svc.CreateSession(ctx, a1.ID, a1.AuthKey, nil); !errors.Is(err, accounts.ErrUnauthorized) {
			t.Fatalf("the old key after rotation: %v", err)
		}
		if _, _, _, err := svc.CreateSession(ctx, a1.ID, newKey, nil); err != nil {
			t.Fatalf("the new key: %v", err)
		}
		if _, err := svc.RotateAuthKey(ctx, 999999); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("rotate a missing app: %v", err)
		}
	})
	t.Run("default app race", func(t *testing.T) {
		// Nodes starting together on an empty store all make sure app 1
		// exists: exactly one creates it, nobody fails.
		st := open(t)
		const nodes = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, keys := 0, ""
		errs := make([]error, nodes)
		for i := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				app, isNew, err := accounts.NewService(st).EnsureDefaultApp(ctx)
				errs[i] = err
				if err == nil && app.ID != accounts.DefaultAppID {
					errs[i] = fmt.Errorf("got app %d", app.ID)
				}
				if isNew {
					mu.Lock()
					created++
					keys = app.AuthKey
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
		}
		svc := accounts.NewService(st)
		apps, _ := svc.Apps(ctx)
		if created != 1 || len(apps) != 1 || !apps[0].CheckAuthKey(keys) {
			t.Fatalf("%d nodes created the default app; apps %+v", created, apps)
		}
		// Later apps get fresh ids.
		if a, err := svc.CreateApp(ctx, "next", accounts.AppOptions{}); err != nil || a.ID == accounts.DefaultAppID {
			t.Fatalf("next app: %+v %v", a, err)
		}
	})
	t.Run("settings", func(t *testing.T) {
		st := open(t)
		// Nodes starting together race to create the installation secret:
		// all must end up with the first value stored.
		const racers = 8
		got := make([][]byte, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = st.Setting(ctx, "secret", []byte{byte('a' + i)})
			}()
		}
		wg.Wait()
		for i := range racers {
			if errs[i] != nil || string(got[i]) != string(got[0]) || len(got[i]) != 1 {
				t.Fatalf("racer %d got %q, %v; racer 0 got %q", i, got[i], errs[i], got[0])
			}
		}
		if v, err := st.Setting(ctx, "secret", []byte("later")); err != nil || string(v) != string(got[0]) {
			t.Fatalf("a later call replaced the value: %q %v", v, err)
		}
		if v, _ := st.Setting(ctx, "other", []byte("x")); string(v) != "x" {
			t.Fatalf("another key: %q", v)
		}
	})
	t.Run("quota events", func(t *testing.T) {
		st := open(t)
		t0 := time.Unix(1_700_000_000, 0)
		add := func(at time.Time, forget time.Time, users ...int64) {
			t.Helper()
			if err := st.AddEvents(ctx, 1, "k", users, at, forget); err != nil {
				t.Fatal(err)
			}
		}
		add(t0, time.Time{}, 10, 11)
		add(t0.Add(time.Minute), time.Time{}, 10)
		add(t0.Add(2*time.Minute), time.Time{}, 10)
		st.AddEvents(ctx, 2, "k", []int64{10}, t0, time.Time{})          // another app
		st.AddEvents(ctx, 1, "other", []int64{10}, t0, time.Time{})      // another kind
		got, err := st.CountEvents(ctx, 1, "k", []int64{10, 11, 12}, t0) // 12 has none
		if err != nil || fmt.Sprint(got) != "map[10:3 11:1]" {
			t.Fatalf("counts %v %v", got, err)
		}
		if got, _ := st.CountEvents(ctx, 1, "k", []int64{10}, t0.Add(time.Minute)); got[10] != 2 {
			t.Fatalf("since a minute on: %v", got)
		}
		// Adding forgets what the longest window no longer sees.
		add(t0.Add(3*time.Minute), t0.Add(90*time.Second), 10)
		if got, _ := st.CountEvents(ctx, 1, "k", []int64{10, 11}, time.Time{}); fmt.Sprint(got) != "map[10:2 11:1]" {
			t.Fatalf("after forgetting: %v", got)
		}
	})
	t.Run("trim sessions", func(t *testing.T) {
		svc := accounts.NewService(open(t))
		svc.Iterations = 1000
		svc.SetLimits(accounts.Limits{})
		app, _ := svc.CreateApp(ctx, "a", accounts.AppOptions{})
		u, _ := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("dora"), Password: str("dora-password")})
		var tokens []string
		for range 4 {
			_, tok, _, err := svc.CreateSession(ctx, app.ID, app.AuthKey, &accounts.Login{Login: "dora", Password: "dora-password"})
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, tok)
		}
		_, appTok, _, _ := svc.CreateSession(ctx, app.ID, app.AuthKey, nil)
		svc.SetLimits(accounts.Limits{MaxSessions: 2})
		var revoked []int64
		svc.Revoked = func(a, uid, id int64) {
			if a == app.ID && uid == u.ID {
				revoked = append(revoked, id)
			}
		}
		if _, tok, _, err := svc.CreateSession(ctx, app.ID, app.AuthKey, &accounts.Login{Login: "dora", Password: "dora-password"}); err != nil {
			t.Fatal(err)
		} else {
			tokens = append(tokens, tok)
		}
		for i, tok := range tokens {
			_, err := svc.SessionByToken(ctx, tok)
			if kept := i >= len(tokens)-2; kept != (err == nil) {
				t.Fatalf("token %d of %d: %v", i+1, len(tokens), err)
			}
		}
		if _, err := svc.SessionByToken(ctx, appTok); err != nil {
			t.Fatalf("the app session went with the user's: %v", err)
		}
		if len(revoked) != 3 {
			t.Fatalf("revoked sessions reported: %v, want the oldest three", revoked)
		}
		if _, _, pairs, _ := svc.ScramSecrets(ctx, app.ID, u.ID, "SCRAM-SHA-256"); len(pairs) != 3 {
			t.Fatalf("SCRAM key pairs after trimming: %d, want the password's and two tokens'", len(pairs))
		}
	})
	t.Run("users", func(t *testing.T) {
		svc := accounts.NewService(open(t))
		svc.Iterations = 1000
		app, _ := svc.CreateApp(ctx, "a", accounts.AppOptions{})
		other, _ := svc.CreateApp(ctx, "b", accounts.AppOptions{})
		alice, err := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("alice"), Email: str("alice@example.com"), Password: str("alice-password"), FullName: str("Alice Liddell")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("alice"), Password: str("another-pass")}); !isValidation(err, "login") {
			t.Fatalf("duplicate login: %v", err)
		}
		if _, err := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("alice2"), Email: str("alice@example.com"), Password: str("another-pass")}); !isValidation(err, "email") {
			t.Fatalf("duplicate email: %v", err)
		}
		// Logins are per app.
		if _, err := svc.CreateUser(ctx, other.ID, accounts.UserInput{Login: str("alice"), Password: str("another-pass")}); err != nil {
			t.Fatalf("same login in another app: %v", err)
		}
		bob, _ := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("bob"), Password: str("bob-password"), FullName: str("Bob")})
		if err := svc.CheckPassword(ctx, app.ID, alice.ID, "alice-password"); err != nil {
			t.Fatalf("password: %v", err)
		}
		if err := svc.CheckPassword(ctx, app.ID, alice.ID, "wrong-password"); !errors.Is(err, accounts.ErrUnauthorized) {
			t.Fatalf("wrong password: %v", err)
		}
		// Renaming frees the old login.
		if _, err := svc.UpdateUser(ctx, app.ID, bob.ID, accounts.UserInput{Login: str("robert")}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("bob"), Password: str("new-bob-pass")}); err != nil {
			t.Fatalf("freed login: %v", err)
		}
		if _, err := svc.UpdateUser(ctx, app.ID, bob.ID, accounts.UserInput{Login: str("alice")}, true); !isValidation(err, "login") {
			t.Fatalf("rename onto a taken login: %v", err)
		}
		list, total, err := svc.Users(ctx, app.ID, accounts.UserQuery{FullName: "alice", Limit: 10})
		if err != nil || total != 1 || list[0].ID != alice.ID {
			t.Fatalf("full_name search %v %d %v", list, total, err)
		}
		list, total, _ = svc.Users(ctx, app.ID, accounts.UserQuery{SortField: "login", SortDesc: true, Limit: 2})
		if total != 3 || len(list) != 2 || list[0].Login != "robert" {
			t.Fatalf("sorted page %+v %d", list, total)
		}
		list, _, _ = svc.Users(ctx, app.ID, accounts.UserQuery{IDs: []int64{alice.ID, bob.ID}, Limit: 10})
		if len(list) != 2 {
			t.Fatalf("ids filter %+v", list)
		}
		if err := svc.SetLastSeen(ctx, app.ID, alice.ID, time.Unix(1700000000, 0)); err != nil {
			t.Fatal(err)
		}
		if at, _ := svc.LastSeen(ctx, app.ID, alice.ID); at.Unix() != 1700000000 {
			t.Fatalf("last seen %v", at)
		}
		if err := svc.DeleteUser(ctx, app.ID, alice.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.User(ctx, app.ID, alice.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("deleted user: %v", err)
		}
		if _, err := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("alice"), Password: str("alice-again!")}); err != nil {
			t.Fatalf("login of a deleted user: %v", err)
		}
	})
	t.Run("sessions", func(t *testing.T) {
		svc := accounts.NewService(open(t))
		svc.Iterations = 1000
		app, _ := svc.CreateApp(ctx, "a", accounts.AppOptions{})
		u, _ := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("carol"), Password: str("carol-password")})
		sess, token, _, err := svc.CreateSession(ctx, app.ID, app.AuthKey, &accounts.Login{Login: "carol", Password: "carol-password"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := svc.SessionByToken(ctx, token); err != nil || got.ID != sess.ID || got.UserID != u.ID {
			t.Fatalf("by token %+v %v", got, err)
		}
		if err := svc.CheckPassword(ctx, app.ID, u.ID, token); err != nil {
			t.Fatalf("token as password: %v", err)
		}
		if _, _, pairs, err := svc.ScramSecrets(ctx, app.ID, u.ID, "SCRAM-SHA-256"); err != nil || len(pairs) != 2 {
			t.Fatalf("scram secrets %d %v", len(pairs), err)
		}
		svc.SetClock(func() time.Time { return time.Now().Add(3 * time.Hour) })
		if _, err := svc.SessionByToken(ctx, token); !errors.Is(err, accounts.ErrSessionExpired) {
			t.Fatalf("expired: %v", err)
		}
		if n, err := svc.PruneSessions(ctx); err != nil || n != 1 {
			t.Fatalf("pruned %d %v", n, err)
		}
		svc.SetClock(time.Now)
		_, token2, _, _ := svc.CreateSession(ctx, app.ID, app.AuthKey, &accounts.Login{Login: "carol", Password: "carol-password"})
		svc.DeleteUser(ctx, app.ID, u.ID)
		if _, err := svc.SessionByToken(ctx, token2); !errors.Is(err, accounts.ErrUnauthorized) {
			t.Fatalf("session of a deleted user: %v", err)
		}
	})

	t.Run("password reset", func(t *testing.T) {
		svc := accounts.NewService(open(t))
		svc.Iterations = 1000
		app, _ := svc.CreateApp(ctx, "a", accounts.AppOptions{})
		u, _ := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("dora"), Password: str("dora-password"), Email: str("dora@example.com")})
		if _, _, err := svc.PasswordResetToken(ctx, app.ID, "nobody@example.com"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("an unknown e-mail: %v", err)
		}
		token, got, err := svc.PasswordResetToken(ctx, app.ID, "dora@example.com")
		if err != nil || got.ID != u.ID {
			t.Fatalf("a reset token: %v", err)
		}
		if _, err := svc.ResetPassword(ctx, token, "dora-new-password"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ResetPassword(ctx, token, "dora-third-password"); !isValidation(err, "token") {
			t.Fatalf("a token used twice: %v", err)
		}
		// Three mails an hour to a user, then none, with the same answer as
		// for an unknown address; after the hour, mails again.
		for i := range 2 {
			if _, _, err := svc.PasswordResetToken(ctx, app.ID, "dora@example.com"); err != nil {
				t.Fatalf("mail %d: %v", i+2, err)
			}
		}
		if _, _, err := svc.PasswordResetToken(ctx, app.ID, "dora@example.com"); !errors.Is(err, accounts.ErrNotFound) {
			t.Fatalf("a fourth mail within the hour: %v", err)
		}
		svc.SetClock(func() time.Time { return time.Now().Add(61 * time.Minute) })
		if _, _, err := svc.PasswordResetToken(ctx, app.ID, "dora@example.com"); err != nil {
			t.Fatalf("a mail after the hour: %v", err)
		}
	})
}

func isValidation(err error, field string) bool {
	var v accounts.ValidationError
	return errors.As(err, &v) && len(v[field]) > 0
}
