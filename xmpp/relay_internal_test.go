package xmpp

import (
	"testing"

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
