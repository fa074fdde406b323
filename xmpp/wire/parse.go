package wire

import (
	"bytes"
	"encoding/xml"
	"errors"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/xmltext"
)

// ErrContent marks an element whose top-level start tag is sound but whose
// content is not: the stanza is isolated and can be refused on its own
// (bad-request) while the stream goes on.
var ErrContent = errors.New("wire: malformed stanza content")

// contentError wraps a reason so errors.Is(err, ErrContent) holds.
type contentError struct{ reason string }

func (e *contentError) Error() string        { return "wire: malformed stanza content: " + e.reason }
func (e *contentError) Is(target error) bool { return target == ErrContent }

// syntaxError is a malformed top-level start tag: the stream must end.
type syntaxError struct{ reason string }

func (e *syntaxError) Error() string        { return "wire: not well-formed XML: " + e.reason }
func (e *syntaxError) Is(target error) bool { return target == ErrSyntax }

// Attr is one attribute of the top-level start tag, as sent.
type Attr struct {
	Name  []byte // qualified name
	Value []byte // still escaped
	// Start and End delimit the attribute in Element.Raw, from the
	// whitespace before its name to its closing quote.
	Start, End int
}

// Child is a direct child element of the top-level element.
type Child struct {
	Local []byte
	NS    []byte // resolved namespace
	Start int    // offset of '<' in Element.Raw
	End   int    // offset just past the child's end in Element.Raw
}

// Element is a parsed top-level element. Its slices point into Raw and into
// the Parser's scratch space: they are valid until the next Parse.
type Element struct {
	Raw         []byte
	Name        []byte // qualified name
	Local       []byte
	NS          []byte // resolved namespace (the stream default when undeclared)
	Attrs       []Attr
	TagEnd      int // offset of the '>' (or "/>") that ends the start tag
	SelfClosing bool
	Children    []Child
}

// Attr returns the unescaped value of the top-level attribute named name.
func (e *Element) Attr(name string) (string, bool) {
	for i := range e.Attrs {
		if string(e.Attrs[i].Name) == name {
			return Unescape(e.Attrs[i].Value), true
		}
	}
	return "", false
}

// Child returns the first direct child with the given local name (and
// namespace, unless ns is "").
func (e *Element) Child(local, ns string) (Child, bool) {
	for _, c := range e.Children {
		if string(c.Local) == local && (ns == "" || string(c.NS) == ns) {
			return c, true
		}
	}
	return Child{}, false
}

type nsDecl struct {
	prefix []byte // nil for the default namespace
	ns     []byte
	depth  int
}

// Parser checks elements. Its scratch space is reused, so a steady stream of
// stanzas parses without allocating. Not safe for concurrent use.
type Parser struct {
	// DefaultNS is the namespace of unprefixed elements with no xmlns in
	// scope (jabber:client on a client stream).
	DefaultNS []byte
	// Prefixes declared on the stream header, in scope for every element.
	Prefixes map[string][]byte

	scope    []nsDecl
	names    [][]byte
	attrs    []Attr
	children []Child
	seen     [][]byte
}

var (
	nsXML      = []byte("http://www.w3.org/XML/1998/namespace")
	prefXML    = []byte("xml")
	prefXMLNS  = []byte("xmlns")
	errNoClose = &syntaxError{"unterminated start tag"}
)

