package xmpp

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"
	"time"

	"github.com/parley-chat/parley/xmpp/wire"
)

// TestRelayBytes: the relayed copy carries the stamp inside extraParams in
// each of the three shapes a message comes in, and costs two allocations
// (the rewritten start tag and the final copy), since it runs per message.
func TestRelayBytes(t *testing.T) {
	const extra = `<dialog_id>d1</dialog_id>`
	for _, tc := range []struct{ in, want string }{
		{`<message to="b@x" id="1"><body>hi</body></message>`,
			`<message xmlns="jabber:client" from="a@x/r" to="b@x" id="1"><body>hi</body><extraParams xmlns="jabber:client"><dialog_id>d1</dialog_id></extraParams></message>`},
		{`<message to="b@x" id="2"><body>hi</body><extraParams xmlns="jabber:client"><k>v</k></extraParams></message>`,
			`<message xmlns="jabber:client" from="a@x/r" to="b@x" id="2"><body>hi</body><extraParams xmlns="jabber:client"><k>v</k><dialog_id>d1</dialog_id></extraParams></message>`},
		{`<message to="b@x" id="3"><body>hi</body><extraParams xmlns="jabber:client"/></message>`,
			`<message xmlns="jabber:client" from="a@x/r" to="b@x" id="3"><body>hi</body><extraParams xmlns="jabber:client"><dialog_id>d1</dialog_id></extraParams></message>`},
	} {
		var p wire.Parser
		p.DefaultNS = nsClientBytes
		var e wire.Element
		if err := p.Parse([]byte(tc.in), &e); err != nil {
			t.Fatal(err)
		}
		m := readChat(&e)
		if got := string(relayBytes(&e, "a@x/r", nil, m, extra)); got != tc.want {
			t.Errorf("relay of %s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if n := testing.AllocsPerRun(100, func() { relayBytes(&e, "a@x/r", nil, m, extra) }); n > 2 {
			t.Errorf("relay of %s: %v allocations, want at most 2", tc.in, n)
		}
	}
}

// FuzzRelay: whatever stanza the parser accepts from a client, every copy
// the server builds from it (the relayed message with its stamp, the error
// reply naming its id and recipient, the offline copy with a delay stamp)
// is well-formed to a strict parser.
func FuzzRelay(f *testing.F) {
	for _, s := range []string{
		`<message to="b@x" id="1"><body>hi</body></message>`,
		`<message to="b@x" id="2" xml:lang="en"><body>a &amp; b</body><extraParams xmlns="jabber:client"><k>v</k></extraParams></message>`,
		`<message to="b@x" id="3"><body>hi</body><extraParams xmlns="jabber:client"/></message>`,
		`<iq type="get" id="q" to="x"><query xmlns="jabber:iq:version"/></iq>`,
		`<presence><status>&#x1F600; ok</status><p:x xmlns:p="urn:x" p:a="1"/></presence>`,
		"<message id=\"\u00e9\"><b\u00e9>\ufffd</b\u00e9></message>",
	} {
		f.Add([]byte(s), "d1", "1700000000")
	}
	f.Fuzz(func(t *testing.T, in []byte, dialogID, date string) {
		var p wire.Parser
		p.DefaultNS = nsClientBytes
		var e wire.Element
		if len(in) > 1<<16 || p.Parse(in, &e) != nil {
			return
		}
		m := readChat(&e)
		id, _ := e.Attr("id")
		to, _ := e.Attr("to")
		extra := elem("dialog_id", dialogID) + elem("date_sent", date)
		outs := [][]byte{
			rewriteFrom(&e, "a@x/r", []byte(` xmlns:stream="http://etherx.jabber.org/streams"`)),
			relayBytes(&e, "a@x/r", nil, m, extra),
			errorStanza(string(e.Local), id, to, "a@x/r", errBadRequest),
			withDelay(relayBytes(&e, "a@x/r", nil, m, extra), "x", time.Unix(0, 0)),
		}
		for _, out := range outs {
			d := xml.NewDecoder(bytes.NewReader(out))
			d.Strict = true
			for {
				_, err := d.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("input %q gave ill-formed output (%v): %q", in, err, out)
				}
			}
		}
	})
}
