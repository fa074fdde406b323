package wire

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// seeds are real stanzas: ConnectyCube SDK captures, standard clients, and
// a few broken ones.
var seeds = []string{
	`<message from="5-77@localhost/res-41d4a79c" to="6-77@localhost" type="chat" id="6b01f3e38d07122ad9000000" xmlns="jabber:client"><body>hello &lt;b&gt;&amp;</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history><dialog_id>5c094c0ce588ce6856f87422</dialog_id><attachment uid="u1" type="image" size="100"/><custom><nested><deep>1</deep></nested><flag>true</flag></custom><empty></empty></extraParams></message>`,
	`<message to="77_5c09@muc.localhost" type="groupchat" id="x" xmlns="jabber:client"><body>hi group</body></message>`,
	`<message type="chat" id="m" to="6-77@localhost" xmlns="jabber:client"><received xmlns="urn:xmpp:chat-markers:0" id="orig"/><extraParams xmlns="jabber:client"><dialog_id>d</dialog_id></extraParams></message>`,
	`<iq type="set" id="vj206hq0c1" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>`,
	`<presence id="j:join" to="77_d@muc.localhost/5" xmlns="jabber:client"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`,
	`<iq type="set" id="e"><query xmlns="jabber:iq:privacy"><list name="l1"><item type="jid" value="6-77@localhost" action="deny" order="1"><message/><presence-in/></item></list></query></iq>`,
	`<message><tags><0>a</0><1>b</1></tags></message>`,
	`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" version="1.0" to="127.0.0.1"/>`,
	`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">ADUtNzcAcGFzcw==</auth>`,
	`<message><body><![CDATA[a < b]]></body><x:y xmlns:x="urn:x" x:a="1"/></message>`,
	`<?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="localhost" version="1.0">`,
	`</stream:stream>`,
	`<a><!-- no --></a>`, `<a b="<"/>`, `<a>&bogus;</a>`, `<a></b>`, "  \n ",
}

func TestSplitter(t *testing.T) {
	cases := []struct {
		name   string
		header bool
		in     string
		units  []Kind
		err    error
	}{
		{"element", false, `<a x='1'><b/>t</a>`, []Kind{KindElement}, nil},
		{"two elements and space", false, `<a/> <b></b>`, []Kind{KindElement, KindSpace, KindElement}, nil},
		{"header with declaration", true, `<?xml version='1.0'?> <stream:stream to="x">`, []Kind{KindStreamOpen}, nil},
		{"stream close", false, `</stream:stream>`, []Kind{KindStreamClose}, nil},
		{"gt in attribute", false, `<a x="a>b"/>`, []Kind{KindElement}, nil},
		{"cdata with markup", false, `<a><![CDATA[</a>]]></a>`, []Kind{KindElement}, nil},
		{"sdk numeric names isolate", false, `<m><t><0>a</0></t></m>`, []Kind{KindElement}, nil},
		{"comment", false, `<a><!-- x --></a>`, nil, ErrRestricted},
		{"processing instruction", false, `<a><?pi?></a>`, nil, ErrRestricted},
		{"text at top", false, `hello`, nil, ErrSyntax},
		{"too deep", false, strings.Repeat("<a>", 70), nil, ErrTooDeep},
		{"too large", false, `<a>` + strings.Repeat("x", 2000), nil, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Byte by byte, to prove the scan resumes correctly.
			s := Splitter{Header: tc.header, Max: 1024}
			var got []Kind
			var buf []byte
			var err error
			for i := 0; i < len(tc.in) && err == nil; i++ {
				buf = append(buf, tc.in[i])
				for err == nil {
					var n int
					var k Kind
					n, k, err = s.Next(buf)
					if n == 0 {
						break
					}
					got = append(got, k)
					buf = buf[n:]
				}
			}
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err == nil && !equalKinds(got, tc.units) {
				t.Fatalf("units %v, want %v", got, tc.units)
			}
		})
	}
}

func equalKinds(a, b []Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		content bool // isolatable error
		syntax  bool // stream-level error
	}{
		{"sdk message", seeds[0], false, false},
		{"prefixed extension", `<m><x:y xmlns:x="urn:x" x:a="1"/></m>`, false, false},
		{"numeric element name", `<m id="1"><t><0>a</0></t></m>`, true, false},
		{"undeclared prefix", `<m><y:z/></m>`, true, false},
		{"bad entity", `<m><b>&nope;</b></m>`, true, false},
		{"bad char ref", `<m><b>&#0;</b></m>`, true, false},
		{"control char", "<m><b>\x01</b></m>", true, false},
		{"mismatched", `<m><b></c></m>`, true, false},
		{"duplicate attribute", `<m a="1" a="2"/>`, false, true},
		{"child duplicate attribute", `<m><c a="1" a="2"/></m>`, true, false},
		{"unquoted top attribute", `<m a=1/>`, false, true},
		{"invalid utf-8", "<m><b>\xff</b></m>", true, false},
		{"xmlns prefix undeclare", `<m><c xmlns:p=""/></m>`, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p Parser
			var e Element
			err := p.Parse([]byte(tc.in), &e)
			switch {
			case tc.content && !errors.Is(err, ErrContent):
				t.Fatalf("want a content error, got %v", err)
			case tc.syntax && !errors.Is(err, ErrSyntax):
				t.Fatalf("want a syntax error, got %v", err)
			case !tc.content && !tc.syntax && err != nil:
				t.Fatalf("unexpected error %v", err)
			}
			if errors.Is(err, ErrContent) && len(e.Name) == 0 {
				t.Fatal("content error without the top-level name")
			}
		})
	}
}

