package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
)

// Retraction (XEP-0424) by the author and moderation (XEP-0425) by a room
// moderator are the SDK's delete for everyone: gone from history, every
// occupant told in both forms.
func TestRetractionAndModeration(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	_, uc := e.user("cat", "cat-password")
	ta := e.token("ann", "ann-password")
	_, g := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":"%d, %d"}`, ub.ID, uc.ID))
	did, room := obj(g)["_id"].(string), obj(g)["xmpp_room_jid"].(string)
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	c := e.login(viaTLS, fmt.Sprintf("%d-%d", uc.ID, e.app.ID), "cat-password")
	save := `<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams>`
	history := func() int {
		_, page := e.rest(ta, "GET", "/chat/Message.json?chat_dialog_id="+did+"&mark_as_read=0", "")
		return len(items(page))
	}

	a.send(`<message to="` + room + `" type="groupchat" id="5f00000000000000000000f1"><body>oops</body>` + save + `</message>`)
	b.readUntil(`id="5f00000000000000000000f1"`)
	a.send(`<message to="` + room + `" type="groupchat" id="r1"><retract xmlns="urn:xmpp:message-retract:1" id="5f00000000000000000000f1"/><body>retracted</body></message>`)
	if got := b.readUntil(`id="r1"`); !strings.Contains(got, `<retract xmlns="urn:xmpp:message-retract:1" id="5f00000000000000000000f1"/>`) {
		t.Fatalf("retraction relayed: %s", got)
	}
	if n := history(); n != 0 {
		t.Fatalf("%d messages after the retraction", n)
	}

	b.send(`<message to="` + room + `" type="groupchat" id="5f00000000000000000000f2"><body>spam</body>` + save + `</message>`)
	a.readUntil(`id="5f00000000000000000000f2"`)
	moderate := `<moderate xmlns="urn:xmpp:message-moderate:1" id="5f00000000000000000000f2"><retract xmlns="urn:xmpp:message-retract:1"/><reason>spam</reason></moderate>`
	c.send(`<iq type="set" id="m0" to="` + room + `">` + moderate + `</iq>`)
	if got := c.readUntil(`id="m0"`); !strings.Contains(got, "forbidden") {
		t.Fatalf("a plain occupant moderated: %s", got)
	}
	a.send(`<iq type="set" id="m1" to="` + room + `">` + moderate + `</iq>`)
	a.readUntil(`id="m1"`)
	got := b.readUntil(`urn:xmpp:message-moderate:1`)
	for _, want := range []string{`from="` + room + `"`, `<retract xmlns="urn:xmpp:message-retract:1" id="5f00000000000000000000f2">`, `<reason>spam</reason>`, `<remove xmlns="urn:xmpp:message-delete:0" id="5f00000000000000000000f2"/>`} {
		if !strings.Contains(got, want) {
			t.Fatalf("moderation lacks %s: %s", want, got)
		}
	}
	if n := history(); n != 0 {
		t.Fatalf("%d messages after moderation", n)
	}
	// Unknown ids are refused.
	a.send(`<iq type="set" id="m2" to="` + room + `"><moderate xmlns="urn:xmpp:message-moderate:1" id="nope"><retract xmlns="urn:xmpp:message-retract:1"/></moderate></iq>`)
	if got := a.readUntil(`id="m2"`); !strings.Contains(got, "item-not-found") {
		t.Fatalf("moderating an unknown id: %s", got)
	}

	// REST delete for everyone reaches standard clients as a retraction.
	a.send(`<message to="` + room + `" type="groupchat" id="5f00000000000000000000f3"><body>x</body>` + save + `</message>`)
	b.readUntil(`id="5f00000000000000000000f3"`)
	if code, _ := e.rest(ta, "DELETE", "/chat/Message/5f00000000000000000000f3.json?force=1", ""); code != 200 {
		t.Fatalf("REST delete: %d", code)
	}
	if got := b.readUntil(`urn:xmpp:message-delete:0`); !strings.Contains(got, `<retract xmlns="urn:xmpp:message-retract:1" id="5f00000000000000000000f3"/>`) {
		t.Fatalf("REST delete as seen by a client: %s", got)
	}
}
