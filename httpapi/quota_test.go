package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/push"
	"github.com/parley-chat/parley/storage/sqlite"
)

// quotaAPI is a REST API on SQLite with every service whose limits the
// quota tests set.
type quotaAPI struct {
	t    *testing.T
	url  string
	acc  *accounts.Service
	ds   *dialogs.Service
	push *push.Service
	app  *accounts.App
	id   map[string]int64
	tok  map[string]string
}

func newQuotaAPI(t *testing.T, users ...string) *quotaAPI {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q := &quotaAPI{t: t, acc: accounts.NewService(db), id: map[string]int64{}, tok: map[string]string{}}
	q.acc.Iterations = 1000
	q.ds = dialogs.NewService(db, db)
	q.push = push.NewService(db, nil)
	q.app, _ = q.acc.CreateApp(ctx, "t", accounts.AppOptions{})
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Accounts: q.acc, Dialogs: q.ds, History: history.NewArchive(db, q.ds), Push: q.push,
		MUCDomain: "muc.localhost", Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	q.url = srv.URL
	for _, u := range users {
		pw := u + "-password"
		user, err := q.acc.CreateUser(ctx, q.app.ID, accounts.UserInput{Login: &u, Password: &pw})
		if err != nil {
			t.Fatal(err)
		}
		q.id[u] = user.ID
		code, raw := q.login(u)
		if code != 201 {
			t.Fatalf("login %s: %d %s", u, code, raw)
		}
	}
	return q
}

// login creates a session for user over REST and keeps its token.
func (q *quotaAPI) login(user string) (int, string) {
	q.t.Helper()
	code, b := testenv.REST(q.t, "POST", q.url+"/session.json", "", fmt.Sprintf(`{"application_id":%d,"auth_key":"%s","user":{"login":"%s","password":"%s-password"}}`,
		q.app.ID, q.app.AuthKey, user, user))
	if code == 201 {
		var out struct {
			Session struct{ Token string } `json:"session"`
		}
		json.Unmarshal(b, &out)
		q.tok[user] = out.Session.Token
	}
	return code, string(b)
}

func (q *quotaAPI) do(user, method, path, body string) (int, string) {
	q.t.Helper()
	code, b := testenv.REST(q.t, method, q.url+path, q.tok[user], body)
	return code, string(b)
}

// refused checks a refusal: the status and an {"errors":{"base":[...]}}
// body that names the setting.
func refused(t *testing.T, code int, raw string, status int, setting string) {
	t.Helper()
	var out struct {
		Errors struct {
			Base []string `json:"base"`
		} `json:"errors"`
	}
	if code != status || json.Unmarshal([]byte(raw), &out) != nil || len(out.Errors.Base) != 1 || !strings.Contains(out.Errors.Base[0], setting) {
		t.Fatalf("got %d %s, want %d naming %s", code, raw, status, setting)
	}
}

