package xmpp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/push"
	"github.com/parley-chat/parley/storage/sqlite"
	"github.com/parley-chat/parley/xmpp"
	xpushes "github.com/parley-chat/parley/xmpp/pushes"
)

// chatEnv is a full node: XMPP with the chat model plus the REST API, on
// one SQLite store.
type chatEnv struct {
	*env
	api    string
	ds     *dialogs.Service
	sender *lazySender
}

// lazySender lets a test plug a push sender in after the node started.
type lazySender struct {
	mu sync.Mutex
	to push.Sender
}

func (l *lazySender) Send(ev push.Event) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.to != nil && l.to.Send(ev)
}

func (l *lazySender) set(s push.Sender) {
	l.mu.Lock()
	l.to = s
	l.mu.Unlock()
}

func newChatEnv(t testing.TB) *chatEnv {
	var ce chatEnv
	var ds *dialogs.Service
	var archive *history.Archive
	var pushes *push.Service
	ce.sender = &lazySender{}
	ce.env = newEnvWith(t, func(d *sqlite.DB, cfg *xmpp.Config) {
		ds = dialogs.NewService(d, d)
		archive = history.NewArchive(d, ds)
		cfg.Dialogs, cfg.History, cfg.Offline = ds, archive, d
		cfg.Privacy = privacy.NewService(d, "localhost", "muc.localhost")
		ds.Blocking = cfg.Privacy
		cfg.Accounts = accounts.NewService(d)
		pushes = push.NewService(d, ce.sender)
		cfg.Modules = append(cfg.Modules, xpushes.New(pushes, ds, cfg.Privacy))
	})
	ce.ds = ds
	api := httptest.NewServer(httpapi.New(httpapi.Config{Accounts: ce.acc, Dialogs: ds, History: archive, Live: ce.srv, Push: pushes,
		MUCDomain: "muc.localhost", Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(api.Close)
	ce.api = api.URL
	return &ce
}

// rest calls the REST API as the SDK would and decodes JSON answers.
func (e *chatEnv) rest(token, method, path, body string) (int, any) {
	e.t.Helper()
	code, b := testenv.REST(e.t, method, e.api+path, token, body)
	var out any
	json.Unmarshal(b, &out)
	return code, out
}

func (e *chatEnv) token(login, password string) string {
	_, tok, _, err := e.acc.CreateSession(context.Background(), e.app.ID, e.app.AuthKey, &accounts.Login{Login: login, Password: password})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func items(v any) []any { l, _ := obj(v)["items"].([]any); return l }

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

// TestGroupChatLifecycle: a 3-user group where one message is stored once,
// fanned out, counted unread, marked delivered and read, edited, reacted to
// and deleted — every change visible live and over HTTP.
func TestGroupChatLifecycle(t *testing.T) {
	e := newChatEnv(t)
	aJID, ua := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	cJID, uc := e.user("cat", "cat-password")
	ta, tb, tc := e.token("ann", "ann-password"), e.token("ben", "ben-password"), e.token("cat", "cat-password")

	code, d := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"trio","occupants_ids":"%d, %d"}`, ub.ID, uc.ID))
	if code != 201 {
		t.Fatalf("create dialog: %d %v", code, d)
	}
	did := obj(d)["_id"].(string)
	room := obj(d)["xmpp_room_jid"].(string)
	if room != fmt.Sprintf("%d_%s@muc.localhost", e.app.ID, did) || len(obj(d)["occupants_ids"].([]any)) != 3 {
		t.Fatalf("dialog %v", d)
	}

	a := e.login(viaWS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	c := e.login(viaWS, cJID, "cat-password")

	// Sent to the room without joining; a retry of the same id is stored once.
	msg := `<message to="` + room + `" type="groupchat" id="5f0000000000000000000001" xmlns="jabber:client"><body>hello trio</body>` +
		`<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history><mood>good</mood><attachment uid="u1" type="image"/></extraParams></message>`
	a.send(msg)
	a.send(msg)
	from := room + "/" + fmt.Sprint(ua.ID)
	for _, cl := range []*client{b, c} {
		got := cl.expect("message", `id="5f0000000000000000000001"`)
		for _, want := range []string{`from="` + from + `"`, `type="groupchat"`, "<dialog_id>" + did + "</dialog_id>", "<date_sent>", "<mood>good</mood>"} {
			if !strings.Contains(got, want) {
				t.Fatalf("fan-out %s lacks %s", got, want)
			}
		}
	}
	a.readUntil(`from="` + from + `"`) // the sender's own echo

	_, page := e.rest(tb, "GET", "/chat/Message.json?chat_dialog_id="+did+"&mark_as_read=0", "")
	if len(items(page)) != 1 || obj(items(page)[0])["_id"] != "5f0000000000000000000001" || obj(items(page)[0])["mood"] != "good" {
		t.Fatalf("history after a retried send: %v", page)
	}
	unread := func(tok string) int64 {
		_, v := e.rest(tok, "GET", "/chat/Dialog.json", "")
		for _, it := range items(v) {
			if obj(it)["_id"] == did {
				return num(obj(it)["unread_messages_count"])
			}
		}
		t.Fatal("dialog missing from the list")
		return 0
	}
	if unread(tb) != 1 || unread(tc) != 1 || unread(ta) != 0 {
		t.Fatalf("unread ann=%d ben=%d cat=%d", unread(ta), unread(tb), unread(tc))
	}

	// Markers go 1-1 to the sender's user JID and update the history.
	marker := func(cl *client, kind string) {
		cl.send(`<message type="chat" to="` + aJID + `@localhost" id="mk` + kind + `"><` + kind + ` xmlns="urn:xmpp:chat-markers:0" id="5f0000000000000000000001"/>` +
			`<extraParams xmlns="jabber:client"><dialog_id>` + did + `</dialog_id></extraParams></message>`)
		a.expect("message", `id="mk`+kind+`"`)
	}
	marker(b, "received")
	marker(b, "displayed")
	if unread(tb) != 0 || unread(tc) != 1 {
		t.Fatalf("after ben read: ben=%d cat=%d", unread(tb), unread(tc))
	}
	_, page = e.rest(ta, "GET", "/chat/Message.json?chat_dialog_id="+did, "")
	m0 := obj(items(page)[0])
	if fmt.Sprint(m0["read_ids"]) != fmt.Sprintf("[%d]", ub.ID) || fmt.Sprint(m0["delivered_ids"]) != fmt.Sprintf("[%d]", ub.ID) {
		t.Fatalf("receipts %v", m0)
	}
	_, dl := e.rest(ta, "GET", "/chat/Dialog.json?_id="+did, "")
	if st := obj(items(dl)[0])["last_message_status"]; st != "read" {
		t.Fatalf("last_message_status %v", st)
	}

	// Edit by the author reaches everyone and changes the stored text.
	a.send(`<message to="` + room + `" type="groupchat" id="ed1"><body>hello, trio</body><replace xmlns="urn:xmpp:message-correct:0" id="5f0000000000000000000001" last="true"/></message>`)
	b.expect("message", `urn:xmpp:message-correct:0`)
	c.expect("message", `urn:xmpp:message-correct:0`)
	// Nobody else may edit it.
	b.send(`<message to="` + room + `" type="groupchat" id="ed2"><body>hijack</body><replace xmlns="urn:xmpp:message-correct:0" id="5f0000000000000000000001"/></message>`)
	if got := b.readUntil(`id="ed2"`); !strings.Contains(got, `code="403"`) {
		t.Fatalf("foreign edit: %s", got)
	}
	_, page = e.rest(tc, "GET", "/chat/Message.json?chat_dialog_id="+did+"&mark_as_read=0", "")
	if obj(items(page)[0])["message"] != "hello, trio" {
		t.Fatalf("edited text %v", items(page)[0])
	}

	// A reaction over REST is pushed live and listed.
	if code, _ := e.rest(tc, "PUT", "/chat/Message/5f0000000000000000000001/reactions.json", `{"add":"👍"}`); code != 200 {
		t.Fatalf("react %d", code)
	}
	if got := a.readUntil("<reactions"); !strings.Contains(got, `user_id="`+fmt.Sprint(uc.ID)+`"`) || !strings.Contains(got, `add="true" type="👍"`) {
		t.Fatalf("reaction push %s", got)
	}
	_, page = e.rest(tc, "GET", "/chat/Message.json?chat_dialog_id="+did+"&mark_as_read=0", "")
	if r := obj(obj(items(page)[0])["reactions"]); fmt.Sprint(r["own"]) != "[👍]" || num(obj(r["total"])["👍"]) != 1 {
		t.Fatalf("reactions %v", r)
	}
	_, rl := e.rest(ta, "GET", "/chat/Message/5f0000000000000000000001/reactions.json", "")
	if fmt.Sprint(obj(rl)["👍"]) != fmt.Sprintf("[%d]", uc.ID) {
		t.Fatalf("reaction list %v", rl)
	}

	// Delete by the author over XMPP: relayed and gone from history.
	a.send(`<message to="` + room + `" type="groupchat" id="del1"><remove xmlns="urn:xmpp:message-delete:0" id="5f0000000000000000000001"/></message>`)
	b.readUntil("urn:xmpp:message-delete:0")
	c.readUntil("urn:xmpp:message-delete:0")
	_, page = e.rest(tb, "GET", "/chat/Message.json?chat_dialog_id="+did, "")
	if len(items(page)) != 0 {
		t.Fatalf("deleted message still listed: %v", page)
	}

	// A non-occupant cannot post to the room: not-acceptable (XEP-0045 7.4).
	dJID, _ := e.user("dan", "dan-password")
	dc := e.login(viaTLS, dJID, "dan-password")
	dc.send(`<message to="` + room + `" type="groupchat" id="x1"><body>let me in</body></message>`)
	if got := dc.expect("message", `type="error"`); !strings.Contains(got, `<not-acceptable`) {
		t.Fatalf("non-occupant: %s", got)
	}
	b.nothing(200 * time.Millisecond)
}

// TestPrivateChatCreatesDialog: the first 1-1 message without a dialog id
// creates the private dialog; the relayed copy carries it.
func TestPrivateChatCreatesDialog(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaWS, bJID, "ben-password")
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="p1"><body>hi ben</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams></message>`)
	got := b.expect("message", `id="p1"`)
	i := strings.Index(got, "<dialog_id>")
	if i < 0 {
		t.Fatalf("no dialog_id in %s", got)
	}
	did := got[i+11 : i+11+24]
	tb := e.token("ben", "ben-password")
	_, v := e.rest(tb, "GET", "/chat/Dialog.json", "")
	if len(items(v)) != 1 || obj(items(v)[0])["_id"] != did || num(obj(items(v)[0])["type"]) != 3 || num(obj(items(v)[0])["unread_messages_count"]) != 1 {
		t.Fatalf("dialogs %v", v)
	}
	// Creating the same private dialog over REST returns the same one.
	code, d := e.rest(e.token("ann", "ann-password"), "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":3,"occupants_ids":[%d]}`, ub.ID))
	if code != 201 || obj(d)["_id"] != did || obj(d)["xmpp_room_jid"] != nil {
		t.Fatalf("private dialog is not unique: %d %v", code, d)
	}
	// Listing marks read and tells the sender with a displayed marker.
	e.rest(tb, "GET", "/chat/Message.json?chat_dialog_id="+did, "")
	if got := a.readUntil("displayed"); !strings.Contains(got, `id="p1"`) {
		t.Fatalf("read marker %s", got)
	}
	// Offline recipient: the stored message is not bounced.
	b.nc.Close()
	time.Sleep(100 * time.Millisecond)
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="p2"><body>later</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams></message>`)
	a.nothing(300 * time.Millisecond)
}

func TestMUCJoinLeaveAndOnlineOccupants(t *testing.T) {
	e := newChatEnv(t)
	aJID, ua := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	cJID, _ := e.user("cat", "cat-password")
	_, d := e.rest(e.token("ann", "ann-password"), "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"duo","occupants_ids":[%d]}`, ub.ID))
	room := obj(d)["xmpp_room_jid"].(string)
	a := e.login(viaWS, aJID, "ann-password")
	b := e.login(viaWS, bJID, "ben-password")
	c := e.login(viaWS, cJID, "cat-password")

	a.send(`<presence id="j1:join" to="` + room + `/` + fmt.Sprint(ua.ID) + `"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`)
	self := a.expect("presence", `id="j1:join"`)
	for _, want := range []string{`<x xmlns="http://jabber.org/protocol/muc#user"><xmlns><code>110</code></xmlns>`, `<status code="110"/>`, `affiliation="owner"`} {
		if !strings.Contains(self, want) {
			t.Fatalf("self-presence %s lacks %s", self, want)
		}
	}
	b.send(`<presence id="j2:join" to="` + room + `/` + fmt.Sprint(ub.ID) + `"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	b.readUntil(`id="j2:join"`)
	if got := a.expect("presence", room+"/"+fmt.Sprint(ub.ID)); strings.Contains(got, "<xmlns>") {
		t.Fatalf("occupant presence carries the self-only element: %s", got)
	}
	// A non-occupant is refused the way the SDK understands.
	c.send(`<presence id="j3:join" to="` + room + `/99"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	got := c.expect("presence", `type="error"`)
	if !strings.Contains(got, `<x xmlns="http://jabber.org/protocol/muc"/><error`) || !strings.Contains(got, `code="403"`) || !strings.Contains(got, "Not occupant") {
		t.Fatalf("join error %s", got)
	}
	// disco#items lists the occupants online now.
	a.send(`<iq type="get" id="di1" to="` + room + `"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>`)
	items := a.readUntil(`id="di1"`)
	if !strings.Contains(items, room+"/"+fmt.Sprint(ua.ID)) || !strings.Contains(items, room+"/"+fmt.Sprint(ub.ID)) {
		t.Fatalf("disco#items %s", items)
	}
	b.send(`<presence type="unavailable" to="` + room + `/` + fmt.Sprint(ub.ID) + `"/>`)
	if got := b.readUntil(`type="unavailable"`); !strings.Contains(got, "<xmlns><code>110</code></xmlns>") {
		t.Fatalf("leave answer %s", got)
	}
	a.readUntil(`type="unavailable"`)
}

func TestBroadcastDialog(t *testing.T) {
	e := newChatEnv(t)
	aJID, ua := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	d, err := e.ds.CreateBroadcast(context.Background(), e.app.ID, ua.ID, "News")
	if err != nil {
		t.Fatal(err)
	}
	room := dialogs.RoomJID(e.app.ID, d.ID, "muc.localhost")
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaWS, bJID, "ben-password")
	// Ben never joined or subscribed: a broadcast reaches every user.
	a.send(`<message to="` + room + `" type="groupchat" id="news1"><body>release day</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams></message>`)
	b.expect("message", `id="news1"`)
	b.send(`<message to="` + room + `" type="groupchat" id="news2"><body>me too</body></message>`)
	if got := b.expect("message", `id="news2"`); !strings.Contains(got, `code="403"`) {
		t.Fatalf("a reader posted to a broadcast: %s", got)
	}
	_, v := e.rest(e.token("ben", "ben-password"), "GET", "/chat/Dialog.json", "")
	if len(items(v)) != 1 || obj(items(v)[0])["_id"] != d.ID || num(obj(items(v)[0])["unread_messages_count"]) != 1 {
		t.Fatalf("ben's list %v", v)
	}
}
