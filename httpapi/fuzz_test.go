package httpapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/push"
	"github.com/parley-chat/parley/storage/sqlite"
)

// fuzzRoute is one route the API or the admin API registers. In path,
// {id} is the fuzzed path value (a real id of kind def when the fuzzer
// gives none); {dialog} and {app} are always the seeded dialog and app.
type fuzzRoute struct {
	method, path string
	def          string // "dialog", "message", "user", "self", "app", "sub"
	admin        bool
	// seed is a realistic query and body for the seed corpus.
	query, body string
}

// fuzzRoutes is every route of httpapi.New (accounts, chat, push) and of
// Admin.Handler, but GET /debug/pprof/profile, which samples for 30 s.
var fuzzRoutes = []fuzzRoute{
	{method: "POST", path: "/session.json", body: `{"application_id":"{app}","auth_key":"{key}","user":{"login":"{login}","password":"{login}-password"}}`},
	{method: "GET", path: "/session.json"},
	{method: "DELETE", path: "/session.json"},
	{method: "POST", path: "/login.json", body: `{"login":"{login}","password":"{login}-password"}`},
	{method: "DELETE", path: "/login.json"},
	{method: "POST", path: "/users.json", body: `{"user":{"login":"newuser","password":"newuser-password","email":"n@example.com","tag_list":"a,b"}}`},
	{method: "GET", path: "/users/v2.json", query: "id[in][]=1&id[in][]=2&login=alice,bob&limit=5&sort_desc=created_at"},
	{method: "GET", path: "/users/{id}", def: "user"},
	{method: "PUT", path: "/users/{id}", def: "self", body: `{"user":{"full_name":"New Name","custom_data":"{\"a\":1}"}}`},
	{method: "PUT", path: "/users.json", body: `{"user":{"website":"https://example.com","password":"x","old_password":"y"}}`},
	{method: "DELETE", path: "/users/{id}", def: "self"},
	{method: "DELETE", path: "/users.json"},
	{method: "GET", path: "/chat/Dialog.json", query: "type[in]=2,3&updated_at[gt]=1700000000&extensions[color]=red&limit=10&sort_asc=name"},
	{method: "POST", path: "/chat/Dialog.json", body: `{"type":2,"name":"room","occupants_ids":"{bob}","extensions":{"color":"red"},"permissions":{"allow_preview":1}}`},
	{method: "PUT", path: "/chat/Dialog/{id}", def: "dialog", body: `{"name":"renamed","push_all":{"occupants_ids":[{bob}],"pinned_messages_ids":["{message}"]}}`},
	{method: "DELETE", path: "/chat/Dialog/{id}", def: "dialog", query: "force=1"},
	{method: "POST", path: "/chat/Dialog/{id}/subscribe.json", def: "dialog"},
	{method: "DELETE", path: "/chat/Dialog/{id}/subscribe.json", def: "dialog"},
	{method: "GET", path: "/chat/Dialog/{id}/occupants.json", def: "dialog", query: "limit=10&skip=0"},
	{method: "PUT", path: "/chat/Dialog/{id}/admins.json", def: "dialog", body: `{"push_all":{"admins_ids":[{bob}]}}`},
	{method: "GET", path: "/chat/Dialog/{id}/notifications.json", def: "dialog"},
	{method: "PUT", path: "/chat/Dialog/{id}/notifications.json", def: "dialog", body: `{"enabled":"0"}`},
	{method: "DELETE", path: "/chat/Dialog/clearHistory/{id}", def: "dialog"},
	{method: "GET", path: "/chat/Dialog/{dialog}/{id}", def: "sub"},
	{method: "GET", path: "/chat/Message.json", query: "chat_dialog_id={dialog}&date_sent[lt]=2000000000&sender_id[in]=1,2&attachments.type=image&limit=50&sort_desc=date_sent&mark_as_read=0"},
	{method: "POST", path: "/chat/Message.json", body: `{"chat_dialog_id":"{dialog}","message":"hi","send_to_chat":1,"attachments":[{"type":"image","id":"1"}],"custom":"x"}`},
	{method: "PUT", path: "/chat/Message.json", body: `{"chat_dialog_id":"{dialog}","read":1}`},
	{method: "PUT", path: "/chat/Message/{id}", def: "message", body: `{"chat_dialog_id":"{dialog}","message":"edited","delivered":1}`},
	{method: "DELETE", path: "/chat/Message/{id}", def: "message", query: "force=1"},
	{method: "GET", path: "/chat/Message/unread.json", query: "chat_dialog_ids={dialog}"},
	{method: "GET", path: "/chat/Message/{id}/reactions.json", def: "message"},
	{method: "PUT", path: "/chat/Message/{id}/reactions.json", def: "message", body: `{"add":"👍","remove":"x"}`},
	{method: "POST", path: "/chat/Message/system.json", body: `{"recipientId":{bob},"param":"v"}`},
	{method: "GET", path: "/chat/search.json", query: "search_text=hello&chat_dialog_ids={dialog}&limit=5&start_date=2020-01-01&end_date=2100000000"},
	{method: "POST", path: "/subscriptions.json", body: `{"notification_channel":"apns","push_token":{"environment":"development","client_identification_sequence":"abc"},"device":{"platform":"ios","udid":"u1"}}`},
	{method: "GET", path: "/subscriptions.json"},
	{method: "DELETE", path: "/subscriptions/{id}", def: "sub"},
	{method: "GET", path: "/healthz", admin: true},
	{method: "GET", path: "/readyz", admin: true},
	{method: "GET", path: "/metrics", admin: true},
	{method: "GET", path: "/debug/pprof/", admin: true},
	{method: "GET", path: "/debug/pprof/heap", admin: true},
	{method: "GET", path: "/api/version", admin: true},
	{method: "GET", path: "/api/apps", admin: true},
	{method: "POST", path: "/api/apps", admin: true, body: `{"name":"app","auto_create_users":true,"show_contacts":false,"dialog_extensions":["color"]}`},
	{method: "GET", path: "/api/apps/{id}/users", def: "app", admin: true, query: "offset=1"},
	{method: "POST", path: "/api/apps/{id}/users", def: "app", admin: true, body: `{"login":"adminmade","password":"adminmade-password"}`},
	{method: "PUT", path: "/api/apps/{app}/users/{id}/password", def: "user", admin: true, body: `{"password":"another-password"}`},
	{method: "DELETE", path: "/api/apps/{app}/users/{id}", def: "user", admin: true},
	{method: "DELETE", path: "/api/apps/{app}/users/{id}/sessions", def: "user", admin: true},
	{method: "POST", path: "/api/apps/{id}/broadcasts", def: "app", admin: true, body: `{"name":"news","owner_id":{bob}}`},
	{method: "GET", path: "/api/cluster", admin: true},
}

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}

