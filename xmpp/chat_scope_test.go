package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A 1-1 message to a user id that does not exist in the app is refused with
// item-not-found, and leaves no private dialog and no offline queue.
func TestNoPhantomRecipients(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	ta := e.token("ann", "ann-password")
	a := e.login(viaTLS, aJID, "ann-password")
	for i, extra := range []string{"", `<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams>`} {
		to := fmt.Sprintf("%d-%d@localhost", 90000+i, e.app.ID)
		a.send(fmt.Sprintf(`<message to="%s" type="chat" id="p%d"><body>hi</body>%s</message>`, to, i, extra))
		if got := a.readUntil(fmt.Sprintf(`id="p%d"`, i)); !strings.Contains(got, `type="error"`) || !strings.Contains(got, "item-not-found") {
			t.Fatalf("to an invented user: %s", got)
		}
		if n, _ := e.db.OfflineCount(t.Context(), e.app.ID, int64(90000+i)); n != 0 {
			t.Fatalf("%d offline messages kept for an invented user", n)
		}
	}
	if _, l := e.rest(ta, "GET", "/chat/Dialog.json", ""); len(items(l)) != 0 {
		t.Fatalf("dialogs with invented users: %v", l)
	}
}

// Message ids are only unique within a dialog: markers, edits and removals
// act in the pair's own dialog, never on another dialog's copy of an id;
// edits and removals of unknown ids are refused; a 1-1 message cannot be
// filed in a dialog it does not belong to.
func TestMessageIDsAreScopedToTheirDialog(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	mJID, _ := e.user("mal", "mal-password")
	_, uc := e.user("cat", "cat-password")
	ta, tb := e.token("ann", "ann-password"), e.token("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	m := e.login(viaTLS, mJID, "mal-password")
	const id = "5f00000000000000000000aa"
	save := `<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams>`
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="` + id + `"><body>from ann</body>` + save + `</message>`)
	b.readUntil(`from ann`)
	time.Sleep(20 * time.Millisecond)
	// Mallory files a newer message under the same id in her own dialog.
	m.send(`<message to="` + bJID + `@localhost" type="chat" id="` + id + `"><body>from mal</body>` + save + `</message>`)
	b.readUntil(`from mal`)

	// Ben reads Ann's message, saying no dialog: Ann's copy is marked.
	b.send(`<message to="` + aJID + `@localhost" type="chat" id="rd1"><displayed xmlns="urn:xmpp:chat-markers:0" id="` + id + `"/></message>`)
	a.readUntil(`id="rd1"`)
	_, dl := e.rest(ta, "GET", "/chat/Dialog.json", "")
	did := obj(items(dl)[0])["_id"].(string)
	_, page := e.rest(ta, "GET", "/chat/Message.json?chat_dialog_id="+did+"&mark_as_read=0", "")
	if got := fmt.Sprint(obj(items(page)[0])["read_ids"]); got != fmt.Sprintf("[%d]", ub.ID) {
		t.Fatalf("Ann's message read_ids %s after Ben's marker", got)
	}

	// Ann edits her message without a dialog id: hers, not Mallory's.
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="e1"><body>edited</body><replace xmlns="urn:xmpp:message-correct:0" id="` + id + `"/></message>`)
	b.readUntil(`id="e1"`)
	_, page = e.rest(tb, "GET", "/chat/Message.json?chat_dialog_id="+did+"&mark_as_read=0", "")
	if got := obj(items(page)[0])["message"]; got != "edited" {
		t.Fatalf("Ann's message after her edit: %v", got)
	}
	// Unknown ids are refused, not relayed.
	for i, el := range []string{`<replace xmlns="urn:xmpp:message-correct:0" id="nope"/>`, `<remove xmlns="urn:xmpp:message-delete:0" id="nope"/>`} {
		a.send(fmt.Sprintf(`<message to="%s@localhost" type="chat" id="u%d"><body>x</body>%s</message>`, bJID, i, el))
		if got := a.readUntil(fmt.Sprintf(`id="u%d"`, i)); !strings.Contains(got, "item-not-found") {
			t.Fatalf("edit/remove of an unknown id: %s", got)
		}
	}
	b.nothing(200 * time.Millisecond)

	// A 1-1 message tagged with a group Ann shares with Cat, not Ben.
	_, g := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":"%d"}`, uc.ID))
	gid := obj(g)["_id"].(string)
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="t1"><body>wrong dialog</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history><dialog_id>` + gid + `</dialog_id></extraParams></message>`)
	if got := a.readUntil(`id="t1"`); !strings.Contains(got, "forbidden") {
		t.Fatalf("1-1 message filed in a group: %s", got)
	}
	b.nothing(200 * time.Millisecond)
	if _, gp := e.rest(ta, "GET", "/chat/Message.json?chat_dialog_id="+gid, ""); len(items(gp)) != 0 {
		t.Fatalf("the group got the 1-1 message: %v", gp)
	}
}

// A message the archive stored carries its archive id (XEP-0359 stanza-id,
// the REST _id), by the recipient for 1-1 and by the room for groups; a
// stanza-id a client writes itself is removed.
func TestStoredMessagesCarryStanzaIDs(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	ta := e.token("ann", "ann-password")
	_, g := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":"%d"}`, ub.ID))
	room := obj(g)["xmpp_room_jid"].(string)
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	save := `<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams>`
	forged := `<stanza-id xmlns="urn:xmpp:sid:0" id="forged" by="` + bJID + `@localhost"/>`
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="5f00000000000000000000b1"><body>1-1</body>` + forged + save + `</message>`)
	got := b.readUntil(`id="5f00000000000000000000b1"`)
	if !strings.Contains(got, `<stanza-id xmlns="urn:xmpp:sid:0" id="5f00000000000000000000b1" by="`+bJID+`@localhost"/>`) || strings.Contains(got, "forged") {
		t.Fatalf("1-1 stored message: %s", got)
	}
	a.send(`<message to="` + room + `" type="groupchat" id="5f00000000000000000000b2"><body>room</body>` + save + `</message>`)
	got = b.readUntil(`id="5f00000000000000000000b2"`)
	if !strings.Contains(got, `<stanza-id xmlns="urn:xmpp:sid:0" id="5f00000000000000000000b2" by="`+room+`"/>`) {
		t.Fatalf("group stored message: %s", got)
	}
	// Not stored, no stanza id.
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="nostore"><body>x</body></message>`)
	if got := b.readUntil(`id="nostore"`); strings.Contains(got, "stanza-id") {
		t.Fatalf("unstored message with a stanza id: %s", got)
	}
}