// Parse checks raw, which must hold exactly one complete element (leading
// whitespace allowed), and fills e.
func (p *Parser) Parse(raw []byte, e *Element) error {
	*e = Element{Raw: raw, Attrs: p.attrs[:0], Children: p.children[:0]}
	p.scope = p.scope[:0]
	p.names = p.names[:0]
	i := 0
	for i < len(raw) && isSpace(raw[i]) {
		i++
	}
	if i == len(raw) || raw[i] != '<' {
		return &syntaxError{"expected '<'"}
	}
	depth := 0
	first := true
	for i < len(raw) {
		c := raw[i]
		if c != '<' {
			// Character data.
			j := bytes.IndexByte(raw[i:], '<')
			if j < 0 {
				j = len(raw) - i
			}
			if depth == 0 {
				if !allSpace(raw[i : i+j]) {
					return &contentError{"text after the element"}
				}
			} else if err := checkText(raw[i : i+j]); err != nil {
				return err
			}
			i += j
			continue
		}
		if i+1 >= len(raw) {
			return p.fail(first, "truncated markup")
		}
		switch raw[i+1] {
		case '/':
			end := bytes.IndexByte(raw[i:], '>')
			if end < 0 {
				return p.fail(first, "unterminated end tag")
			}
			name := trimRightSpace(raw[i+2 : i+end])
			if depth == 0 || !bytes.Equal(name, p.names[len(p.names)-1]) {
				return &contentError{"mismatched end tag"}
			}
			if depth == 2 && len(e.Children) > 0 {
				e.Children[len(e.Children)-1].End = i + end + 1
			}
			p.names = p.names[:len(p.names)-1]
			p.popScope(depth)
			depth--
			i += end + 1
			if depth == 0 {
				if !allSpace(raw[i:]) {
					return &contentError{"data after the element"}
				}
				return p.finish(e)
			}
		case '!':
			if !bytes.HasPrefix(raw[i+2:], []byte(cdataOpen)) || depth == 0 {
				return p.fail(first, "comments and DTDs are not allowed")
			}
			end := bytes.Index(raw[i:], []byte("]]>"))
			if end < 0 {
				return &contentError{"unterminated CDATA"}
			}
			if err := checkChars(raw[i+9 : i+end]); err != nil {
				return err
			}
			i += end + 3
		case '?':
			return p.fail(first, "processing instructions are not allowed")
		default:
			n, self, err := p.startTag(raw, i, depth, first, e)
			if err != nil {
				return err
			}
			first = false
			i = n
			if self {
				if depth == 0 {
					e.SelfClosing = true
					if !allSpace(raw[i:]) {
						return &contentError{"data after the element"}
					}
					return p.finish(e)
				}
				if depth == 1 {
					e.Children[len(e.Children)-1].End = i
				}
				p.popScope(depth + 1)
				continue
			}
			depth++
		}
	}
	if first {
		return errNoClose
	}
	return &contentError{"unterminated element"}
}

func (p *Parser) fail(first bool, reason string) error {
	if first {
		return &syntaxError{reason}
	}
	return &contentError{reason}
}

func (p *Parser) finish(e *Element) error {
	p.attrs, p.children = e.Attrs[:0], e.Children[:0]
	if !utf8.Valid(e.Raw) {
		return &contentError{"invalid UTF-8"}
	}
	// U+FFFE and U+FFFF are valid UTF-8 but not XML characters.
	if bytes.Contains(e.Raw, nonCharFFFE) || bytes.Contains(e.Raw, nonCharFFFF) {
		return &contentError{"character not allowed in XML"}
	}
	return nil
}

var nonCharFFFE, nonCharFFFF = []byte("\uFFFE"), []byte("\uFFFF")

func (p *Parser) popScope(depth int) {
	for len(p.scope) > 0 && p.scope[len(p.scope)-1].depth >= depth {
		p.scope = p.scope[:len(p.scope)-1]
	}
}

func (p *Parser) lookup(prefix []byte) ([]byte, bool) {
	for k := len(p.scope) - 1; k >= 0; k-- {
		if bytes.Equal(p.scope[k].prefix, prefix) && (prefix != nil) == (p.scope[k].prefix != nil) {
			return p.scope[k].ns, true
		}
	}
	if prefix == nil {
		return p.DefaultNS, true
	}
	if bytes.Equal(prefix, prefXML) {
		return nsXML, true
	}
	if ns, ok := p.Prefixes[string(prefix)]; ok {
		return ns, true
	}
	return nil, false
}

