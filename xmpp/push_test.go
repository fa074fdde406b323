package xmpp_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/push"
)

// hookReceiver is a webhook endpoint that checks signatures.
type hookReceiver struct {
	t      *testing.T
	events chan push.Event
	fails  atomic.Int32 // answer 500 this many times first
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("X-Parley-Signature") != push.Sign([]byte("s3cret"), body) {
		h.t.Errorf("bad signature on %s", body)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if h.fails.Add(-1) >= 0 {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var ev push.Event
	json.Unmarshal(body, &ev)
	h.events <- ev
}

func (h *hookReceiver) next(d time.Duration) (push.Event, bool) {
	select {
	case ev := <-h.events:
		return ev, true
	case <-time.After(d):
		return push.Event{}, false
	}
}

func TestPushWebhook(t *testing.T) {
	e := newChatEnv(t)
	rcv := &hookReceiver{t: t, events: make(chan push.Event, 16)}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	wh := push.NewWebhook(push.WebhookConfig{URL: srv.URL, Secret: "s3cret", Backoff: 20 * time.Millisecond}, prometheus.NewRegistry())
	defer wh.Close()
	e.sender.set(wh)

	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	_, uc := e.user("cat", "cat-password")
	tb := e.token("ben", "ben-password")
	code, _ := e.rest(tb, "POST", "/subscriptions.json", `{"notification_channel":"apns","push_token":{"environment":"development","client_identification_sequence":"tok-ben"},"device":{"platform":"ios","udid":"dev-1"}}`)
	if code != 201 {
		t.Fatalf("subscribe %d", code)
	}
	a := e.login(viaTLS, aJID, "ann-password")

	// Ben is offline: a signed event with his device; the first attempt fails and is retried.
	rcv.fails.Store(1)
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="p1"><body>are you there?</body></message>`)
	ev, ok := rcv.next(3 * time.Second)
	if !ok {
		t.Fatal("no push for an offline recipient")
	}
	if fmt.Sprint(ev.Recipients) != fmt.Sprint([]int64{ub.ID}) || ev.Text != "are you there?" || ev.MessageID != "p1" || ev.DialogID == "" ||
		len(ev.Subscriptions) != 1 || ev.Subscriptions[0].Token != "tok-ben" {
		t.Fatalf("event %+v", ev)
	}
	// silent=1: none.
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="p2"><body>shh</body><extraParams xmlns="jabber:client"><silent>1</silent></extraParams></message>`)
	if ev, ok := rcv.next(300 * time.Millisecond); ok {
		t.Fatalf("push despite silent=1: %+v", ev)
	}
	// Online and active: none; inactive: one.
	b := e.login(viaWS, bJID, "ben-password")
	b.send(`<presence/>`)
	b.readUntil("p1") // offline delivery
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="p3"><body>live</body></message>`)
	b.readUntil(`id="p3"`)
	if ev, ok := rcv.next(300 * time.Millisecond); ok {
		t.Fatalf("push to an active client: %+v", ev)
	}
	b.send(`<inactive xmlns="urn:xmpp:csi:0"/>`)
	time.Sleep(50 * time.Millisecond)
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="p4"><body>backgrounded</body></message>`)
	if ev, ok := rcv.next(2 * time.Second); !ok || ev.MessageID != "p4" {
		t.Fatalf("no push for an inactive client: %+v", ev)
	}
	// Group: Cat muted the dialog, Ben is inactive: only Ben is pushed.
	_, d := e.rest(e.token("ann", "ann-password"), "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":[%d,%d]}`, ub.ID, uc.ID))
	did := obj(d)["_id"].(string)
	e.rest(e.token("cat", "cat-password"), "PUT", "/chat/Dialog/"+did+"/notifications.json", `{"enabled":0}`)
	a.send(`<message to="` + obj(d)["xmpp_room_jid"].(string) + `" type="groupchat" id="g1"><body>team</body></message>`)
	ev, ok = rcv.next(2 * time.Second)
	if !ok || ev.Type != "groupchat" || fmt.Sprint(ev.Recipients) != fmt.Sprint([]int64{ub.ID}) || ev.DialogID != did {
		t.Fatalf("group push %+v", ev)
	}
	if !strings.Contains(fmt.Sprint(ev.Subscriptions), "tok-ben") {
		t.Fatalf("subscriptions %+v", ev.Subscriptions)
	}
	// Devices can be listed and removed.
	_, subs := e.rest(tb, "GET", "/subscriptions.json", "")
	id := fmt.Sprint(num(obj(subs.([]any)[0])["subscription"].(map[string]any)["id"]))
	if code, _ := e.rest(tb, "DELETE", "/subscriptions/"+id+".json", ""); code != 200 {
		t.Fatalf("unsubscribe %d", code)
	}
}
