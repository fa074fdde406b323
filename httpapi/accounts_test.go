package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/storage/sqlite"
)

type apiEnv struct {
	t   *testing.T
	url string
	acc *accounts.Service
	app *accounts.App
}

func newAPI(t *testing.T, opts ...func(*httpapi.Config)) *apiEnv {
	db, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := accounts.NewService(db)
	app, err := acc.CreateApp(context.Background(), "t", accounts.AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{Accounts: acc, Log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	srv := httptest.NewServer(httpapi.New(cfg))
	t.Cleanup(srv.Close)
	return &apiEnv{t: t, url: srv.URL, acc: acc, app: app}
}

// call sends a request the way the SDK does and decodes a JSON answer.
func (e *apiEnv) call(method, path, token, body string) (int, map[string]any) {
	e.t.Helper()
	code, b := testenv.REST(e.t, method, e.url+path, token, body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return code, out
}

func (e *apiEnv) userSession(login, password string) (string, int64) {
	e.t.Helper()
	code, out := e.call("POST", "/session.json", "", `{"application_id":"`+itoa(e.app.ID)+`","auth_key":"`+e.app.AuthKey+`","user":{"login":"`+login+`","password":"`+password+`"}}`)
	if code != 201 {
		e.t.Fatalf("login %s: %d %v", login, code, out)
	}
	s := out["session"].(map[string]any)
	return s["token"].(string), int64(s["user_id"].(float64))
}

func itoa(i int64) string { b, _ := json.Marshal(i); return string(b) }

func TestSessionAndUserEndpoints(t *testing.T) {
	e := newAPI(t)
	app := itoa(e.app.ID)
	code, out := e.call("POST", "/session.json", "", `{"application_id":`+app+`,"auth_key":"`+e.app.AuthKey+`"}`)
	if code != 201 {
		t.Fatalf("app session: %d %v", code, out)
	}
	appToken := out["session"].(map[string]any)["token"].(string)
	if c, o := e.call("POST", "/users.json", appToken, `{"user":{"login":"alice","password":"alice-password","full_name":"Alice","email":"alice@example.com"}}`); c != 201 {
		t.Fatalf("signup: %d %v", c, o)
	}
	aliceToken, aliceID := e.userSession("alice", "alice-password")
	e.call("POST", "/users.json", appToken, `{"user":{"login":"bob","password":"bob-password"}}`)
	_, bobID := e.userSession("bob", "bob-password")

	cases := []struct {
		name, method, path, token, body string
		want                            int
		check                           func(map[string]any) bool
	}{
		{"user session by email", "POST", "/session.json", "", `{"application_id":` + app + `,"auth_key":"` + e.app.AuthKey + `","user":{"email":"alice@example.com","password":"alice-password"}}`, 201, nil},
		{"wrong auth key", "POST", "/session.json", "", `{"application_id":` + app + `,"auth_key":"nope"}`, 401, hasErrors},
		{"wrong password", "POST", "/session.json", "", `{"application_id":` + app + `,"auth_key":"` + e.app.AuthKey + `","user":{"login":"alice","password":"nope-nope"}}`, 401, hasErrors},
		{"unknown user, no auto-create", "POST", "/session.json", "", `{"application_id":` + app + `,"auth_key":"` + e.app.AuthKey + `","user":{"login":"zed","password":"zed-password"}}`, 401, hasErrors},
		{"missing auth key", "POST", "/session.json", "", `{"application_id":` + app + `}`, 422, hasErrors},
		{"broken JSON", "POST", "/session.json", "", `{"application_id":`, 400, hasErrors},
		{"get session", "GET", "/session.json", aliceToken, "", 200, func(o map[string]any) bool {
			return o["session"].(map[string]any)["user"].(map[string]any)["login"] == "alice"
		}},
		{"no token", "GET", "/session.json", "", "", 401, sessionMissing},
		{"unknown token", "GET", "/users/v2.json", "deadbeef", "", 401, sessionMissing},
		{"duplicate login", "POST", "/users.json", appToken, `{"user":{"login":"alice","password":"another-password"}}`, 422, func(o map[string]any) bool {
			return o["errors"].(map[string]any)["login"] != nil
		}},
		{"short password", "POST", "/users.json", appToken, `{"user":{"login":"carl","password":"x"}}`, 422, hasErrors},
		{"get user", "GET", "/users/" + itoa(bobID) + ".json", aliceToken, "", 200, func(o map[string]any) bool {
			return o["user"].(map[string]any)["login"] == "bob"
		}},
		{"get missing user", "GET", "/users/99999.json", aliceToken, "", 404, hasErrors},
		{"update self", "PUT", "/users/" + itoa(aliceID) + ".json", aliceToken, `{"user":{"full_name":"Alice A"}}`, 200, func(o map[string]any) bool {
			return o["user"].(map[string]any)["full_name"] == "Alice A"
		}},
		{"update other user", "PUT", "/users/" + itoa(bobID) + ".json", aliceToken, `{"user":{"full_name":"Hacked"}}`, 403, hasErrors},
		{"password change needs old password", "PUT", "/users/" + itoa(aliceID) + ".json", aliceToken, `{"user":{"password":"new-password-1"}}`, 422, hasErrors},
		{"list users id[in][]", "GET", "/users/v2.json?id[in][]=" + itoa(aliceID) + "&id[in][]=" + itoa(bobID), aliceToken, "", 200, func(o map[string]any) bool {
			return o["total_entries"].(float64) == 2 && len(o["items"].([]any)) == 2
		}},
		{"list users comma list with spaces", "GET", "/users/v2.json?login=alice,%20bob&limit=1", aliceToken, "", 200, func(o map[string]any) bool {
			return o["total_entries"].(float64) == 2 && len(o["items"].([]any)) == 1
		}},
		{"delete other user", "DELETE", "/users/" + itoa(bobID) + ".json", aliceToken, "", 403, hasErrors},
		{"unknown path", "GET", "/nope.json", aliceToken, "", 404, hasErrors},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.call(tc.method, tc.path, tc.token, tc.body)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %v", code, tc.want, out)
			}
			if tc.check != nil && !tc.check(out) {
				t.Fatalf("unexpected body %v", out)
			}
		})
	}
	t.Run("expired token", func(t *testing.T) {
		e.acc.SetClock(func() time.Time { return time.Now().Add(3 * time.Hour) })
		defer e.acc.SetClock(time.Now)
		code, out := e.call("GET", "/users/v2.json", aliceToken, "")
		if code != 401 || !sessionMissing(out) {
			t.Fatalf("%d %v", code, out)
		}
	})
	t.Run("logout ends the session", func(t *testing.T) {
		tok, _ := e.userSession("bob", "bob-password")
		if code, _ := e.call("DELETE", "/session.json", tok, ""); code != 200 {
			t.Fatalf("logout %d", code)
		}
		if code, _ := e.call("GET", "/session.json", tok, ""); code != 401 {
			t.Fatalf("token still valid after logout: %d", code)
		}
	})
	t.Run("delete self", func(t *testing.T) {
		tok, id := e.userSession("bob", "bob-password")
		if code, _ := e.call("DELETE", "/users/"+itoa(id)+".json", tok, ""); code != 200 {
			t.Fatalf("delete %d", code)
		}
		if code, _ := e.call("GET", "/users/"+itoa(id)+".json", aliceToken, ""); code != 404 {
			t.Fatalf("deleted user still there: %d", code)
		}
	})
}