// startTag parses the start tag at raw[i] (a '<'). It returns the offset
// just past it and whether it was self-closing.
func (p *Parser) startTag(raw []byte, i, depth int, top bool, e *Element) (int, bool, error) {
	bad := func(reason string) (int, bool, error) {
		if top {
			return 0, false, &syntaxError{reason}
		}
		return 0, false, &contentError{reason}
	}
	j := i + 1
	n := scanName(raw[j:])
	if n == 0 {
		return bad("invalid element name")
	}
	name := raw[j : j+n]
	if !nameOK(name) {
		return bad("invalid element name")
	}
	j += n
	p.seen = p.seen[:0]
	d := depth + 1
	for {
		attrStart := j
		sp := j
		for j < len(raw) && isSpace(raw[j]) {
			j++
		}
		if j >= len(raw) {
			return bad("unterminated start tag")
		}
		if raw[j] == '>' || (raw[j] == '/' && j+1 < len(raw) && raw[j+1] == '>') {
			self := raw[j] == '/'
			if top {
				e.TagEnd = j
			}
			prefix, local := splitQName(name)
			if prefix != nil && bytes.Equal(prefix, prefXMLNS) {
				return bad("element uses the xmlns prefix")
			}
			ns, ok := p.lookup(prefix)
			if !ok {
				return bad("undeclared namespace prefix")
			}
			for _, a := range p.seen {
				if ap, _ := splitQName(a); ap != nil && !bytes.Equal(ap, prefXMLNS) {
					if _, ok := p.lookup(ap); !ok {
						return bad("undeclared attribute prefix")
					}
				}
			}
			switch {
			case top:
				e.Name, e.Local, e.NS = name, local, ns
			case depth == 1:
				e.Children = append(e.Children, Child{Local: local, NS: ns, Start: i})
			}
			if self {
				return j + 2, true, nil
			}
			p.names = append(p.names, name)
			return j + 1, false, nil
		}
		if sp == j {
			return bad("missing space before attribute")
		}
		an := scanName(raw[j:])
		if an == 0 {
			return bad("invalid attribute name")
		}
		aname := raw[j : j+an]
		if !nameOK(aname) {
			return bad("invalid attribute name")
		}
		j += an
		for j < len(raw) && isSpace(raw[j]) {
			j++
		}
		if j >= len(raw) || raw[j] != '=' {
			return bad("attribute without value")
		}
		j++
		for j < len(raw) && isSpace(raw[j]) {
			j++
		}
		if j >= len(raw) || (raw[j] != '"' && raw[j] != '\'') {
			return bad("unquoted attribute value")
		}
		q := raw[j]
		end := bytes.IndexByte(raw[j+1:], q)
		if end < 0 {
			return bad("unterminated attribute value")
		}
		val := raw[j+1 : j+1+end]
		j += end + 2
		if bytes.IndexByte(val, '<') >= 0 {
			return bad("'<' in attribute value")
		}
		if err := checkText(val); err != nil {
			if top {
				return 0, false, &syntaxError{"bad attribute value"}
			}
			return 0, false, err
		}
		for _, s := range p.seen {
			if bytes.Equal(s, aname) {
				return bad("duplicate attribute")
			}
		}
		p.seen = append(p.seen, aname)
		switch ap, al := splitQName(aname); {
		case ap == nil && bytes.Equal(al, prefXMLNS):
			p.scope = append(p.scope, nsDecl{prefix: nil, ns: val, depth: d})
		case ap != nil && bytes.Equal(ap, prefXMLNS):
			if len(val) == 0 || bytes.Equal(al, prefXMLNS) || bytes.Equal(al, prefXML) {
				return bad("invalid namespace declaration")
			}
			p.scope = append(p.scope, nsDecl{prefix: al, ns: val, depth: d})
		}
		if top {
			e.Attrs = append(e.Attrs, Attr{Name: aname, Value: val, Start: attrStart, End: j})
		}
	}
}

// splitQName splits "p:local"; prefix is nil when there is none.
func splitQName(n []byte) (prefix, local []byte) {
	if k := bytes.IndexByte(n, ':'); k > 0 {
		return n[:k], n[k+1:]
	}
	return nil, n
}

// scanName returns the length of the XML name at the start of b, 0 if none.
// Non-ASCII bytes are accepted as name characters (UTF-8 is checked whole).
// At most one colon, neither first nor last.
func scanName(b []byte) int {
	if len(b) == 0 || !nameStart(b[0]) {
		return 0
	}
	colon := -1
	i := 1
	for ; i < len(b) && nameChar(b[i]); i++ {
		if b[i] == ':' {
			if colon >= 0 {
				return 0
			}
			colon = i
		}
	}
	if colon == i-1 {
		return 0
	}
	return i
}

func nameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func nameChar(c byte) bool {
	return nameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':'
}

// checkText validates character data or an attribute value: entity
// references, control characters and "]]>".
func checkText(b []byte) error {
	if err := checkChars(b); err != nil {
		return err
	}
	for k := bytes.IndexByte(b, '&'); k >= 0; {
		n := refLen(b[k:])
		if n == 0 {
			return &contentError{"bad entity reference"}
		}
		next := bytes.IndexByte(b[k+n:], '&')
		if next < 0 {
			break
		}
		k += n + next
	}
	if bytes.Contains(b, []byte("]]>")) {
		return &contentError{"']]>' in text"}
	}
	return nil
}

func checkChars(b []byte) error {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return &contentError{"control character"}
		}
	}
	return nil
}

// refLen returns the length of the reference at b[0]=='&', or 0 if invalid.
func refLen(b []byte) int {
	end := bytes.IndexByte(b, ';')
	if end < 2 || end > 12 {
		return 0
	}
	ref := b[1:end]
	switch string(ref) {
	case "amp", "lt", "gt", "quot", "apos":
		return end + 1
	}
	if ref[0] != '#' {
		return 0
	}
	v, ok := charRef(ref[1:])
	if !ok || !xmltext.ValidChar(v) {
		return 0
	}
	return end + 1
}

func charRef(d []byte) (rune, bool) {
	base := rune(10)
	if len(d) > 0 && d[0] == 'x' {
		base, d = 16, d[1:]
	}
	if len(d) == 0 {
		return 0, false
	}
	var v rune
	for _, c := range d {
		var x rune
		switch {
		case c >= '0' && c <= '9':
			x = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			x = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			x = rune(c-'A') + 10
		default:
			return 0, false
		}
		v = v*base + x
		if v > utf8.MaxRune {
			return 0, false
		}
	}
	return v, true
}

func allSpace(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func trimRightSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// Unescape resolves the five predefined entities and character references
// of text already checked by Parse.
func Unescape(b []byte) string {
	if bytes.IndexByte(b, '&') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '&' {
			out = append(out, b[i])
			i++
			continue
		}
		n := refLen(b[i:])
		if n == 0 {
			out = append(out, b[i])
			i++
			continue
		}
		ref := b[i+1 : i+n-1]
		switch string(ref) {
		case "amp":
			out = append(out, '&')
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "quot":
			out = append(out, '"')
		case "apos":
			out = append(out, '\'')
		default:
			r, _ := charRef(ref[1:])
			out = utf8.AppendRune(out, r)
		}
		i += n
	}
	return string(out)
}

// AppendEscaped appends s escaped for text or a double-quoted attribute
// value (see xmltext.AppendEscaped: the one escaping path).
func AppendEscaped(dst []byte, s string) []byte { return xmltext.AppendEscaped(dst, s) }

// nameOK checks the non-ASCII characters of a name scanned by scanName
// against XML 1.0's name classes, as expat and encoding/xml apply them
// (Appendix B). Names are almost always ASCII: that path costs nothing.
func nameOK(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return true
	}
	if !utf8.Valid(b) {
		return false
	}
	d := xml.NewDecoder(bytes.NewReader(append(append([]byte("<"), b...), "/>"...)))
	_, err := d.RawToken()
	return err == nil
}

// WithTo returns a stanza (as relayed, from a full JID) addressed to 'to':
// its own 'to' attribute, if any, is replaced. The start tag is found by
// the parser, not by searching for '>': attribute values a client wrote may
// hold one. A stanza that does not parse is returned as it is.
func WithTo(p []byte, to string) []byte {
	var ps Parser
	ps.DefaultNS = []byte("jabber:client")
	var e Element
	if ps.Parse(p, &e) != nil {
		return p
	}
	b := make([]byte, 0, len(p)+len(to)+8)
	b = append(append(b, '<'), e.Name...)
	for _, a := range e.Attrs {
		if string(a.Name) != "to" {
			b = append(b, p[a.Start:a.End]...)
		}
	}
	b = append(b, ` to="`...)
	b = xmltext.AppendEscaped(b, to)
	b = append(b, '"')
	return append(b, p[e.TagEnd:]...)
}
