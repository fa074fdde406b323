package xmpp_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
)

// randomText mixes what breaks XML parsers (C0 controls, U+FFFE/U+FFFF,
// invalid UTF-8 and lone surrogates, markup characters) with ordinary and
// astral characters.
func randomText(r *rand.Rand) string {
	var b strings.Builder
	for n := r.IntN(12) + 1; n > 0; n-- {
		switch r.IntN(9) {
		case 0:
			b.WriteByte(byte(r.IntN(0x20)))
		case 1:
			b.WriteRune([]rune{0xFFFE, 0xFFFF, 0xFFFD, 0x85, 0x2028}[r.IntN(5)])
		case 2:
			b.WriteString([]string{"\xed\xa0\x80", "\xff", "\xc3", "\xef\xbf"}[r.IntN(4)])
		case 3:
			b.WriteString([]string{"<", ">", "&", `"`, "'", "]]>", "&amp;", "<!--"}[r.IntN(8)])
		case 4:
			b.WriteRune(rune(0x10000 + r.IntN(0xFFFF)))
		case 5:
			b.WriteRune(rune(0xA0 + r.IntN(0xD700)))
		default:
			b.WriteByte(byte('a' + r.IntN(26)))
		}
	}
	return b.String()
}

// strictlyWellFormed parses one stanza as a strict XML parser (encoding/xml,
// which checks characters and names as expat does) would.
func strictlyWellFormed(t *testing.T, el string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(el))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("ill-formed output (%v): %q", err, el)
		}
	}
}

// drainStrict reads everything that arrives within quiet and checks each
// element; it returns them.
func drainStrict(t *testing.T, c *client, quiet time.Duration) []string {
	t.Helper()
	var got []string
	for {
		k, s := c.readUnit(quiet)
		if k == 0 {
			return got
		}
		strictlyWellFormed(t, s)
		got = append(got, s)
	}
}

// Every path that writes XML is fed random Unicode: REST input (refused
// with 422 or delivered), the live pushes REST triggers called directly,
// and stanzas from a client; whatever reaches a stream parses strictly.
func TestNoIllFormedOutput(t *testing.T) {
	e := newChatEnv(t)
	aJID, ua := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	ta := e.token("ann", "ann-password")
	code, d := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":"%d"}`, ub.ID))
	if code != 201 {
		t.Fatalf("create dialog: %d %v", code, d)
	}
	did := obj(d)["_id"].(string)
	room := obj(d)["xmpp_room_jid"].(string)
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaWS, bJID, "ben-password")
	dlg, err := e.ds.Dialog(t.Context(), e.app.ID, did)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	refused, delivered := 0, 0
	for i := 0; i < 150; i++ {
		body, key, val, att := randomText(r), randomText(r), randomText(r), randomText(r)
		req, _ := json.Marshal(map[string]any{"chat_dialog_id": did, "message": body, "send_to_chat": 1,
			key: val, "attachments": []map[string]string{{"type": "image", "uid": att}}})
		// Marshal turns invalid UTF-8 into U+FFFD; the raw control and
		// non-characters stay, as \u escapes or bytes.
		code, out := e.rest(ta, "POST", "/chat/Message.json", string(req))
		switch {
		case code == 422:
			refused++
		case code == 201:
			delivered++
		default:
			t.Fatalf("REST message %q: %d %v", req, code, out)
		}
		drainStrict(t, b, 30*time.Millisecond)

		// The live pushes themselves, with nothing refused first.
		m := &history.Message{ID: dialogs.NewID(time.Now()), DialogID: did, SenderID: ua.ID, Body: body, DateSent: time.Now().Unix(),
			Custom: map[string]any{key: val, "n": map[string]any{key: val}}, Attachments: []map[string]string{{key: val, "uid": att}}}
		e.srv.Message(m, dlg)
		e.srv.Reaction(ua.ID, dlg, m, randomText(r), randomText(r))
		e.srv.System(e.app.ID, ua.ID, ub.ID, randomText(r), map[string]string{key: val, "text": body})
		e.srv.Removed(ua.ID, dlg, []string{randomText(r)})
		e.srv.Read(ub.ID, dlg, []history.Message{{ID: randomText(r), SenderID: ua.ID}})

		// A client's own stanza, with the random text escaped only where
		// the markup needs it: refused with an error or relayed.
		text := strings.NewReplacer("&", "&amp;", "<", "&lt;").Replace(body)
		a.send(`<message to="` + room + `" type="groupchat" id="x` + fmt.Sprint(i) + `"><body>` + text + `</body></message>`)
		a.send(`<message to="` + bJID + `@localhost" type="chat" id="y` + fmt.Sprint(i) + `"><body>` + text + `</body></message>`)
		drainStrict(t, a, 30*time.Millisecond)
		drainStrict(t, b, 30*time.Millisecond)
	}
	if refused == 0 || delivered == 0 {
		t.Fatalf("the generator is off: %d refused, %d delivered", refused, delivered)
	}
	// The streams survived all of it.
	a.send(`<iq type="get" id="alive"><ping xmlns="urn:xmpp:ping"/></iq>`)
	a.readUntil(`id="alive"`)
}