func TestDialogCreationRate(t *testing.T) {
	for _, tc := range []struct {
		setting string
		limits  dialogs.Limits
	}{
		{"dialogs-per-minute", dialogs.Limits{CreatePerMinute: 3}},
		{"dialogs-per-hour", dialogs.Limits{CreatePerHour: 3}},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			q := newQuotaAPI(t, "ann", "ben", "cat", "dan", "eve")
			q.ds.SetLimits(tc.limits)
			// A group, a public dialog and a private one count alike.
			for _, body := range []string{fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":[%d]}`, q.id["ben"]), `{"type":1,"name":"p"}`,
				fmt.Sprintf(`{"type":3,"occupants_ids":[%d]}`, q.id["cat"])} {
				if code, raw := q.do("ann", "POST", "/chat/Dialog.json", body); code != 201 {
					t.Fatalf("%s: %d %s", body, code, raw)
				}
			}
			// Asking again for an existing private dialog creates nothing.
			if code, raw := q.do("ann", "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":3,"occupants_ids":[%d]}`, q.id["cat"])); code != 201 {
				t.Fatalf("existing private dialog: %d %s", code, raw)
			}
			code, raw := q.do("ann", "POST", "/chat/Dialog.json", `{"type":2,"name":"one too many"}`)
			refused(t, code, raw, 429, tc.setting)
			// A first 1-1 message creates a dialog too.
			code, raw = q.do("ann", "POST", "/chat/Message.json", fmt.Sprintf(`{"recipient_id":%d,"message":"hi"}`, q.id["dan"]))
			refused(t, code, raw, 429, tc.setting)
			// Other users are not affected.
			if code, raw := q.do("ben", "POST", "/chat/Dialog.json", `{"type":2,"name":"mine"}`); code != 201 {
				t.Fatalf("another user: %d %s", code, raw)
			}
		})
	}
}

func TestDialogAddsPerHour(t *testing.T) {
	q := newQuotaAPI(t, "ann", "ben", "cat", "vic")
	q.ds.SetLimits(dialogs.Limits{AddedPerHour: 2})
	group := func(by string, name string) (int, string) {
		return q.do(by, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"%s","occupants_ids":[%d]}`, name, q.id["vic"]))
	}
	if code, raw := group("ann", "a1"); code != 201 {
		t.Fatalf("%d %s", code, raw)
	}
	code, raw := q.do("ben", "POST", "/chat/Dialog.json", `{"type":2,"name":"b1"}`)
	if code != 201 {
		t.Fatalf("%d %s", code, raw)
	}
	var b1 struct {
		ID string `json:"_id"`
	}
	json.Unmarshal([]byte(raw), &b1)
	// Adding to an existing group counts like creating one with the user.
	if code, raw := q.do("ben", "PUT", "/chat/Dialog/"+b1.ID+".json", fmt.Sprintf(`{"push_all":{"occupants_ids":[%d]}}`, q.id["vic"])); code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	code, raw = group("cat", "c1")
	refused(t, code, raw, 429, "dialog-adds-per-hour")
	if !strings.Contains(raw, fmt.Sprintf("user %d", q.id["vic"])) {
		t.Fatalf("the refusal does not name the user: %s", raw)
	}
	// vic may still make groups, and others may still make groups without vic.
	if code, raw := q.do("vic", "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"v","occupants_ids":[%d]}`, q.id["ann"])); code != 201 {
		t.Fatalf("%d %s", code, raw)
	}
	if code, raw := q.do("cat", "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"c2","occupants_ids":[%d]}`, q.id["ben"])); code != 201 {
		t.Fatalf("%d %s", code, raw)
	}
}