func TestParseFindsChildren(t *testing.T) {
	var p Parser
	p.DefaultNS = []byte("jabber:client")
	var e Element
	if err := p.Parse([]byte(seeds[2]), &e); err != nil {
		t.Fatal(err)
	}
	c, ok := e.Child("received", "urn:xmpp:chat-markers:0")
	if !ok || string(e.Raw[c.Start:c.End]) != `<received xmlns="urn:xmpp:chat-markers:0" id="orig"/>` {
		t.Fatalf("child %+v %q", c, e.Raw[c.Start:c.End])
	}
	if x, _ := e.Child("extraParams", "jabber:client"); !strings.HasSuffix(string(e.Raw[x.Start:x.End]), "</extraParams>") {
		t.Fatalf("extraParams span %q", e.Raw[x.Start:x.End])
	}
	if v, _ := e.Attr("to"); v != "6-77@localhost" {
		t.Fatalf("to = %q", v)
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	var p Parser
	var e Element
	raw := []byte(seeds[0])
	p.Parse(raw, &e)
	if n := testing.AllocsPerRun(200, func() { p.Parse(raw, &e) }); n != 0 {
		t.Fatalf("Parse allocates %.1f times per stanza", n)
	}
}

// FuzzParse feeds arbitrary bytes through the splitter and the parser. They
// must never panic, units must lie inside the input, and whatever the parser
// accepts must be well-formed XML to a strict standard parser.
func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(seeds[10]+seeds[0]+seeds[11]), true)
	f.Fuzz(func(t *testing.T, in []byte, header bool) {
		s := Splitter{Header: header, Max: 1 << 16}
		var p Parser
		var e Element
		buf := in
		for len(buf) > 0 {
			n, kind, err := s.Next(buf)
			if err != nil || n == 0 {
				return
			}
			if n > len(buf) {
				t.Fatalf("unit of %d bytes in %d", n, len(buf))
			}
			unit := buf[:n]
			buf = buf[n:]
			if kind != KindElement {
				continue
			}
			if err := p.Parse(unit, &e); err != nil {
				continue
			}
			if len(e.Name) == 0 || e.TagEnd <= 0 || e.TagEnd >= len(unit) {
				t.Fatalf("accepted element without a sound start tag: %q", unit)
			}
			{
				d := xml.NewDecoder(bytes.NewReader(unit))
				d.Strict = true
				for {
					_, err := d.Token()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("accepted %q but encoding/xml says %v", unit, err)
					}
				}
			}
		}
	})
}

// Characters and names XML 1.0 forbids are refused as content errors (the
// stanza alone gets bad-request), whatever encoding/xml-based clients would
// choke on.
func TestParseRefusesNonXMLCharacters(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"<message><body>fine é 😀</body></message>", true},
		{"<message><body>\uFFFE</body></message>", false},
		{"<message><body a=\"\uFFFF\"/></message>", false},
		{"<message><body>\x01</body></message>", false},
		{"<message><b\u00e9/></message>", true},
		{"<message><b\u00d7/></message>", false}, // U+00D7 is no name character
		{"<message><x\u037e/></message>", false},
	} {
		var p Parser
		var e Element
		err := p.Parse([]byte(tc.in), &e)
		if (err == nil) != tc.ok {
			t.Errorf("Parse(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// A unit over Max is refused whether it arrives in pieces or whole.
func TestSplitterMaxIsExact(t *testing.T) {
	for _, size := range []int{100, 101, 150, 4000} {
		el := "<m>" + strings.Repeat("a", size-7) + "</m>"
		s := Splitter{Max: 100}
		n, _, err := s.Next([]byte(el))
		if size <= 100 && (err != nil || n != size) {
			t.Errorf("%d bytes under a 100 limit: n=%d err=%v", size, n, err)
		}
		if size > 100 && err != ErrTooLarge {
			t.Errorf("%d bytes under a 100 limit: n=%d err=%v, want ErrTooLarge", size, n, err)
		}
	}
}

// WithTo readdresses a relayed presence whatever its attributes hold.
func TestWithTo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<presence xmlns="jabber:client" from="a@x/r"/>`, `<presence xmlns="jabber:client" from="a@x/r" to="b@x"/>`},
		{`<presence xmlns="jabber:client" from="a@x/r" to="old@x"><status>hi</status></presence>`, `<presence xmlns="jabber:client" from="a@x/r" to="b@x"><status>hi</status></presence>`},
		{`<presence xmlns="jabber:client" from="a@x/r" id="a>b"><show>away</show></presence>`, `<presence xmlns="jabber:client" from="a@x/r" id="a>b" to="b@x"><show>away</show></presence>`},
	} {
		got := WithTo([]byte(tc.in), "b@x")
		if string(got) != tc.want {
			t.Errorf("WithTo(%s) = %s, want %s", tc.in, got, tc.want)
		}
		d := xml.NewDecoder(bytes.NewReader(got))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("ill-formed %s: %v", got, err)
			}
		}
	}
}
