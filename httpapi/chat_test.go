package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/storage/sqlite"
)

type chatAPI struct {
	t   *testing.T
	url string
	tok map[string]string
	id  map[string]int64
	ds  *dialogs.Service
	app int64
}

func newChatAPI(t *testing.T, users ...string) *chatAPI {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	app, _ := acc.CreateApp(ctx, "t", accounts.AppOptions{})
	ds := dialogs.NewService(db, db)
	ds.LargeDialog = 4
	ar := history.NewArchive(db, ds)
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Accounts: acc, Dialogs: ds, History: ar, MUCDomain: "muc.localhost", Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	c := &chatAPI{t: t, url: srv.URL, tok: map[string]string{}, id: map[string]int64{}, ds: ds, app: app.ID}
	for _, u := range users {
		pw := u + "-password"
		user, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &u, Password: &pw, FullName: &u})
		if err != nil {
			t.Fatal(err)
		}
		_, tok, _, err := acc.CreateSession(ctx, app.ID, app.AuthKey, &accounts.Login{Login: u, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		c.tok[u], c.id[u] = tok, user.ID
	}
	return c
}

func (c *chatAPI) do(user, method, path, body string) (int, any, string) {
	c.t.Helper()
	code, b := testenv.REST(c.t, method, c.url+path, c.tok[user], body)
	var v any
	json.Unmarshal(b, &v)
	return code, v, string(b)
}

func (c *chatAPI) dialog(user, body string) map[string]any {
	c.t.Helper()
	code, v, raw := c.do(user, "POST", "/chat/Dialog.json", body)
	if code != 201 {
		c.t.Fatalf("create %s: %d %s", body, code, raw)
	}
	return v.(map[string]any)
}

func ids(v any) []string {
	var out []string
	for _, it := range v.(map[string]any)["items"].([]any) {
		out = append(out, it.(map[string]any)["_id"].(string))
	}
	return out
}