func TestDialogMaxOccupants(t *testing.T) {
	q := newQuotaAPI(t, "ann", "ben", "cat", "dan", "eve")
	q.ds.SetLimits(dialogs.Limits{MaxOccupants: 3})
	code, raw := q.do("ann", "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"big","occupants_ids":[%d,%d,%d]}`, q.id["ben"], q.id["cat"], q.id["dan"]))
	refused(t, code, raw, 422, "dialog-max-occupants")
	code, raw = q.do("ann", "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"full","occupants_ids":[%d,%d]}`, q.id["ben"], q.id["cat"]))
	if code != 201 {
		t.Fatalf("%d %s", code, raw)
	}
	var g struct {
		ID string `json:"_id"`
	}
	json.Unmarshal([]byte(raw), &g)
	code, raw = q.do("ann", "PUT", "/chat/Dialog/"+g.ID+".json", fmt.Sprintf(`{"push_all":{"occupants_ids":[%d]}}`, q.id["dan"]))
	refused(t, code, raw, 422, "dialog-max-occupants")
	// Swapping one occupant for another stays within the cap.
	if code, raw := q.do("ann", "PUT", "/chat/Dialog/"+g.ID+".json", fmt.Sprintf(`{"push_all":{"occupants_ids":[%d]},"pull_all":{"occupants_ids":[%d]}}`, q.id["dan"], q.id["cat"])); code != 200 {
		t.Fatalf("swap: %d %s", code, raw)
	}
	// A public dialog's subscribers are occupants too.
	code, raw = q.do("ann", "POST", "/chat/Dialog.json", `{"type":1,"name":"lobby"}`)
	if code != 201 {
		t.Fatalf("public dialog: %d %s", code, raw)
	}
	json.Unmarshal([]byte(raw), &g)
	for _, u := range []string{"ben", "cat"} {
		if code, raw := q.do(u, "POST", "/chat/Dialog/"+g.ID+"/subscribe.json", ""); code != 200 {
			t.Fatalf("subscribe %s: %d %s", u, code, raw)
		}
	}
	code, raw = q.do("dan", "POST", "/chat/Dialog/"+g.ID+"/subscribe.json", "")
	refused(t, code, raw, 422, "dialog-max-occupants")
}

func TestSessionLimits(t *testing.T) {
	t.Run("session-tokens-per-minute", func(t *testing.T) {
		q := newQuotaAPI(t, "ann", "ben") // one login each
		q.acc.SetLimits(accounts.Limits{SessionsPerMinute: 3})
		for range 2 {
			if code, raw := q.login("ann"); code != 201 {
				t.Fatalf("%d %s", code, raw)
			}
		}
		code, raw := q.login("ann")
		refused(t, code, raw, 429, "session-tokens-per-minute")
		if code, raw := q.login("ben"); code != 201 {
			t.Fatalf("another user: %d %s", code, raw)
		}
	})
	t.Run("session-tokens-per-user", func(t *testing.T) {
		q := newQuotaAPI(t, "ann")
		q.acc.SetLimits(accounts.Limits{MaxSessions: 2})
		first := q.tok["ann"]
		q.login("ann")
		second := q.tok["ann"]
		q.login("ann")
		third := q.tok["ann"]
		// The oldest token was revoked; the newest two work.
		for tok, want := range map[string]int{first: 401, second: 200, third: 200} {
			if code, b := testenv.REST(t, "GET", q.url+"/session.json", tok, ""); code != want {
				t.Fatalf("token %s: %d %s, want %d", tok[:6], code, b, want)
			}
		}
	})
}

func TestPushSubscriptionLimits(t *testing.T) {
	sub := func(udid string) string {
		return `{"notification_channel":"fcm","push_token":{"client_identification_sequence":"tok-` + udid + `"},"device":{"platform":"android","udid":"` + udid + `"}}`
	}
	t.Run("push-subscriptions-per-user", func(t *testing.T) {
		q := newQuotaAPI(t, "ann", "ben")
		q.push.SetLimits(push.Limits{MaxSubscriptions: 2})
		for _, d := range []string{"d1", "d2", "d1"} { // the second d1 renews
			if code, raw := q.do("ann", "POST", "/subscriptions.json", sub(d)); code != 201 {
				t.Fatalf("%s: %d %s", d, code, raw)
			}
		}
		code, raw := q.do("ann", "POST", "/subscriptions.json", sub("d3"))
		refused(t, code, raw, 422, "push-subscriptions-per-user")
		if code, raw := q.do("ben", "POST", "/subscriptions.json", sub("d3")); code != 201 {
			t.Fatalf("another user: %d %s", code, raw)
		}
	})
	t.Run("push-subscriptions-per-hour", func(t *testing.T) {
		q := newQuotaAPI(t, "ann")
		q.push.SetLimits(push.Limits{PerHour: 3})
		for _, d := range []string{"d1", "d1", "d2"} {
			if code, raw := q.do("ann", "POST", "/subscriptions.json", sub(d)); code != 201 {
				t.Fatalf("%s: %d %s", d, code, raw)
			}
		}
		code, raw := q.do("ann", "POST", "/subscriptions.json", sub("d1"))
		refused(t, code, raw, 429, "push-subscriptions-per-hour")
	})
}