// fuzzWorld is the seeded data: an app, two users with sessions, a group
// dialog with a few messages. It is made again when a request deleted or
// logged out one of its parts.
type fuzzWorld struct {
	app                  *accounts.App
	appToken             string
	alice, bob           *accounts.User
	aliceToken, bobToken string
	dialog               string
	message              string
}

type fuzzEnv struct {
	acc        *accounts.Service
	ds         *dialogs.Service
	ar         *history.Archive
	api, admin string
	client     *http.Client
	w          fuzzWorld
	generation int
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	ds := dialogs.NewService(db, db)
	ar := history.NewArchive(db, ds)
	// Lockouts are not what this test looks for: let every login through.
	guard := accounts.NewLoginGuard(accounts.LoginGuardConfig{AccountFreeFailures: 1 << 30, IPFreeFailures: 1 << 30, IPRate: -1})
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	api := httptest.NewServer(httpapi.New(httpapi.Config{Accounts: acc, Dialogs: ds, History: ar, Push: push.NewService(db, nil),
		MUCDomain: "muc.localhost", Log: log, LoginGuard: guard, Metrics: reg}))
	f.Cleanup(api.Close)
	admin := httptest.NewServer((&httpapi.Admin{Accounts: acc, Token: "admin-token", Version: "fuzz", Log: log,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), Ready: db.Ping, Sessions: func() int { return 0 },
		Dialogs: ds, Kick: func(int64, int64) int { return 0 }}).Handler())
	f.Cleanup(admin.Close)
	e := &fuzzEnv{acc: acc, ds: ds, ar: ar, api: api.URL, admin: admin.URL, client: &http.Client{Timeout: 30 * time.Second}}
	if err := e.seed(ctx); err != nil {
		f.Fatal(err)
	}
	return e
}