func hasErrors(o map[string]any) bool { return o["errors"] != nil }

// sessionMissing is the body the SDK's session-expiry hook looks for.
func sessionMissing(o map[string]any) bool {
	errs, ok := o["errors"].(map[string]any)
	if !ok {
		return false
	}
	base, _ := errs["base"].([]any)
	return len(base) == 1 && base[0] == "Required session does not exist"
}

func TestAutoCreateUsersOnlyWhenTheAppAllows(t *testing.T) {
	e := newAPI(t)
	open, err := e.acc.CreateApp(context.Background(), "open", accounts.AppOptions{AutoCreateUsers: true})
	if err != nil {
		t.Fatal(err)
	}
	body := func(app *accounts.App) string {
		return `{"application_id":` + itoa(app.ID) + `,"auth_key":"` + app.AuthKey + `","user":{"login":"newbie","password":"newbie-password"}}`
	}
	if code, out := e.call("POST", "/session.json", "", body(e.app)); code != 401 {
		t.Fatalf("closed app created a user: %d %v", code, out)
	}
	code, out := e.call("POST", "/session.json", "", body(open))
	if code != 201 || out["session"].(map[string]any)["user_id"].(float64) == 0 {
		t.Fatalf("open app: %d %v", code, out)
	}
	// The user now exists: the same password logs in, another does not.
	if code, _ := e.call("POST", "/session.json", "", strings.Replace(body(open), "newbie-password", "other-password", 1)); code != 401 {
		t.Fatalf("wrong password after auto-create: %d", code)
	}
}
