package httpapi_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/accounts"
)

// TestContactsArePrivate: email and phone are shown to the user itself,
// to other users only where the app enables show_contacts, and never to an
// app session; looking users up by email is refused where they are hidden.
func TestContactsArePrivate(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	shown, err := e.acc.CreateApp(ctx, "shown", accounts.AppOptions{ShowContacts: true})
	if err != nil {
		t.Fatal(err)
	}
	type world struct {
		app                  *accounts.App
		appToken, aliceToken string
		aliceID, bobID       int64
	}
	setup := func(app *accounts.App) world {
		w := world{app: app}
		for _, login := range []string{"alice", "bob"} {
			pw, email, phone := login+"-password", login+"@example.com", "+100000"+login
			u, err := e.acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw, Email: &email, Phone: &phone})
			if err != nil {
				t.Fatal(err)
			}
			if login == "alice" {
				w.aliceID = u.ID
			} else {
				w.bobID = u.ID
			}
		}
		code, out := e.call("POST", "/session.json", "", `{"application_id":`+itoa(app.ID)+`,"auth_key":"`+app.AuthKey+`"}`)
		if code != 201 {
			t.Fatalf("app session: %d %v", code, out)
		}
		w.appToken = out["session"].(map[string]any)["token"].(string)
		code, out = e.call("POST", "/session.json", "", `{"application_id":`+itoa(app.ID)+`,"auth_key":"`+app.AuthKey+`","user":{"login":"alice","password":"alice-password"}}`)
		if code != 201 {
			t.Fatalf("alice: %d %v", code, out)
		}
		w.aliceToken = out["session"].(map[string]any)["token"].(string)
		return w
	}
	hidden, open := setup(e.app), setup(shown)

	// contactsOf returns the email and phone a response shows for user id.
	contactsOf := func(out map[string]any, id int64) (any, any) {
		var users []any
		if u, ok := out["user"]; ok {
			users = []any{u}
		} else {
			users, _ = out["items"].([]any)
		}
		for _, u := range users {
			m := u.(map[string]any)
			if int64(m["id"].(float64)) == id {
				return m["email"], m["phone"]
			}
		}
		t.Fatalf("user %d not in %v", id, out)
		return nil, nil
	}
	cases := []struct {
		name      string
		w         world
		token     func(world) string
		path      func(world) string
		user      func(world) int64
		wantShown bool
	}{
		{"app session, user by id", hidden, func(w world) string { return w.appToken }, func(w world) string { return "/users/" + itoa(w.bobID) + ".json" }, func(w world) int64 { return w.bobID }, false},
		{"app session, listing", hidden, func(w world) string { return w.appToken }, func(w world) string { return "/users/v2.json" }, func(w world) int64 { return w.bobID }, false},
		{"app session where contacts are shown", open, func(w world) string { return w.appToken }, func(w world) string { return "/users/v2.json" }, func(w world) int64 { return w.bobID }, false},
		{"user session, other user", hidden, func(w world) string { return w.aliceToken }, func(w world) string { return "/users/" + itoa(w.bobID) + ".json" }, func(w world) int64 { return w.bobID }, false},
		{"user session, listing", hidden, func(w world) string { return w.aliceToken }, func(w world) string { return "/users/v2.json" }, func(w world) int64 { return w.bobID }, false},
		{"user session, self", hidden, func(w world) string { return w.aliceToken }, func(w world) string { return "/users/" + itoa(w.aliceID) + ".json" }, func(w world) int64 { return w.aliceID }, true},
		{"user session, self in a listing", hidden, func(w world) string { return w.aliceToken }, func(w world) string { return "/users/v2.json" }, func(w world) int64 { return w.aliceID }, true},
		{"user session where contacts are shown", open, func(w world) string { return w.aliceToken }, func(w world) string { return "/users/" + itoa(w.bobID) + ".json" }, func(w world) int64 { return w.bobID }, true},
		{"user session listing where contacts are shown", open, func(w world) string { return w.aliceToken }, func(w world) string { return "/users/v2.json" }, func(w world) int64 { return w.bobID }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.call("GET", tc.path(tc.w), tc.token(tc.w), "")
			if code != 200 {
				t.Fatalf("%d %v", code, out)
			}
			email, phone := contactsOf(out, tc.user(tc.w))
			if got := email != nil && phone != ""; got != tc.wantShown || (!tc.wantShown && (email != nil || phone != "")) {
				t.Fatalf("email=%v phone=%v, want shown=%v", email, phone, tc.wantShown)
			}
		})
	}
	t.Run("lookup by email", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			token string
			want  int
		}{
			{"app session", hidden.appToken, 403},
			{"app session where contacts are shown", open.appToken, 403},
			{"user session", hidden.aliceToken, 403},
			{"user session where contacts are shown", open.aliceToken, 200},
		} {
			code, out := e.call("GET", "/users/v2.json?email=bob@example.com", c.token, "")
			if code != c.want {
				t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
			}
			if code == 403 && out["errors"] == nil {
				t.Errorf("%s: refusal without errors: %v", c.name, out)
			}
			if code == 200 && out["total_entries"].(float64) != 1 {
				t.Errorf("%s: %v", c.name, out)
			}
		}
	})
}