func (e *fuzzEnv) seed(ctx context.Context) error {
	e.generation++
	g := strconv.Itoa(e.generation)
	var w fuzzWorld
	var err error
	if w.app, err = e.acc.CreateApp(ctx, "fuzz"+g, accounts.AppOptions{DialogExtensions: []string{"color"}}); err != nil {
		return err
	}
	if _, w.appToken, _, err = e.acc.CreateSession(ctx, w.app.ID, w.app.AuthKey, nil); err != nil {
		return err
	}
	user := func(login string) (*accounts.User, string, error) {
		pw, email := login+"-password", login+"@example.com"
		u, err := e.acc.CreateUser(ctx, w.app.ID, accounts.UserInput{Login: &login, Password: &pw, Email: &email, FullName: &login})
		if err != nil {
			return nil, "", err
		}
		_, tok, _, err := e.acc.CreateSession(ctx, w.app.ID, w.app.AuthKey, &accounts.Login{Login: login, Password: pw})
		return u, tok, err
	}
	if w.alice, w.aliceToken, err = user("alice" + g); err != nil {
		return err
	}
	if w.bob, w.bobToken, err = user("bob" + g); err != nil {
		return err
	}
	group, name := dialogs.Group, "fuzz room"
	v, err := e.ds.Create(ctx, w.app.ID, w.alice.ID, dialogs.Input{Type: &group, Name: &name, Occupants: []int64{w.bob.ID}})
	if err != nil {
		return err
	}
	w.dialog = v.Dialog.ID
	for i, body := range []string{"hello there", "second message", "ok"} {
		sender := w.alice.ID
		if i == 1 {
			sender = w.bob.ID
		}
		p, err := e.ar.Send(ctx, w.app.ID, sender, history.Post{DialogID: w.dialog, Body: body, Save: true})
		if err != nil {
			return err
		}
		w.message = p.Message.ID
	}
	e.w = w
	return nil
}

// intact reports whether the seeded world survived the last request.
func (e *fuzzEnv) intact(ctx context.Context) bool {
	for _, tok := range []string{e.w.aliceToken, e.w.bobToken, e.w.appToken} {
		if _, err := e.acc.SessionByToken(ctx, tok); err != nil {
			return false
		}
	}
	if _, err := e.ds.Dialog(ctx, e.w.app.ID, e.w.dialog); err != nil {
		return false
	}
	msgs, _, err := e.ar.List(ctx, e.w.app.ID, e.w.alice.ID, e.w.dialog, history.Query{Limit: 1}, false)
	return err == nil && len(msgs) > 0
}

func (e *fuzzEnv) fill(s string) string {
	w := e.w
	return strings.NewReplacer("{app}", strconv.FormatInt(w.app.ID, 10), "{key}", w.app.AuthKey, "{login}", w.alice.Login,
		"{bob}", strconv.FormatInt(w.bob.ID, 10), "{dialog}", w.dialog, "{message}", w.message).Replace(s)
}