func TestDialogEndpoints(t *testing.T) {
	c := newChatAPI(t, "ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal")
	u := c.id
	group := c.dialog("ann", fmt.Sprintf(`{"type":2,"name":"Team Alpha","occupants_ids":"%d, %d","extensions":{"color":"red"}}`, u["ben"], u["cat"]))
	gid := group["_id"].(string)
	priv := c.dialog("ann", fmt.Sprintf(`{"type":3,"occupants_ids":[%d]}`, u["ben"]))
	pid := priv["_id"].(string)
	pub := c.dialog("dan", `{"type":1,"name":"Lobby","permissions":{"allow_preview":true}}`)
	pubID := pub["_id"].(string)
	time.Sleep(1100 * time.Millisecond) // so updated_at filters can tell dialogs apart
	later := c.dialog("ann", fmt.Sprintf(`{"type":2,"name":"Later","occupants_ids":[%d]}`, u["cat"]))
	lid := later["_id"].(string)
	// The first three share a second or two; later is at least a second on.
	var cutoff time.Time
	for _, d := range []map[string]any{group, priv, pub} {
		if ts, _ := time.Parse(time.RFC3339, d["updated_at"].(string)); ts.After(cutoff) {
			cutoff = ts
		}
	}
	if lt, _ := time.Parse(time.RFC3339, later["created_at"].(string)); !lt.After(cutoff) {
		t.Fatalf("clock did not move: %v %v", lt, cutoff)
	}

	if group["user_id"].(float64) != float64(u["ann"]) || len(group["occupants_ids"].([]any)) != 3 || group["xmpp_room_jid"] != fmt.Sprintf("%d_%s@muc.localhost", c.app, gid) {
		t.Fatalf("created %v", group)
	}
	if strings.Trim(gid, "0123456789") == "" || strings.ContainsAny(gid, "_@/") {
		t.Fatalf("bad dialog id %q", gid)
	}

	lists := []struct {
		name, user, query string
		want              []string
	}{
		{"all of ann's, newest first", "ann", "", []string{lid, pid, gid}},
		{"type[in] with the SDK's sorted comma list", "ann", "?type[in]=2%2C3&sort_asc=created_at", []string{gid, pid, lid}},
		{"_id[in]", "ann", "?_id[in]=" + gid + "%2C" + pid + "&sort_asc=created_at", []string{gid, pid}},
		{"_id[] repeated", "ann", "?_id[]=" + gid + "&_id[]=" + lid + "&sort_asc=created_at", []string{gid, lid}},
		{"_id plain (use-chat)", "ann", "?_id=" + lid, []string{lid}},
		{"type ne", "ann", "?type[ne]=3&sort_asc=created_at", []string{gid, lid}},
		{"type nin", "ann", "?type[nin]=3,2", nil},
		{"name ctn", "ann", "?name[ctn]=alph", []string{gid}},
		{"extensions field", "ann", "?extensions[color]=red", []string{gid}},
		{"updated_at gt unix seconds", "ann", fmt.Sprintf("?updated_at[gt]=%d", cutoff.Unix()), []string{lid}},
		{"updated_at gt ISO", "ann", "?updated_at[gt]=" + cutoff.UTC().Format("2006-01-02T15:04:05Z"), []string{lid}},
		{"created_at lte", "ann", fmt.Sprintf("?created_at[lte]=%d&sort_asc=created_at", cutoff.Unix()), []string{gid, pid}},
		{"limit and skip", "ann", "?limit=1&skip=1&sort_asc=created_at", []string{pid}},
		{"occupants_ids all", "ann", fmt.Sprintf("?occupants_ids[all]=%d,%d", u["ben"], u["cat"]), []string{gid}},
		{"ben sees only his", "ben", "?sort_asc=created_at", []string{gid, pid}},
		{"public creator", "dan", "", []string{pubID}},
	}
	for _, tc := range lists {
		t.Run("list/"+tc.name, func(t *testing.T) {
			code, v, raw := c.do(tc.user, "GET", "/chat/Dialog.json"+tc.query, "")
			if code != 200 {
				t.Fatalf("%d %s", code, raw)
			}
			if got := ids(v); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
		})
	}
	t.Run("list/count", func(t *testing.T) {
		_, v, _ := c.do("ann", "GET", "/chat/Dialog.json?count=1", "")
		if v.(map[string]any)["items_count"] != float64(3) {
			t.Fatalf("%v", v)
		}
	})

	cases := []struct {
		name, user, method, path, body string
		want                           int
		check                          func(map[string]any) bool
	}{
		{"bad filter operator value", "ann", "GET", "/chat/Dialog.json?type[in]=x", "", 400, nil},
		{"unknown sort", "ann", "GET", "/chat/Dialog.json?sort_desc=nope", "", 400, nil},
		{"create without type", "ann", "POST", "/chat/Dialog.json", `{"name":"x"}`, 422, nil},
		{"group needs a name", "ann", "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"occupants_ids":[%d]}`, u["ben"]), 422, nil},
		{"unknown occupant", "ann", "POST", "/chat/Dialog.json", `{"type":2,"name":"x","occupants_ids":[999999]}`, 422, nil},
		{"too many admins", "ann", "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"x","occupants_ids":[%d,%d,%d,%d,%d,%d],"admins_ids":[%d,%d,%d,%d,%d,%d]}`,
			u["ben"], u["cat"], u["dan"], u["eve"], u["fay"], u["gus"], u["ben"], u["cat"], u["dan"], u["eve"], u["fay"], u["gus"]), 422, nil},
		{"broadcast is for operators", "ann", "POST", "/chat/Dialog.json", `{"type":4,"name":"x"}`, 403, nil},
		{"app session cannot chat", "nobody", "GET", "/chat/Dialog.json", "", 401, nil},
		{"empty body rejected cleanly", "ann", "POST", "/chat/Dialog.json", ``, 422, nil},
		{"member cannot rename", "ben", "PUT", "/chat/Dialog/" + gid + ".json", `{"name":"mine"}`, 403, nil},
		{"owner renames", "ann", "PUT", "/chat/Dialog/" + gid + ".json", `{"name":"Team A","extensions":{"color":null,"size":"L"}}`, 200, func(v map[string]any) bool {
			return v["name"] == "Team A" && fmt.Sprint(v["extensions"]) == "map[size:L]"
		}},
		{"member cannot add others", "ben", "PUT", "/chat/Dialog/" + gid + ".json", fmt.Sprintf(`{"push_all":{"occupants_ids":[%d]}}`, u["dan"]), 403, nil},
		{"owner adds occupants", "ann", "PUT", "/chat/Dialog/" + gid + ".json", fmt.Sprintf(`{"push_all":{"occupants_ids":[%d]}}`, u["dan"]), 200, func(v map[string]any) bool {
			return len(v["occupants_ids"].([]any)) == 4
		}},
		{"member may leave", "dan", "PUT", "/chat/Dialog/" + gid + ".json", fmt.Sprintf(`{"pull_all":{"occupants_ids":[%d]}}`, u["dan"]), 200, func(v map[string]any) bool {
			return len(v["occupants_ids"].([]any)) == 3
		}},
		{"only the owner changes admins", "ben", "PUT", "/chat/Dialog/" + gid + "/admins.json", fmt.Sprintf(`{"push_all":{"admins_ids":[%d]}}`, u["cat"]), 403, nil},
		{"owner adds an admin", "ann", "PUT", "/chat/Dialog/" + gid + "/admins.json", fmt.Sprintf(`{"push_all":{"admins_ids":[%d]}}`, u["ben"]), 200, func(v map[string]any) bool {
			return fmt.Sprint(v["admins_ids"]) == fmt.Sprintf("[%d]", u["ben"])
		}},
		{"admin renames", "ben", "PUT", "/chat/Dialog/" + gid + ".json", `{"name":"Team B","push_all":{"pinned_messages_ids":["m1"]}}`, 200, func(v map[string]any) bool {
			return v["name"] == "Team B" && fmt.Sprint(v["pinned_messages_ids"]) == "[m1]"
		}},
		{"private dialogs cannot be renamed", "ann", "PUT", "/chat/Dialog/" + pid + ".json", `{"name":"x"}`, 403, nil},
		{"outsider cannot see a group", "hal", "PUT", "/chat/Dialog/" + gid + ".json", `{"name":"x"}`, 404, nil},
		{"notifications off", "cat", "PUT", "/chat/Dialog/" + gid + "/notifications.json", `{"enabled":0}`, 200, nil},
		{"notifications read back", "cat", "GET", "/chat/Dialog/" + gid + "/notifications.json", "", 200, func(v map[string]any) bool {
			return fmt.Sprint(v["notifications"]) == "map[enabled:0]"
		}},
		{"subscribe to public", "eve", "POST", "/chat/Dialog/" + pubID + "/subscribe.json", "", 200, func(v map[string]any) bool {
			return v["occupants_count"] == float64(2)
		}},
		{"subscribe to a group is refused", "eve", "POST", "/chat/Dialog/" + gid + "/subscribe.json", "", 422, nil},
		{"public occupants", "hal", "GET", "/chat/Dialog/" + pubID + "/occupants.json?limit=5&skip=0", "", 200, func(v map[string]any) bool {
			return len(v["items"].([]any)) == 2
		}},
		{"unsubscribe", "eve", "DELETE", "/chat/Dialog/" + pubID + "/subscribe.json", "", 200, nil},
		{"force delete by non-owner", "ben", "DELETE", "/chat/Dialog/" + gid + ".json", "force=1", 403, nil},
		{"multi delete answer", "cat", "DELETE", "/chat/Dialog/" + lid + "," + pid + ",nosuchdialog1.json", "force=1", 200, func(v map[string]any) bool {
			return fmt.Sprint(v["WrongPermissions"]) == "map[ids:["+lid+"]]" && fmt.Sprint(v["NotFound"]) == "map[ids:["+pid+" nosuchdialog1]]"
		}},
		{"private delete for me", "ben", "DELETE", "/chat/Dialog/" + pid + ".json", "", 200, nil},
		{"group delete for me leaves", "cat", "DELETE", "/chat/Dialog/" + lid + ".json", "", 200, nil},
		{"owner force deletes", "ann", "DELETE", "/chat/Dialog/" + lid + ".json", "force=1", 200, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, v, raw := c.do(tc.user, tc.method, tc.path, tc.body)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, raw)
			}
			if tc.check != nil && !tc.check(v.(map[string]any)) {
				t.Fatalf("body %s", raw)
			}
			if code >= 400 {
				if _, ok := v.(map[string]any)["errors"]; !ok {
					t.Fatalf("error without {\"errors\": ...}: %s", raw)
				}
			}
		})
	}
	t.Run("after deletes", func(t *testing.T) {
		if _, v, _ := c.do("ben", "GET", "/chat/Dialog.json", ""); fmt.Sprint(ids(v)) != fmt.Sprint([]string{gid}) {
			t.Fatalf("ben %v", ids(v))
		}
		if _, v, _ := c.do("ann", "GET", "/chat/Dialog.json", ""); fmt.Sprint(ids(v)) != fmt.Sprint([]string{gid, pid}) {
			t.Fatalf("ann %v", ids(v))
		}
	})
}

