package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A user blocked with XEP-0191 reaches the blocker on no path: not over
// REST (send_to_chat, system notifications), not through the room address
// of their private dialog, not with directed presence or IQs to a full JID,
// and not by putting the blocker into a new dialog.
func TestBlockingOnEveryPath(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	_, uc := e.user("cat", "cat-password")
	ta := e.token("ann", "ann-password")
	code, d := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":3,"occupants_ids":"%d"}`, ub.ID))
	if code != 201 {
		t.Fatalf("private dialog: %d %v", code, d)
	}
	did := obj(d)["_id"].(string)
	room := fmt.Sprintf("%d_%s@muc.localhost", e.app.ID, did)
	code, g := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":"%d"}`, uc.ID))
	if code != 201 {
		t.Fatalf("group: %d %v", code, g)
	}
	gid := obj(g)["_id"].(string)
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	b.send(`<iq type="set" id="bl"><block xmlns="urn:xmpp:blocking"><item jid="` + aJID + `@localhost"/></block></iq>`)
	b.readUntil(`id="bl"`)
	b.nothing(100 * time.Millisecond)

	for _, tc := range []struct{ path, body string }{
		{"/chat/Message.json", fmt.Sprintf(`{"chat_dialog_id":%q,"message":"via rest","send_to_chat":1}`, did)},
		{"/chat/Message.json", fmt.Sprintf(`{"recipient_id":%d,"message":"via rest 2","send_to_chat":1}`, ub.ID)},
		{"/chat/Message/system.json", fmt.Sprintf(`{"recipientId":%d,"text":"via system"}`, ub.ID)},
		{"/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"trap","occupants_ids":"%d"}`, ub.ID)},
	} {
		if code, out := e.rest(ta, "POST", tc.path, tc.body); code != 403 {
			t.Fatalf("POST %s %s: %d %v, want 403", tc.path, tc.body, code, out)
		}
	}
	if code, out := e.rest(ta, "PUT", "/chat/Dialog/"+gid+".json", fmt.Sprintf(`{"push_all":{"occupants_ids":[%d]}}`, ub.ID)); code != 403 {
		t.Fatalf("adding the blocker to a group: %d %v", code, out)
	}

	a.send(`<message to="` + room + `" type="groupchat" id="g1"><body>via room</body></message>`)
	if got := a.readUntil(`id="g1"`); !strings.Contains(got, `type="error"`) {
		t.Fatalf("room address of the private dialog: %s", got)
	}
	a.send(`<presence to="` + b.jid + `"/>`)
	a.send(`<iq type="get" id="v1" to="` + b.jid + `"><query xmlns="jabber:iq:version"/></iq>`)
	if got := a.readUntil(`id="v1"`); !strings.Contains(got, "service-unavailable") {
		t.Fatalf("IQ to the blocker's full JID: %s", got)
	}
	b.nothing(300 * time.Millisecond)
}