// request builds the fuzzed request; nil when the input is no valid URL.
func (e *fuzzEnv) request(route, method uint8, id, query, body string, auth uint8) *http.Request {
	rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
	m := rt.method
	if method%4 == 0 {
		m = fuzzMethods[int(method/4)%len(fuzzMethods)]
	}
	if id == "" {
		switch rt.def {
		case "dialog":
			id = e.w.dialog + ".json"
		case "message":
			id = e.w.message + ".json"
		case "user":
			id = strconv.FormatInt(e.w.bob.ID, 10) + ".json"
		case "self":
			id = strconv.FormatInt(e.w.alice.ID, 10) + ".json"
		case "app":
			id = strconv.FormatInt(e.w.app.ID, 10)
		case "sub":
			id = "1.json"
		}
	}
	path := e.fill(strings.Replace(rt.path, "{id}", url.PathEscape(id), 1))
	base := e.api
	if rt.admin {
		base = e.admin
	}
	target := base + path
	// pprof's ?seconds=N samples for N seconds: time, not a finding.
	if query != "" && !strings.HasPrefix(rt.path, "/debug/pprof") {
		target += "?" + e.fill(query)
	}
	req, err := http.NewRequest(m, target, strings.NewReader(e.fill(body)))
	if err != nil {
		return nil
	}
	req.Header.Set("Content-Type", "application/json")
	switch auth % 5 {
	case 0, 1:
		req.Header.Set("CB-Token", e.w.aliceToken)
	case 2:
		req.Header.Set("CB-Token", e.w.bobToken)
	case 3:
		req.Header.Set("CB-Token", e.w.appToken)
		req.Header.Set("CB-AuthKey", e.w.app.AuthKey)
	}
	if rt.admin && auth%5 != 4 {
		req.Header.Set("Authorization", "Bearer admin-token")
	}
	return req
}

// FuzzREST sends random requests to every route, with a user token, an app
// token or none, and fails on any 5xx or broken connection (a panic).
//
//	go test -run '^$' -fuzz FuzzREST -fuzztime 60s ./httpapi/
func FuzzREST(f *testing.F) {
	e := newFuzzEnv(f)
	for i, rt := range fuzzRoutes {
		f.Add(uint8(i), uint8(1), "", rt.query, rt.body, uint8(0))
		f.Add(uint8(i), uint8(1), "", rt.query, rt.body, uint8(3)) // app session
	}
	// Inputs at and past the limits.
	at := func(method, path string) uint8 {
		for i, rt := range fuzzRoutes {
			if rt.method == method && rt.path == path {
				return uint8(i)
			}
		}
		f.Fatalf("no route %s %s", method, path)
		return 0
	}
	many := strings.TrimSuffix(strings.Repeat("1,", 101), ",")
	f.Add(at("GET", "/users/v2.json"), uint8(1), "", "id[in]="+many, "", uint8(0))
	f.Add(at("GET", "/chat/Dialog.json"), uint8(1), "", "_id[in]="+strings.Repeat("a", 5000), "", uint8(0))
	f.Add(at("GET", "/chat/Dialog.json"), uint8(1), "", "name%00=x&extensions[a%01b]=1", "", uint8(0))
	f.Add(at("GET", "/chat/Dialog.json"), uint8(1), "", "extensions[a\"b]=1&updated_at[gt]=zzz&type[all]=1", "", uint8(0))
	f.Add(at("GET", "/chat/search.json"), uint8(1), "", "search_text="+strings.Repeat("x", 300), "", uint8(0))
	f.Add(at("DELETE", "/chat/Message/{id}"), uint8(1), many+".json", "", "", uint8(0))
	f.Add(at("POST", "/chat/Dialog.json"), uint8(1), "", "", `{"type":2,"name":"x","occupants_ids":[`+many+`]}`, uint8(0))

	f.Fuzz(func(t *testing.T, route, method uint8, id, query, body string, auth uint8) {
		ctx := context.Background()
		if !e.intact(ctx) {
			if err := e.seed(ctx); err != nil {
				t.Fatalf("reseeding: %v", err)
			}
		}
		req := e.request(route, method, id, query, body, auth)
		if req == nil {
			return
		}
		resp, err := e.client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) && strings.Contains(err.Error(), "invalid") {
				return // the client refused to send it
			}
			t.Fatalf("%s %s: %v (the server dropped the connection: a panic?)", req.Method, req.URL, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s body %q: %d %s", req.Method, req.URL, body, resp.StatusCode, b)
		}
	})
}