func TestMessageEndpoints(t *testing.T) {
	c := newChatAPI(t, "ann", "ben", "cat", "hal")
	u := c.id
	g := c.dialog("ann", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":[%d,%d]}`, u["ben"], u["cat"]))
	gid := g["_id"].(string)
	send := func(user, body string) map[string]any {
		code, v, raw := c.do(user, "POST", "/chat/Message.json", body)
		if code != 201 {
			t.Fatalf("send: %d %s", code, raw)
		}
		return v.(map[string]any)
	}
	m1 := send("ann", `{"chat_dialog_id":"`+gid+`","message":"first apple","attachments":[{"type":"image","uid":"u1","size":100}],"flavour":"sweet"}`)
	m2 := send("ben", `{"chat_dialog_id":"`+gid+`","message":"second banana"}`)
	m3 := send("ann", `{"chat_dialog_id":"`+gid+`","message":"third apple pie"}`)
	if m1["flavour"] != "sweet" || fmt.Sprint(m1["attachments"]) != "[map[size:100 type:image uid:u1]]" || m1["date_sent"] == nil {
		t.Fatalf("created %v", m1)
	}
	p := send("ann", fmt.Sprintf(`{"recipient_id":%d,"message":"direct"}`, u["cat"]))
	if p["recipient_id"] != float64(u["cat"]) {
		t.Fatalf("private message %v", p)
	}
	list := func(user, q string) []string {
		t.Helper()
		code, v, raw := c.do(user, "GET", "/chat/Message.json?chat_dialog_id="+gid+q, "")
		if code != 200 {
			t.Fatalf("%d %s", code, raw)
		}
		var out []string
		for _, it := range v.(map[string]any)["items"].([]any) {
			out = append(out, it.(map[string]any)["message"].(string))
		}
		return out
	}
	unread := func(user string) float64 {
		_, v, _ := c.do(user, "GET", "/chat/Message/unread.json?chat_dialog_ids="+gid+"%2C%20nosuch", "")
		return v.(map[string]any)[gid].(float64)
	}
	if unread("cat") != 3 || unread("ben") != 1 {
		t.Fatalf("unread cat=%v ben=%v", unread("cat"), unread("ben"))
	}
	filters := []struct {
		name, q string
		want    []string
	}{
		{"ascending by default", "&mark_as_read=0", []string{"first apple", "second banana", "third apple pie"}},
		{"sort_desc", "&sort_desc=date_sent&mark_as_read=0", []string{"third apple pie", "second banana", "first apple"}},
		{"limit skip", "&limit=1&skip=1&mark_as_read=0", []string{"second banana"}},
		{"sender_id", fmt.Sprintf("&sender_id=%d&mark_as_read=0", u["ben"]), []string{"second banana"}},
		{"sender_id nin", fmt.Sprintf("&sender_id[nin]=%d&mark_as_read=0", u["ben"]), []string{"first apple", "third apple pie"}},
		{"message ctn", "&message[ctn]=apple&mark_as_read=0", []string{"first apple", "third apple pie"}},
		{"_id in with k[]", "&_id[]=" + m1["_id"].(string) + "&_id[]=" + m3["_id"].(string) + "&mark_as_read=0", []string{"first apple", "third apple pie"}},
		{"date_sent gt future", fmt.Sprintf("&date_sent[gt]=%d&mark_as_read=0", time.Now().Unix()+60), nil},
		{"attachments.type", "&attachments.type=image&mark_as_read=0", []string{"first apple"}},
	}
	for _, tc := range filters {
		t.Run(tc.name, func(t *testing.T) {
			if got := list("cat", tc.q); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
		})
	}
	if unread("cat") != 3 {
		t.Fatal("mark_as_read=0 marked messages read")
	}
	list("cat", "") // default marks read
	if unread("cat") != 0 {
		t.Fatalf("listing did not mark read: %v", unread("cat"))
	}
	_, v, _ := c.do("ann", "GET", "/chat/Message.json?chat_dialog_id="+gid+"&mark_as_read=0", "")
	first := v.(map[string]any)["items"].([]any)[0].(map[string]any)
	if fmt.Sprint(first["read_ids"]) != fmt.Sprintf("[%d]", u["cat"]) || first["read"] != float64(1) {
		t.Fatalf("read_ids %v", first)
	}

	cases := []struct {
		name, user, method, path, body string
		want                           int
	}{
		{"list needs a dialog", "ann", "GET", "/chat/Message.json", "", 422},
		{"outsider cannot list", "hal", "GET", "/chat/Message.json?chat_dialog_id=" + gid, "", 404},
		{"outsider cannot post", "hal", "POST", "/chat/Message.json", `{"chat_dialog_id":"` + gid + `","message":"x"}`, 403},
		{"ben marks all read", "ben", "PUT", "/chat/Message.json", `{"read":1,"chat_dialog_id":"` + gid + `"}`, 200},
		{"delivered by ids", "cat", "PUT", "/chat/Message/" + m2["_id"].(string) + "," + m3["_id"].(string) + ".json", `{"delivered":1}`, 200},
		{"only the author edits", "ben", "PUT", "/chat/Message/" + m1["_id"].(string) + ".json", `{"message":"hijack"}`, 403},
		{"author edits", "ann", "PUT", "/chat/Message/" + m1["_id"].(string) + ".json", `{"message":"first apple!"}`, 200},
		{"react", "ben", "PUT", "/chat/Message/" + m1["_id"].(string) + "/reactions.json", `{"add":"🔥"}`, 200},
		{"react needs something", "ben", "PUT", "/chat/Message/" + m1["_id"].(string) + "/reactions.json", `{}`, 422},
		{"force delete by a non-author member", "cat", "DELETE", "/chat/Message/" + m2["_id"].(string) + ".json", "force=1", 200},
		{"force delete by the author", "ann", "DELETE", "/chat/Message/" + p["_id"].(string) + ".json", "force=1", 200},
		{"delete for me", "cat", "DELETE", "/chat/Message/" + m3["_id"].(string) + ".json", "", 200},
		{"system message", "ann", "POST", "/chat/Message/system.json", fmt.Sprintf(`{"recipientId":%d,"param":"x"}`, u["ben"]), 201},
		{"search needs text", "ann", "GET", "/chat/search.json", "", 422},
		{"clear history", "ben", "DELETE", "/chat/Dialog/clearHistory/" + gid + ".json", "", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, raw := c.do(tc.user, tc.method, tc.path, tc.body)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, raw)
			}
		})
	}
	t.Run("state after the changes", func(t *testing.T) {
		// cat's forced delete of ben's message was refused (WrongPermissions).
		if got := list("ann", "&mark_as_read=0"); fmt.Sprint(got) != "[first apple! second banana third apple pie]" {
			t.Fatalf("ann sees %v", got)
		}
		if got := list("cat", "&mark_as_read=0"); fmt.Sprint(got) != "[first apple! second banana]" {
			t.Fatalf("cat sees %v", got)
		}
		if got := list("ben", "&mark_as_read=0"); len(got) != 0 {
			t.Fatalf("ben cleared his history but sees %v", got)
		}
		_, v, _ := c.do("ann", "GET", "/chat/Message/"+m1["_id"].(string)+"/reactions.json", "")
		if fmt.Sprint(v) != fmt.Sprintf("map[🔥:[%d]]", u["ben"]) {
			t.Fatalf("reactions %v", v)
		}
		_, v, _ = c.do("ann", "GET", "/chat/search.json?search_text=apple", "")
		res := v.(map[string]any)["results"].(map[string]any)
		if len(res["messages"].([]any)) != 2 {
			t.Fatalf("search %v", res)
		}
		_, v, _ = c.do("hal", "GET", "/chat/search.json?search_text=apple", "")
		if n := len(v.(map[string]any)["results"].(map[string]any)["messages"].([]any)); n != 0 {
			t.Fatalf("outsider found %d messages", n)
		}
		_, v, _ = c.do("cat", "GET", "/chat/Message/unread.json", "")
		if v.(map[string]any)["total"] == nil {
			t.Fatalf("unread %v", v)
		}
	})
}

func TestDialogExtensionsWhitelist(t *testing.T) {
	c := newChatAPI(t, "ann", "ben")
	c.ds.ExtensionKeys = func(context.Context, int64) []string { return []string{"color", "size"} }
	// Fields outside the allow-list are ignored, as the documentation says.
	d := c.dialog("ann", `{"type":2,"name":"x","extensions":{"color":"red","size":7,"weight":"9"}}`)
	if fmt.Sprint(d["extensions"]) != "map[color:red size:7]" {
		t.Fatalf("extensions %v", d["extensions"])
	}
}
